package har

import (
	"bytes"
	"encoding/json"
	"time"
)

// Version is the HAR format version this package writes.
const Version = "1.2"

// File is a whole HAR document: the one object at its root.
type File struct {
	Log Log `json:"log"`
}

// Log is the root of a HAR document's data: the "log" object.
//
// Entries is written as [] when nil, since HAR requires the array.
type Log struct {
	Version string   `json:"version"`
	Creator Creator  `json:"creator"`
	Browser *Creator `json:"browser,omitempty"`
	Pages   []Page   `json:"pages,omitempty"`
	Entries []Entry  `json:"entries"`
	Comment string   `json:"comment,omitempty"`
}

// Creator names the application that wrote a HAR file (the "creator"
// object), or the browser it came from (the "browser" object, same shape).
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Comment string `json:"comment,omitempty"`
}

// Page is a page a browser loaded. bodytap never writes pages; the type is
// here so that HAR files from browsers read without loss.
type Page struct {
	StartedDateTime time.Time   `json:"startedDateTime"`
	ID              string      `json:"id"`
	Title           string      `json:"title"`
	PageTimings     PageTimings `json:"pageTimings"`
	Comment         string      `json:"comment,omitempty"`
}

// PageTimings are a page's load timings in milliseconds; -1 means not
// available, and zero is left out.
type PageTimings struct {
	OnContentLoad float64 `json:"onContentLoad,omitempty"`
	OnLoad        float64 `json:"onLoad,omitempty"`
	Comment       string  `json:"comment,omitempty"`
}

// Entry is one request and its response.
//
// The fields whose JSON names start with "_" are bodytap's additions for
// what HAR 1.2 cannot say; the format allows such custom fields and other
// tools ignore them. See the package documentation.
type Entry struct {
	Pageref         string    `json:"pageref,omitempty"`
	StartedDateTime time.Time `json:"startedDateTime"`
	// Time is the total time in milliseconds: the sum of the Timings that
	// are not -1.
	Time            float64  `json:"time"`
	Request         Request  `json:"request"`
	Response        Response `json:"response"`
	Cache           Cache    `json:"cache"`
	Timings         Timings  `json:"timings"`
	ServerIPAddress string   `json:"serverIPAddress,omitempty"`
	Connection      string   `json:"connection,omitempty"`
	Comment         string   `json:"comment,omitempty"`

	// ID is the exchange's [bodytap.ID] in its text form.
	ID string `json:"_id,omitempty"`
	// Route is the route pattern that matched the request.
	Route string `json:"_route,omitempty"`
	// Error is the text of the exchange's error, if it had one.
	Error string `json:"_error,omitempty"`
	// Hijacked reports that the handler took over the connection.
	Hijacked bool `json:"_hijacked,omitempty"`
	// Detected names the value detectors that found a secret in the
	// exchange and had it replaced ([bodytap.Detector.Names]).
	Detected []string `json:"_detected,omitempty"`
}

// Request is an entry's request.
//
// Cookies, Headers and QueryString are written as [] when nil, since HAR
// requires the arrays.
type Request struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []Cookie    `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	QueryString []NameValue `json:"queryString"`
	PostData    *PostData   `json:"postData,omitempty"`
	// HeadersSize is the size of the request head in bytes; -1 if not
	// known, which it never is to bodytap.
	HeadersSize int64 `json:"headersSize"`
	// BodySize is the size of the request body in bytes; -1 if not known.
	// bodytap writes the bytes the handler read.
	BodySize int64  `json:"bodySize"`
	Comment  string `json:"comment,omitempty"`

	// RemoteAddr is the client's network address as the server saw it.
	RemoteAddr string `json:"_remoteAddr,omitempty"`
	// Host is the request's Host when it differs from the URL's host.
	Host string `json:"_host,omitempty"`
	// ContentLength is the body length the client declared (-1 unknown),
	// present only when the Content-Length header and BodySize do not
	// tell it: see the package documentation.
	ContentLength *int64 `json:"_contentLength,omitempty"`
	// Incomplete reports that the handler did not read the whole body, so
	// BodySize and PostData cover only what it read.
	Incomplete bool `json:"_incomplete,omitempty"`
}

// Response is an entry's response.
//
// Cookies and Headers are written as [] when nil, since HAR requires the
// arrays.
type Response struct {
	Status      int         `json:"status"`
	StatusText  string      `json:"statusText"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []Cookie    `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	Content     Content     `json:"content"`
	RedirectURL string      `json:"redirectURL"`
	// HeadersSize is the size of the response head in bytes; -1 if not
	// known, which it never is to bodytap.
	HeadersSize int64 `json:"headersSize"`
	// BodySize is the size of the body as sent, before any
	// Content-Encoding is undone; -1 if not known.
	BodySize int64  `json:"bodySize"`
	Comment  string `json:"comment,omitempty"`

	// Trailers are the HTTP trailers sent after the body.
	Trailers []NameValue `json:"_trailers,omitempty"`
	// Informational lists the 1xx responses (such as 103 Early Hints)
	// sent before this one, in order.
	Informational []Informational `json:"_informational,omitempty"`
	// Incomplete reports that the body was not sent whole: the handler
	// panicked or a write to the client failed.
	Incomplete bool `json:"_incomplete,omitempty"`
	// Chunks tells when a streamed body went out
	// ([bodytap.Response.Chunks]), in order.
	Chunks []Chunk `json:"_chunks,omitempty"`
	// ChunksOmitted counts the flushes past the ones Chunks holds
	// ([bodytap.Response.ChunksOmitted]).
	ChunksOmitted int `json:"_chunksOmitted,omitempty"`
}

// Chunk is a point where part of a streamed response body was flushed to
// the client (Response.Chunks, a bodytap addition).
type Chunk struct {
	// Offset is how many bytes of the body, as sent, had gone out.
	Offset int64 `json:"offset"`
	// Time is when, in milliseconds since the entry started.
	Time float64 `json:"time"`
}

// Informational is a 1xx response sent before the final one
// (Response.Informational, a bodytap addition).
type Informational struct {
	Status  int         `json:"status"`
	Headers []NameValue `json:"headers"`
}

// NameValue is a header, trailer or query string parameter.
type NameValue struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Comment string `json:"comment,omitempty"`
}

// Cookie is a cookie sent in a Cookie request header or set by a
// Set-Cookie response header. Expires is in RFC 3339 form.
type Cookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Expires  string `json:"expires,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// PostData is a request body.
//
// HAR 1.2 has no way to mark a binary request body. bodytap writes such a
// body in Text as base64 and sets Encoding ("_encoding") to "base64", as
// the HAR 1.3 draft and other tools do.
type PostData struct {
	MimeType string  `json:"mimeType"`
	Params   []Param `json:"params,omitempty"`
	Text     string  `json:"text,omitempty"`
	Comment  string  `json:"comment,omitempty"`

	// Encoding is "base64" when Text holds the body in base64, else "".
	Encoding string `json:"_encoding,omitempty"`

	BodyInfo
}

// Param is a posted parameter (of a form body).
type Param struct {
	Name        string `json:"name"`
	Value       string `json:"value,omitempty"`
	FileName    string `json:"fileName,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Comment     string `json:"comment,omitempty"`
}

// Content is a response body.
type Content struct {
	// Size is the length of the body in bytes once its Content-Encoding is
	// undone, when that is known; see the package documentation.
	Size int64 `json:"size"`
	// Compression is the number of bytes the Content-Encoding saved:
	// Size minus Response.BodySize. Zero when not known.
	Compression int64  `json:"compression,omitempty"`
	MimeType    string `json:"mimeType"`
	Text        string `json:"text,omitempty"`
	// Encoding is "base64" when Text holds the body in base64, else "".
	Encoding string `json:"encoding,omitempty"`
	Comment  string `json:"comment,omitempty"`

	// Raw is the captured copy of the body byte for byte, as sent unless
	// Decoded says otherwise, present when Text differs from it (the
	// Content-Encoding was undone, or the text was converted or cut to
	// valid UTF-8). It is written in base64.
	Raw []byte `json:"_raw,omitempty"`
	// ContentEncoding, when set, says that Text still carries this
	// Content-Encoding because it was not undone.
	ContentEncoding string `json:"_contentEncoding,omitempty"`

	BodyInfo
}

// BodyInfo is what bodytap knows of a captured body beyond its bytes
// (the fields of [bodytap.Body] that HAR has no place for), in PostData
// and Content.
type BodyInfo struct {
	// Truncated reports that the body was bigger than the capture cap:
	// the text holds only its first part.
	Truncated bool `json:"_truncated,omitempty"`
	// Decoded names the content codings that the Tap undid in its copy
	// before recording it (to redact it): the text is decoded, and the
	// bytes as sent were not kept.
	Decoded string `json:"_decoded,omitempty"`
	// Redacted reports that values in the body were replaced by
	// redaction.
	Redacted bool `json:"_redacted,omitempty"`
	// Withheld reports that the Tap dropped its copy of the body because
	// it could not make it safe to keep; Error says why.
	Withheld bool `json:"_withheld,omitempty"`
	// Error says what went wrong preparing the copy, if anything.
	Error string `json:"_error,omitempty"`
}

// Cache is an entry's cache information. bodytap writes it empty, as {}.
type Cache struct {
	BeforeRequest *CacheEntry `json:"beforeRequest,omitempty"`
	AfterRequest  *CacheEntry `json:"afterRequest,omitempty"`
	Comment       string      `json:"comment,omitempty"`
}

// CacheEntry is the state of a cache entry before or after a request.
type CacheEntry struct {
	Expires    string `json:"expires,omitempty"`
	LastAccess string `json:"lastAccess"`
	ETag       string `json:"eTag"`
	HitCount   int    `json:"hitCount"`
	Comment    string `json:"comment,omitempty"`
}

// Timings are the phases of an entry in milliseconds. Send, Wait and
// Receive are always written; the others are left out when zero, and -1
// means the phase does not apply.
type Timings struct {
	Blocked float64 `json:"blocked,omitempty"`
	DNS     float64 `json:"dns,omitempty"`
	Connect float64 `json:"connect,omitempty"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl,omitempty"`
	Comment string  `json:"comment,omitempty"`
}

// MarshalJSON writes l with Entries as [] when it is nil.
func (l Log) MarshalJSON() ([]byte, error) {
	type log Log // without the method
	v := log(l)
	if v.Entries == nil {
		v.Entries = []Entry{}
	}
	return marshal(v)
}

// MarshalJSON writes r with Cookies, Headers and QueryString as [] when
// they are nil.
func (r Request) MarshalJSON() ([]byte, error) {
	type request Request
	v := request(r)
	if v.Cookies == nil {
		v.Cookies = []Cookie{}
	}
	if v.Headers == nil {
		v.Headers = []NameValue{}
	}
	if v.QueryString == nil {
		v.QueryString = []NameValue{}
	}
	return marshal(v)
}

// MarshalJSON writes r with Cookies and Headers as [] when they are nil.
func (r Response) MarshalJSON() ([]byte, error) {
	type response Response
	v := response(r)
	if v.Cookies == nil {
		v.Cookies = []Cookie{}
	}
	if v.Headers == nil {
		v.Headers = []NameValue{}
	}
	return marshal(v)
}

// MarshalJSON writes i with Headers as [] when it is nil.
func (i Informational) MarshalJSON() ([]byte, error) {
	type informational Informational
	v := informational(i)
	if v.Headers == nil {
		v.Headers = []NameValue{}
	}
	return marshal(v)
}

// marshal is json.Marshal without escaping <, > and &: a MarshalJSON
// method leaves that to its caller's encoder, which escapes them or not
// as it was told.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
