package har

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/decode"
)

// FromExchange returns the HAR entry for x. The entry's Content.Raw
// shares memory with x's response Body.Bytes; nothing else of x is kept.
//
// Response content is written decoded where that can be done, with the
// bytes as sent kept in Content.Raw; see the package documentation for how
// each part of the Exchange maps to HAR.
func FromExchange(x *bodytap.Exchange) Entry {
	e := Entry{
		StartedDateTime: x.Start,
		Time:            ms(x.Duration),
		Request:         fromRequest(&x.Request),
		Response:        fromResponse(&x.Response, x.Request.Proto),
		Route:           x.Route,
		Hijacked:        x.Hijacked,
		Detected:        x.Detected.Names(),
	}
	if !x.ID.IsZero() {
		e.ID = x.ID.String()
	}
	if x.Err != nil {
		e.Error = x.Err.Error()
	}
	wait := min(max(x.TimeToHeaders, 0), max(x.Duration, 0))
	e.Timings = Timings{
		Send:    0, // the request was read as the handler went: no phase of its own
		Wait:    ms(wait),
		Receive: ms(max(x.Duration-wait, 0)),
	}
	return e
}

func fromRequest(r *bodytap.Request) Request {
	hr := Request{
		Method:      r.Method,
		HTTPVersion: r.Proto,
		Headers:     nameValues(r.Header),
		Cookies:     requestCookies(r.Header),
		HeadersSize: -1,
		BodySize:    r.Body.Size,
		RemoteAddr:  r.RemoteAddr,
		Incomplete:  !r.Body.EOF,
	}
	if u := r.URL; u != nil {
		hr.URL = u.String()
		hr.QueryString = query(u.RawQuery)
		if r.Host != u.Host {
			hr.Host = r.Host
		}
	} else {
		hr.QueryString = []NameValue{}
		hr.Host = r.Host
	}
	b := &r.Body
	if len(b.Bytes) > 0 || b.Size > 0 || b.Withheld || b.Err != nil {
		ct, _ := headerValue(hr.Headers, "Content-Type")
		text, enc := exactText(b.Bytes)
		hr.PostData = &PostData{MimeType: ct, Text: text, Encoding: enc, BodyInfo: bodyInfo(b)}
	}
	if cl := r.ContentLength; cl != inferContentLength(hr.Headers, hr.BodySize, hr.PostData != nil) {
		hr.ContentLength = &cl
	}
	return hr
}

// inferContentLength is the request's declared length as HAR tells it
// without bodytap's "_contentLength": the Content-Length header if there is
// one, else -1 (unknown) if there was a body, else 0.
func inferContentLength(h []NameValue, bodySize int64, hasBody bool) int64 {
	if v, ok := headerValue(h, "Content-Length"); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	if bodySize > 0 || hasBody {
		return -1
	}
	return 0
}

func fromResponse(r *bodytap.Response, proto string) Response {
	hr := Response{
		Status:      r.Status,
		StatusText:  http.StatusText(r.Status),
		HTTPVersion: proto,
		Headers:     nameValues(r.Header),
		Cookies:     responseCookies(r.Header),
		HeadersSize: -1,
		BodySize:    r.Body.Size,
		Incomplete:  !r.Body.EOF,
	}
	if len(r.Trailer) > 0 {
		hr.Trailers = nameValues(r.Trailer)
	}
	for _, i := range r.Informational {
		hr.Informational = append(hr.Informational, Informational{Status: i.Status, Headers: nameValues(i.Header)})
	}
	for _, c := range r.Chunks {
		hr.Chunks = append(hr.Chunks, Chunk{Offset: c.Offset, Time: ms(c.At)})
	}
	hr.ChunksOmitted = r.ChunksOmitted
	if loc, ok := headerValue(hr.Headers, "Location"); ok {
		hr.RedirectURL = loc
	}
	hr.Content = content(&r.Body, hr.Headers)
	return hr
}

// content returns the HAR content of a response body: decoded if it can
// be, with the bytes as sent in Raw whenever Text is not them.
func content(b *bodytap.Body, h []NameValue) Content {
	wire := b.Bytes
	ce := contentEncoding(h)
	ct, ok := headerValue(h, "Content-Type")
	if !ok && ce == "" {
		// What net/http sent: it sniffs only bodies it can read.
		ct = sniff(wire)
	}
	c := Content{MimeType: ct, Size: b.Size, BodyInfo: bodyInfo(b)}
	cut := truncated(b)
	body, prefix, decoded := wire, cut, false
	switch {
	case b.Withheld:
		// Nothing was kept to decode.
	case b.Decoded != "":
		// The Tap decoded its copy already, and kept only that.
		if !cut {
			c.Size = int64(len(wire))
			c.Compression = c.Size - b.Size
		}
	case ce != "":
		r, err := decode.Decode(ce, wire, maxDecoded, cut)
		if err != nil {
			// Unknown coding or corrupt stream: keep the bytes as sent.
			c.ContentEncoding = ce
		} else {
			body, prefix, decoded = r.Bytes, r.Partial || r.Cut, true
			if !prefix {
				c.Size = int64(len(body))
				c.Compression = c.Size - b.Size
			}
			if r.Cut {
				c.Comment = fmt.Sprintf("text cut at %d bytes once decoded", len(body))
			}
		}
	}
	text, enc, exact := contentText(body, ct, prefix)
	c.Text, c.Encoding = text, enc
	if (decoded || !exact) && len(wire) > 0 {
		c.Raw = wire
	}
	return c
}

// truncated reports whether b.Bytes is only the first part of the body: it
// was cut at the cap, or the rest went to a spill file. A HAR entry holds
// only Bytes: spill files can be as big as a gigabyte, and redaction
// covers Bytes.
func truncated(b *bodytap.Body) bool {
	return b.Truncated || b.Spilled() > 0
}

func bodyInfo(b *bodytap.Body) BodyInfo {
	i := BodyInfo{Truncated: truncated(b), Decoded: b.Decoded, Redacted: b.Redacted, Withheld: b.Withheld}
	if b.Err != nil {
		i.Error = b.Err.Error()
	}
	return i
}

// ToExchange returns the Exchange that e describes: the inverse of
// [FromExchange], and the way to import HAR files from other tools.
//
// For an entry FromExchange wrote, the body copies come back byte for byte
// (from "_raw" when present, else from the text), as do the headers,
// trailers, status, timings, ID, error and the other fields HAR or
// bodytap's additions carry; errors.Is still finds bodytap's sentinel
// errors. Header names are put in canonical form, and HTTP/2
// pseudo-headers (":path") are dropped, as net/http does.
//
// An entry without "_id" is taken as one from another tool. It gets a new
// ID that sorts by its startedDateTime; a body's Size comes from bodySize,
// or from the text when that is -1, and it is Truncated when the text is
// shorter. HAR response text is the decoded body, so when it comes with a
// Content-Encoding header, the Exchange gets the decoded bytes and that
// header is removed, keeping Body.Bytes and the headers in agreement.
// Cookies and the query string are always taken from the headers and the
// URL, not from their HAR arrays.
//
// The error names the field that is wrong.
func ToExchange(e Entry) (*bodytap.Exchange, error) {
	x, err := toExchange(&e)
	if err != nil {
		return nil, fmt.Errorf("har: %w", err)
	}
	return x, nil
}

func toExchange(e *Entry) (*bodytap.Exchange, error) {
	if e.StartedDateTime.IsZero() {
		return nil, errors.New("entry has no startedDateTime")
	}
	if e.Request.URL == "" {
		return nil, errors.New("entry has no request.url")
	}
	u, err := url.Parse(e.Request.URL)
	if err != nil {
		return nil, fmt.Errorf("request.url: %v", err)
	}
	x := &bodytap.Exchange{
		Start:    e.StartedDateTime,
		Duration: fromMS(e.Time),
		Route:    e.Route,
		Hijacked: e.Hijacked,
	}
	for _, n := range e.Detected {
		x.Detected |= bodytap.DetectorNamed(n) // a name this version does not know is dropped
	}
	if e.ID != "" {
		if x.ID, err = bodytap.ParseID(e.ID); err != nil {
			return nil, fmt.Errorf("_id %q: not a bodytap ID", e.ID)
		}
	} else {
		x.ID = bodytap.NewID(e.StartedDateTime)
	}
	t := &e.Timings
	for _, v := range []float64{t.Blocked, t.DNS, t.Connect, t.Send, t.Wait} {
		if v > 0 {
			x.TimeToHeaders += fromMS(v)
		}
	}
	if e.Error != "" {
		x.Err = bodytap.ErrorFromText(e.Error)
	}

	rq := &e.Request
	x.Request = bodytap.Request{
		Method:     rq.Method,
		URL:        u,
		Proto:      rq.HTTPVersion,
		Host:       u.Host,
		RemoteAddr: rq.RemoteAddr,
		Header:     header(rq.Headers),
	}
	if rq.Host != "" {
		x.Request.Host = rq.Host
	}
	ours := e.ID != ""
	if x.Request.Body, err = requestBody(rq, ours); err != nil {
		return nil, err
	}
	if rq.ContentLength != nil {
		x.Request.ContentLength = *rq.ContentLength
	} else {
		x.Request.ContentLength = inferContentLength(rq.Headers, rq.BodySize, rq.PostData != nil)
	}

	rs := &e.Response
	x.Response = bodytap.Response{
		Status:        rs.Status,
		Header:        header(rs.Headers),
		ChunksOmitted: rs.ChunksOmitted,
	}
	for _, c := range rs.Chunks {
		x.Response.Chunks = append(x.Response.Chunks, bodytap.Chunk{Offset: c.Offset, At: fromMS(c.Time)})
	}
	if len(rs.Trailers) > 0 {
		x.Response.Trailer = header(rs.Trailers)
	}
	for _, i := range rs.Informational {
		x.Response.Informational = append(x.Response.Informational,
			bodytap.Informational{Status: i.Status, Header: header(i.Headers)})
	}
	if x.Response.Body, err = responseBody(rs, x.Response.Header, ours); err != nil {
		return nil, err
	}
	return x, nil
}

// requestBody returns the body of r. ours says the entry is one that
// FromExchange wrote, whose fields say exactly what the body was.
func requestBody(r *Request, ours bool) (bodytap.Body, error) {
	b := bodytap.Body{Size: r.BodySize, EOF: !r.Incomplete}
	p := r.PostData
	if p == nil {
		return b, nil
	}
	raw, err := bytesOf(p.Text, p.Encoding, "request.postData.text")
	if err != nil {
		return b, err
	}
	if len(raw) == 0 && len(p.Params) > 0 && strings.HasPrefix(strings.ToLower(p.MimeType), "application/x-www-form-urlencoded") {
		raw = formBody(p.Params)
	}
	if len(raw) > 0 {
		b.Bytes = raw
	}
	setInfo(&b, &p.BodyInfo)
	if !ours {
		guessSize(&b, -1)
	}
	return b, nil
}

// responseBody returns the body of r. h is the Exchange's response header,
// from which the Content-Encoding of a decoded body from another tool is
// removed. ours says the entry is one that FromExchange wrote.
func responseBody(r *Response, h http.Header, ours bool) (bodytap.Body, error) {
	c := &r.Content
	b := bodytap.Body{Size: r.BodySize, EOF: !r.Incomplete}
	raw := c.Raw
	if raw == nil {
		var err error
		if raw, err = bytesOf(c.Text, c.Encoding, "response.content.text"); err != nil {
			return b, err
		}
	}
	if len(raw) > 0 {
		b.Bytes = raw
	}
	setInfo(&b, &c.BodyInfo)
	if ours {
		return b, nil
	}
	if c.Raw == nil && c.ContentEncoding == "" && c.Decoded == "" && len(raw) > 0 && contentEncoding(r.Headers) != "" {
		// HAR text is decoded: so must the headers and size be.
		h.Del("Content-Encoding")
		b.Size = -1
	}
	guessSize(&b, c.Size)
	return b, nil
}

func setInfo(b *bodytap.Body, i *BodyInfo) {
	b.Truncated, b.Decoded, b.Redacted, b.Withheld = i.Truncated, i.Decoded, i.Redacted, i.Withheld
	if i.Error != "" {
		b.Err = errors.New(i.Error)
	}
}

// guessSize fills in what a HAR from another tool may leave out: a size of
// -1 is taken from alt or the bytes, and a body whose text is shorter than
// its size is Truncated.
func guessSize(b *bodytap.Body, alt int64) {
	n := int64(len(b.Bytes))
	if b.Size < 0 {
		b.Size = max(alt, n)
	}
	if b.Size < n {
		b.Size = n
	}
	if b.Size > n && b.Decoded == "" {
		b.Truncated = true
	}
}

// nameValues lists h in HAR form: names sorted, each value its own item.
func nameValues(h http.Header) []NameValue {
	n := 0
	for _, vv := range h {
		n += len(vv)
	}
	out := make([]NameValue, 0, n)
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			out = append(out, NameValue{Name: k, Value: v})
		}
	}
	return out
}

// header is the inverse of nameValues.
func header(nv []NameValue) http.Header {
	h := make(http.Header, len(nv))
	for _, p := range nv {
		if strings.HasPrefix(p.Name, ":") {
			continue
		}
		k := textproto.CanonicalMIMEHeaderKey(p.Name)
		h[k] = append(h[k], p.Value)
	}
	return h
}

// query lists the parameters of a raw query in order, unescaped where
// they can be.
func query(raw string) []NameValue {
	out := []NameValue{}
	for p := range strings.SplitSeq(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		out = append(out, NameValue{Name: unescape(k), Value: unescape(v)})
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func formBody(ps []Param) []byte {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.Value))
	}
	return []byte(b.String())
}

func requestCookies(h http.Header) []Cookie {
	out := []Cookie{}
	if len(h["Cookie"]) == 0 {
		return out
	}
	for _, c := range (&http.Request{Header: h}).Cookies() {
		out = append(out, Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func responseCookies(h http.Header) []Cookie {
	out := []Cookie{}
	if len(h["Set-Cookie"]) == 0 {
		return out
	}
	for _, c := range (&http.Response{Header: h}).Cookies() {
		hc := Cookie{
			Name:     c.Name,
			Value:    c.Value,
			Path:     c.Path,
			Domain:   c.Domain,
			HTTPOnly: c.HttpOnly,
			Secure:   c.Secure,
		}
		if !c.Expires.IsZero() {
			hc.Expires = c.Expires.UTC().Format(time.RFC3339)
		}
		out = append(out, hc)
	}
	return out
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fromMS is the inverse of ms, exact for the values ms returns.
func fromMS(v float64) time.Duration {
	if math.IsNaN(v) || v <= 0 {
		return 0
	}
	ns := math.Round(v * float64(time.Millisecond))
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}
