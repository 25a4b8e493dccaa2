package bodytap

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// exchangeJSON is the fixed JSON schema of an Exchange, documented at
// Exchange.MarshalJSON. decodeJSON reads it with encoding/json;
// appendJSONExchange (jsonl_encode.go) writes it by hand, byte for byte
// as encoding/json would.
type exchangeJSON struct {
	ID              ID           `json:"id"`
	Start           time.Time    `json:"start"`
	DurationNS      int64        `json:"duration_ns"`
	TimeToHeadersNS int64        `json:"time_to_headers_ns"`
	Route           string       `json:"route,omitempty"`
	Request         requestJSON  `json:"request"`
	Response        responseJSON `json:"response"`
	Hijacked        bool         `json:"hijacked,omitempty"`
	Error           string       `json:"error,omitempty"`
}

type requestJSON struct {
	Method        string      `json:"method"`
	URL           string      `json:"url"`
	Proto         string      `json:"proto,omitempty"`
	Host          string      `json:"host,omitempty"`
	RemoteAddr    string      `json:"remote_addr,omitempty"`
	Header        http.Header `json:"header,omitempty"`
	ContentLength int64       `json:"content_length"`
	Body          bodyJSON    `json:"body"`
}

type responseJSON struct {
	Status        int                 `json:"status"`
	Header        http.Header         `json:"header,omitempty"`
	Trailer       http.Header         `json:"trailer,omitempty"`
	Informational []informationalJSON `json:"informational,omitempty"`
	Body          bodyJSON            `json:"body"`
}

type informationalJSON struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
}

type bodyJSON struct {
	Size      int64  `json:"size"`
	Text      string `json:"text,omitempty"`
	Base64    []byte `json:"base64,omitempty"` // encoding/json writes []byte in standard base64
	Encoding  string `json:"encoding,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	EOF       bool   `json:"eof"`
	Decoded   string `json:"decoded,omitempty"`
	Redacted  bool   `json:"redacted,omitempty"`
	Withheld  bool   `json:"withheld,omitempty"`
	Error     string `json:"error,omitempty"`
}

// MarshalJSON implements json.Marshaler. The JSON form of an Exchange is
// one object with a fixed schema, the format of every line a [JSONLines]
// sink writes and [Exchange.UnmarshalJSON] reads:
//
//	{
//	  "id": "01HQ3J5V2X0000000000000000",      ULID text of Exchange.ID
//	  "start": "2024-02-20T10:00:00.123456789Z", RFC 3339 with nanoseconds, UTC
//	  "duration_ns": 1500000,                   durations are integer nanoseconds
//	  "time_to_headers_ns": 900000,
//	  "route": "POST /items",                   omitted when empty
//	  "request": {
//	    "method": "POST",
//	    "url": "http://example.com/items?q=1",  "" when Request.URL is nil
//	    "proto": "HTTP/1.1",                    proto, host, remote_addr omitted when empty
//	    "host": "example.com",
//	    "remote_addr": "192.0.2.1:53412",
//	    "header": {"Content-Type": ["application/json"]},  omitted when empty
//	    "content_length": 11,                   -1 when unknown
//	    "body": BODY
//	  },
//	  "response": {
//	    "status": 201,
//	    "header": {...},                        header, trailer, informational omitted when empty
//	    "trailer": {...},
//	    "informational": [{"status": 103, "header": {...}}],
//	    "body": BODY
//	  },
//	  "hijacked": true,                         omitted when false
//	  "error": "bodytap: client went away"      Exchange.Err as text; omitted when nil
//	}
//
// and BODY is
//
//	{
//	  "size": 11,                               Body.Size: every byte that passed
//	  "text": "{\"id\": 7}",                    the kept copy, when it is UTF-8 text, or
//	  "base64": "AAEC", "encoding": "base64",   the kept copy in standard base64, otherwise
//	  "truncated": true,                        truncated, decoded, redacted, withheld
//	  "eof": true,                              and error are omitted when false or empty;
//	  "decoded": "gzip",                        eof is always present
//	  "redacted": true,
//	  "withheld": true,
//	  "error": "..."
//	}
//
// A body's copy goes as "text" when it is valid UTF-8 and reads as text:
// its Content-Type is textual (text/*, JSON, XML, JavaScript, form data,
// YAML, …) or, with no or a generic Content-Type, it holds no control
// bytes, and it is not still compressed (a Content-Encoding that
// Body.Decoded does not undo). Any other copy, including a textual one
// that is not valid UTF-8 (a Latin-1 body, or one cut off inside a
// character by the capture cap), goes as "base64" with "encoding":
// "base64", so that the bytes read back are exactly the bytes captured.
// Neither field is present for an empty copy.
//
// Header, URL and error strings that are not valid UTF-8 are written with
// U+FFFD in place of the bad bytes, so the output is always valid JSON.
// Readers should ignore fields they do not know: fields may be added, but
// none will be renamed or change meaning.
//
// MarshalJSON fails only for a Start outside the years 0 to 9999. It does
// not escape HTML characters.
func (x Exchange) MarshalJSON() ([]byte, error) {
	b, err := appendJSONExchange(make([]byte, 0, jsonSizeHint(&x)), &x)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// errText returns the text of err, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// UnmarshalJSON implements json.Unmarshaler: it reads the form
// [Exchange.MarshalJSON] writes, so that JSON Lines files can be read back.
// Bodies come back byte for byte. Err and Body.Err come back as errors
// with the same text; those made from bodytap's sentinel errors
// ([ErrClientGone], [ErrHandlerPanic], [ErrAborted], [ErrHijacked]) wrap
// the sentinel again, so errors.Is still finds it. Start is in UTC, and a
// header that was empty comes back nil.
func (x *Exchange) UnmarshalJSON(data []byte) error {
	if err := x.decodeJSON(data); err != nil {
		return fmt.Errorf("bodytap: decode exchange: %w", err)
	}
	return nil
}

func (x *Exchange) decodeJSON(data []byte) error {
	var j exchangeJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	y := Exchange{
		ID:            j.ID,
		Start:         j.Start,
		Duration:      time.Duration(j.DurationNS),
		TimeToHeaders: time.Duration(j.TimeToHeadersNS),
		Route:         j.Route,
		Hijacked:      j.Hijacked,
		Err:           ErrorFromText(j.Error),
		Request: Request{
			Method:        j.Request.Method,
			Proto:         j.Request.Proto,
			Host:          j.Request.Host,
			RemoteAddr:    j.Request.RemoteAddr,
			Header:        j.Request.Header,
			ContentLength: j.Request.ContentLength,
		},
		Response: Response{
			Status:  j.Response.Status,
			Header:  j.Response.Header,
			Trailer: j.Response.Trailer,
		},
	}
	if j.Request.URL != "" {
		u, err := url.Parse(j.Request.URL)
		if err != nil {
			return fmt.Errorf("request.url: %w", err)
		}
		y.url = *u
	}
	for _, i := range j.Response.Informational {
		y.Response.Informational = append(y.Response.Informational, Informational(i))
	}
	var err error
	if y.Request.Body, err = bodyFromJSON(&j.Request.Body); err != nil {
		return fmt.Errorf("request.body: %w", err)
	}
	if y.Response.Body, err = bodyFromJSON(&j.Response.Body); err != nil {
		return fmt.Errorf("response.body: %w", err)
	}
	*x = y
	if j.Request.URL != "" {
		x.Request.URL = &x.url
	}
	return nil
}

func bodyFromJSON(j *bodyJSON) (Body, error) {
	b := Body{
		Size:      j.Size,
		Truncated: j.Truncated,
		EOF:       j.EOF,
		Decoded:   j.Decoded,
		Redacted:  j.Redacted,
		Withheld:  j.Withheld,
		Err:       ErrorFromText(j.Error),
	}
	switch {
	case j.Encoding != "" && j.Encoding != "base64":
		return b, fmt.Errorf("unknown encoding %q", j.Encoding)
	case j.Text != "" && j.Base64 != nil:
		return b, errors.New(`both "text" and "base64"`)
	case j.Encoding == "base64" && j.Text != "":
		return b, errors.New(`"text" with "encoding": "base64"`)
	case len(j.Base64) > 0:
		b.Bytes = j.Base64
	case j.Text != "":
		b.Bytes = []byte(j.Text)
	}
	return b, nil
}

// ErrorFromText rebuilds an [Exchange.Err] from its text, as JSON Lines,
// HAR files and the store keep it: text made by wrapping one of the Tap's
// sentinel errors ([ErrClientGone], [ErrHandlerPanic], [ErrAborted],
// [ErrHijacked]) wraps it again, so that errors.Is finds it. Empty text
// gives nil.
func ErrorFromText(s string) error {
	if s == "" {
		return nil
	}
	for _, sentinel := range []error{ErrClientGone, ErrHandlerPanic, ErrAborted, ErrHijacked} {
		m := sentinel.Error()
		if s == m {
			return sentinel
		}
		if rest, ok := strings.CutPrefix(s, m+": "); ok {
			return fmt.Errorf("%w: %s", sentinel, rest)
		}
	}
	return errors.New(s)
}

// isTextBody reports whether b, a body sent with header h, reads as text
// rather than binary; p is the part of its copy to judge (all of it, or
// the part a log shows). A textual Content-Type decides yes; a body still
// in a content coding, or with a specific non-text type, is binary; a body
// with no or a generic type is text when p is UTF-8 (a character cut off
// at its end aside) that http.DetectContentType takes for text and that
// has no control bytes that only binary data holds. The caller checks
// UTF-8 validity where it needs all of p to be valid.
func isTextBody(h http.Header, b *Body, p []byte) bool {
	if b.Decoded == "" {
		for _, ce := range h.Values("Content-Encoding") {
			for c := range strings.SplitSeq(ce, ",") {
				if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
					return false
				}
			}
		}
	}
	mt, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case strings.HasPrefix(mt, "text/"), textTypes[mt],
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"), strings.HasSuffix(mt, "+yaml"):
		return true
	case !genericTypes[mt] && !strings.HasPrefix(mt, "multipart/"):
		return false
	}
	if len(p) == 0 {
		return true
	}
	if !strings.HasPrefix(http.DetectContentType(p), "text/") {
		return false
	}
	for _, c := range p {
		if c <= 0x08 || c == 0x0B || (0x0E <= c && c <= 0x1A) || (0x1C <= c && c <= 0x1F) {
			return false
		}
	}
	return utf8.Valid(trimCutRune(p))
}

// trimCutRune returns p without the first bytes of a multi-byte character
// that p ends in the middle of, as a capture cut at its cap may.
func trimCutRune(p []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(p); i++ {
		c := p[len(p)-i]
		if c < utf8.RuneSelf {
			return p
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(p[len(p)-i:]) {
				return p[:len(p)-i]
			}
			return p
		}
	}
	return p
}

// textTypes are the media types, outside text/* and the +json, +xml and
// +yaml suffixes, whose bodies are text.
var textTypes = map[string]bool{
	"application/json":                  true,
	"application/x-ndjson":              true,
	"application/ndjson":                true,
	"application/jsonl":                 true,
	"application/xml":                   true,
	"application/javascript":            true,
	"application/x-javascript":          true,
	"application/ecmascript":            true,
	"application/x-www-form-urlencoded": true,
	"application/graphql":               true,
	"application/yaml":                  true,
	"application/x-yaml":                true,
	"application/toml":                  true,
	"application/sql":                   true,
	"application/csv":                   true,
}

// genericTypes say nothing about the body, so the body itself is judged.
var genericTypes = map[string]bool{
	"":                         true,
	"*/*":                      true,
	"application/octet-stream": true,
	"binary/octet-stream":      true,
	"application/unknown":      true,
	"application/x-unknown":    true,
	"unknown/unknown":          true,
}

// ErrSinkClosed is what a [JSONLines] sink reports for records it is given
// after Close, and what a second Close returns.
var ErrSinkClosed = errors.New("bodytap: sink closed")

// JSONLines is a [Sink] that writes each exchange as one line of JSON, in
// the form of [Exchange.MarshalJSON], to an io.Writer ([NewJSONLines]) or
// to a file that it rotates by size ([OpenJSONLinesFile]).
//
// A line is one object per exchange, its schema fixed and documented at
// [Exchange.MarshalJSON]: IDs as ULID text, times in RFC 3339 with
// nanoseconds, durations in integer nanoseconds (fields ending in "_ns"),
// bodies as "text" or "base64". Every line is valid JSON whatever the
// bytes captured. [ReadJSONLines] reads the lines back.
//
// Each line goes to the writer in a single Write call. A write that fails
// loses that record, never the process: Record does not panic on errors,
// it counts them in [JSONLines.Stats] and keeps the last one for
// [JSONLines.Err], and tries again with the next record (a full disk
// that frees up again resumes writing). When a write fails partway
// through a line, the next line starts with a newline, so that only the
// broken line is unreadable.
//
// A JSONLines is safe for concurrent use, so that several Taps may share
// one.
type JSONLines struct {
	mu      sync.Mutex // guards all but the counters and err
	w       io.Writer
	file    *rotatingFile // nil unless opened with OpenJSONLinesFile
	buf     []byte        // the line being written, kept for its capacity
	partial bool          // the last write stopped inside a line
	closed  bool

	errMu sync.Mutex
	err   error

	written, failed, bytes, rotations atomic.Int64
}

var _ Sink = (*JSONLines)(nil)

// JSONLinesStats counts what a [JSONLines] sink has done.
type JSONLinesStats struct {
	Written   int64 // records written whole
	Failed    int64 // records lost, or written only in part: write, open or encode failed, or the sink was closed
	Bytes     int64 // bytes written, newlines included
	Rotations int64 // times the file was rotated
}

// NewJSONLines returns a sink that writes one line of JSON per exchange to
// w. Close does not close w; it calls w's Flush method if it has one
// (as a *bufio.Writer does).
func NewJSONLines(w io.Writer) *JSONLines {
	return &JSONLines{w: w}
}

// OpenJSONLinesFile opens (or creates, with permission 0600: captures may
// hold personal data) the file at path for appending, and returns a sink
// that writes one line of JSON per exchange to it.
//
// When writing a line would take the file past maxBytes, the sink first
// rotates it: path.1 is renamed to path.2 and so on, path.keep is removed,
// path becomes path.1, and a new file is started at path. A line longer
// than maxBytes on its own still goes whole into a new file. keep is how
// many old files are kept; zero or less keeps none (the file starts afresh
// on rotation). A maxBytes of zero or less never rotates. An existing file
// counts toward maxBytes from its current size.
//
// If a rotation fails, the sink goes on writing to the file it has and
// tries again on the next line. If the file cannot be (re)opened, records
// are lost and counted until it can. One process only must write to path.
// Close syncs and closes the file.
func OpenJSONLinesFile(path string, maxBytes int64, keep int) (*JSONLines, error) {
	rf := &rotatingFile{path: path, max: maxBytes, keep: keep}
	if err := rf.open(); err != nil {
		return nil, fmt.Errorf("bodytap: open JSON Lines file: %w", err)
	}
	return &JSONLines{w: rf, file: rf}, nil
}

// Record writes x as one line. Errors are counted and kept, not returned
// (see [JSONLines]). A nil x writes nothing.
func (s *JSONLines) Record(x *Exchange) {
	if x == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.fail(ErrSinkClosed)
		return
	}
	line, err := appendJSONExchange(s.buf[:0], x)
	if err != nil {
		s.fail(fmt.Errorf("bodytap: encode exchange %s: %w", x.ID, err))
		return
	}
	line = append(line, '\n')
	s.buf = line
	if s.file != nil {
		need := int64(len(line))
		if s.partial {
			need++
		}
		rotated, err := s.file.makeRoom(need)
		if rotated {
			s.rotations.Add(1)
			s.partial = false // the broken line ended with its file
		}
		if err != nil {
			s.setErr(fmt.Errorf("bodytap: JSON Lines file: %w", err))
			if s.file.f == nil {
				s.failed.Add(1)
				return
			}
		}
	}
	if s.partial {
		n, err := s.w.Write([]byte{'\n'})
		s.bytes.Add(int64(n))
		if err != nil || n != 1 {
			s.fail(writeErr(err))
			return
		}
		s.partial = false
	}
	n, err := s.w.Write(line)
	s.bytes.Add(int64(n))
	if err != nil || n != len(line) {
		s.partial = 0 < n && n < len(line)
		s.fail(writeErr(err))
		return
	}
	s.written.Add(1)
}

func writeErr(err error) error {
	if err == nil {
		err = io.ErrShortWrite
	}
	return fmt.Errorf("bodytap: write JSON line: %w", err)
}

// fail counts a lost record and keeps err.
func (s *JSONLines) fail(err error) {
	s.failed.Add(1)
	s.setErr(err)
}

func (s *JSONLines) setErr(err error) {
	s.errMu.Lock()
	s.err = err
	s.errMu.Unlock()
}

// Err returns the most recent error the sink met, nil if none. An error
// stays until another replaces it, even if writing has resumed since:
// compare [JSONLines.Stats] over time to see whether records are still
// being lost.
func (s *JSONLines) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Stats returns the sink's counters. It does not wait for a write in
// progress.
func (s *JSONLines) Stats() JSONLinesStats {
	return JSONLinesStats{
		Written:   s.written.Load(),
		Failed:    s.failed.Load(),
		Bytes:     s.bytes.Load(),
		Rotations: s.rotations.Load(),
	}
}

// Close flushes what the sink has written to its destination: it syncs and
// closes a file opened by [OpenJSONLinesFile], or calls Flush on a writer
// that has that method. Records given to the sink after Close are counted
// as failed. Close the Tap first, so that every queued exchange is written.
// A second Close returns [ErrSinkClosed].
func (s *JSONLines) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSinkClosed
	}
	s.closed = true
	var err error
	switch {
	case s.file != nil:
		err = s.file.close()
	default:
		if f, ok := s.w.(interface{ Flush() error }); ok {
			err = f.Flush()
		}
	}
	if err != nil {
		err = fmt.Errorf("bodytap: close JSON Lines sink: %w", err)
		s.setErr(err)
	}
	return err
}

// rotatingFile is the file behind OpenJSONLinesFile. Its owner serializes
// calls.
type rotatingFile struct {
	path string
	max  int64
	keep int
	f    *os.File // nil after a failure closed it
	size int64
}

func (rf *rotatingFile) open() error {
	f, err := os.OpenFile(rf.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	rf.f, rf.size = f, fi.Size()
	return nil
}

// Write writes p to the file, which makeRoom has readied.
func (rf *rotatingFile) Write(p []byte) (int, error) {
	if rf.f == nil {
		return 0, fs.ErrClosed
	}
	n, err := rf.f.Write(p)
	rf.size += int64(n)
	return n, err
}

// makeRoom readies the file for a write of n bytes: it reopens the file if
// a failure closed it, and rotates it first if n more bytes would take it
// past max. rotated reports a rotation done; on error, rf.f is still
// usable if it is not nil.
func (rf *rotatingFile) makeRoom(n int64) (rotated bool, err error) {
	if rf.f == nil {
		if err := rf.open(); err != nil {
			return false, err
		}
	}
	if rf.max <= 0 || rf.size == 0 || rf.size+n <= rf.max {
		return false, nil
	}
	if err := rf.rotate(); err != nil {
		return false, fmt.Errorf("rotate %s: %w", rf.path, err)
	}
	return true, nil
}

// rotate closes the file, shifts the old files up by one and starts a new
// file. If the shift fails, it reopens the file it had, to go on appending.
func (rf *rotatingFile) rotate() error {
	cerr := rf.f.Close()
	rf.f = nil
	if err := rf.shift(); err != nil {
		if oerr := rf.open(); oerr != nil {
			return errors.Join(err, oerr)
		}
		return err
	}
	if err := rf.open(); err != nil {
		return err
	}
	return cerr
}

func (rf *rotatingFile) shift() error {
	if rf.keep <= 0 {
		return os.Remove(rf.path)
	}
	if err := os.Remove(rf.name(rf.keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for i := rf.keep - 1; i >= 1; i-- {
		if err := os.Rename(rf.name(i), rf.name(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Rename(rf.path, rf.name(1))
}

func (rf *rotatingFile) name(i int) string { return rf.path + "." + strconv.Itoa(i) }

func (rf *rotatingFile) close() error {
	if rf.f == nil {
		return nil
	}
	err := rf.f.Sync()
	if cerr := rf.f.Close(); err == nil {
		err = cerr
	}
	rf.f = nil
	return err
}

// ReadJSONLines reads exchanges written by a [JSONLines] sink from r, one
// per line, in order. Blank lines are skipped. A line that does not decode
// (a line a failed write left broken, say) yields an error naming its
// line number and reading goes on with the next line; an error reading r
// is yielded last. Lines may be of any length.
func ReadJSONLines(r io.Reader) iter.Seq2[*Exchange, error] {
	return func(yield func(*Exchange, error) bool) {
		br := bufio.NewReader(r)
		for n := 1; ; n++ {
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				x := new(Exchange)
				if derr := x.decodeJSON(line); derr != nil {
					if !yield(nil, fmt.Errorf("bodytap: read JSON lines: line %d: %w", n, derr)) {
						return
					}
				} else if !yield(x, nil) {
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					yield(nil, fmt.Errorf("bodytap: read JSON lines: %w", err))
				}
				return
			}
		}
	}
}
