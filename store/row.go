package store

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/jsonl"
)

// maxIndexBytes is the longest body copy that goes into the full-text
// index; longer ones are searched by reading them.
const maxIndexBytes = 256 << 10

// A row is an exchange made ready to be inserted: its column values. It
// shares the body copies with the exchange, which sinks treat as
// read-only.
type row struct {
	id                []byte
	start             int64
	method, host      string
	domain            string
	path, url, remote string
	status            int
	duration, ttfb    int64
	reqSize, respSize int64
	ctype, reqCtype   string
	route, errText    string
	flags             int64
	meta              []byte
	shape             int64
	req, resp         []byte
	raw               []byte
}

// Bits of bodies.shape: what the JSON form of an exchange does not tell
// apart, so that Get returns what Record was given.
const (
	shapeReqHeader  = 1 << 0 // Request.Header is empty, not nil
	shapeRespHeader = 1 << 1 // Response.Header is empty, not nil
	shapeTrailer    = 1 << 2 // Response.Trailer is empty, not nil
	shapeInfo       = 1 << 3 // Response.Informational is empty, not nil
	shapeReqBody    = 1 << 4 // Request.Body.Bytes is empty, not nil
	shapeRespBody   = 1 << 5 // Response.Body.Bytes is empty, not nil
	// shapeInfoHeader<<i: Response.Informational[i].Header is empty, not
	// nil, for i < maxShapeInfo.
	shapeInfoHeader = 1 << 6
	maxShapeInfo    = 56
)

// newRow computes the column values of x.
func newRow(x *bodytap.Exchange) (*row, error) {
	meta, err := encodeMeta(x)
	if err != nil {
		return nil, err
	}
	var urlText string
	if u := x.Request.URL; u != nil {
		urlText = u.String()
	}
	raw, err := encodeRaw(x, urlText)
	if err != nil {
		return nil, err
	}
	r := &row{
		id:       x.ID[:],
		start:    x.Start.UnixNano(),
		method:   x.Request.Method,
		host:     x.Request.Host,
		domain:   filter.Domain(&x.Request),
		remote:   x.Request.RemoteAddr,
		status:   x.Response.Status,
		duration: int64(x.Duration),
		ttfb:     int64(x.TimeToHeaders),
		reqSize:  x.Request.Body.Size,
		respSize: x.Response.Body.Size,
		ctype:    encodeList(contentTypes(x.Response.Header)),
		reqCtype: encodeList(contentTypes(x.Request.Header)),
		route:    x.Route,
		meta:     meta,
		shape:    shapeOf(x),
		req:      x.Request.Body.Bytes,
		resp:     x.Response.Body.Bytes,
		raw:      raw,
	}
	if len(r.req) == 0 {
		r.req = nil
	}
	if len(r.resp) == 0 {
		r.resp = nil
	}
	if u := x.Request.URL; u != nil {
		r.path = u.Path
		r.url = urlText
	}
	if x.Err != nil {
		r.errText = x.Err.Error()
	}
	if x.Hijacked {
		r.flags |= flagHijacked
	}
	if x.Request.Body.Truncated {
		r.flags |= flagReqTruncated
	}
	if x.Response.Body.Truncated {
		r.flags |= flagRespTruncated
	}
	if x.Request.Body.Redacted {
		r.flags |= flagReqRedacted
	}
	if x.Response.Body.Redacted {
		r.flags |= flagRespRedacted
	}
	if x.Request.Body.Withheld {
		r.flags |= flagReqWithheld
	}
	if x.Response.Body.Withheld {
		r.flags |= flagRespWithheld
	}
	if assetFilter.Match(x) {
		r.flags |= flagAsset
	}
	if websocketFilter.Match(x) {
		r.flags |= flagWebsocket
	}
	if !indexable(&x.Request.Body, x.Request.Header) {
		r.flags |= flagReqUnindexed
	}
	if !indexable(&x.Response.Body, x.Response.Header) {
		r.flags |= flagRespUnindexed
	}
	return r, nil
}

// Filters whose verdict a row keeps in its flags: they depend on headers,
// which only the JSON form holds.
var (
	assetFilter     = &filter.Filter{Root: filter.Flag{Op: filter.OpAsset}}
	websocketFilter = &filter.Filter{Root: filter.Flag{Op: filter.OpWebsocket}}
)

// contentTypes returns the values of the Content-Type header in h, under
// any spelling of its name, as the filters ~t, ~tq and ~ts see them.
func contentTypes(h http.Header) []string {
	if v, ok := h["Content-Type"]; ok && len(h) > 0 {
		// The usual case; only an odd spelling next to it could add more.
		n := 0
		for k := range h {
			if len(k) == len("Content-Type") && strings.EqualFold(k, "Content-Type") {
				n++
			}
		}
		if n == 1 {
			return v
		}
	}
	var vs []string
	for k, v := range h {
		if strings.EqualFold(k, "Content-Type") {
			vs = append(vs, v...)
		}
	}
	return vs
}

// encodeList encodes a list of header values as one column value: ""
// for none, the value itself for one non-empty value, and else NUL
// followed by the values separated by NULs (header values hold no NUL).
func encodeList(vs []string) string {
	switch {
	case len(vs) == 0:
		return ""
	case len(vs) == 1 && vs[0] != "" && vs[0][0] != 0:
		return vs[0]
	}
	return "\x00" + strings.Join(vs, "\x00")
}

// decodeList undoes encodeList.
func decodeList(s string) []string {
	switch {
	case s == "":
		return nil
	case s[0] != 0:
		return []string{s}
	}
	return strings.Split(s[1:], "\x00")
}

// firstOfList returns the first value of an encoded list, "" if none.
func firstOfList(s string) string {
	if s != "" && s[0] == 0 {
		s, _, _ = strings.Cut(s[1:], "\x00")
	}
	return s
}

// encodeMeta returns the JSON form of x (see package jsonl)
// without the body copies, which go in columns of their own.
func encodeMeta(x *bodytap.Exchange) ([]byte, error) {
	y := *x
	y.Request.Body.Bytes = nil
	y.Response.Body.Bytes = nil
	b, err := jsonl.Marshal(&y)
	if err != nil {
		return nil, fmt.Errorf("encode exchange %s: %w", x.ID, err)
	}
	return b, nil
}

func shapeOf(x *bodytap.Exchange) int64 {
	var s int64
	emptyMap := func(h http.Header, bit int64) {
		if h != nil && len(h) == 0 {
			s |= bit
		}
	}
	emptyMap(x.Request.Header, shapeReqHeader)
	emptyMap(x.Response.Header, shapeRespHeader)
	emptyMap(x.Response.Trailer, shapeTrailer)
	if x.Response.Informational != nil && len(x.Response.Informational) == 0 {
		s |= shapeInfo
	}
	for i, in := range x.Response.Informational[:min(len(x.Response.Informational), maxShapeInfo)] {
		emptyMap(in.Header, shapeInfoHeader<<i)
	}
	if x.Request.Body.Bytes != nil && len(x.Request.Body.Bytes) == 0 {
		s |= shapeReqBody
	}
	if x.Response.Body.Bytes != nil && len(x.Response.Body.Bytes) == 0 {
		s |= shapeRespBody
	}
	return s
}

// rawStrings are the strings of an exchange that its JSON form would
// change because they are not valid UTF-8; only those that are not are
// set.
type rawStrings struct {
	Method, URL, Proto, Host, RemoteAddr, Route, Err string
	ReqErr, RespErr, ReqDecoded, RespDecoded         string
	ReqHeader, RespHeader, Trailer                   http.Header
	Info                                             map[int]http.Header
}

// encodeRaw returns what rawStrings holds for x (whose URL's text is
// urlText), gob-encoded, or nil if all of x's strings are valid UTF-8 (as
// they almost always are).
func encodeRaw(x *bodytap.Exchange, urlText string) ([]byte, error) {
	var r rawStrings
	found := false
	str := func(dst *string, s string) {
		if !utf8.ValidString(s) {
			*dst, found = s, true
		}
	}
	hdr := func(dst *http.Header, h http.Header) {
		for k, vs := range h {
			ok := utf8.ValidString(k)
			for _, v := range vs {
				ok = ok && utf8.ValidString(v)
			}
			if !ok {
				*dst, found = h, true
				return
			}
		}
	}
	errText := func(dst *string, err error) {
		if err != nil {
			str(dst, err.Error())
		}
	}
	str(&r.Method, x.Request.Method)
	if x.Request.URL != nil {
		str(&r.URL, urlText)
	}
	str(&r.Proto, x.Request.Proto)
	str(&r.Host, x.Request.Host)
	str(&r.RemoteAddr, x.Request.RemoteAddr)
	str(&r.Route, x.Route)
	errText(&r.Err, x.Err)
	errText(&r.ReqErr, x.Request.Body.Err)
	errText(&r.RespErr, x.Response.Body.Err)
	str(&r.ReqDecoded, x.Request.Body.Decoded)
	str(&r.RespDecoded, x.Response.Body.Decoded)
	hdr(&r.ReqHeader, x.Request.Header)
	hdr(&r.RespHeader, x.Response.Header)
	hdr(&r.Trailer, x.Response.Trailer)
	for i, in := range x.Response.Informational {
		var h http.Header
		if hdr(&h, in.Header); h != nil {
			if r.Info == nil {
				r.Info = make(map[int]http.Header)
			}
			r.Info[i] = h
		}
	}
	if !found {
		return nil, nil
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&r); err != nil {
		return nil, fmt.Errorf("encode exchange %s: %w", x.ID, err)
	}
	return b.Bytes(), nil
}

// applyRaw puts back into x the strings that raw (from encodeRaw) holds.
func applyRaw(x *bodytap.Exchange, raw []byte) error {
	var r rawStrings
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&r); err != nil {
		return err
	}
	set := func(dst *string, s string) {
		if s != "" {
			*dst = s
		}
	}
	set(&x.Request.Method, r.Method)
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil {
			return err
		}
		x.Request.URL = u
	}
	set(&x.Request.Proto, r.Proto)
	set(&x.Request.Host, r.Host)
	set(&x.Request.RemoteAddr, r.RemoteAddr)
	set(&x.Route, r.Route)
	set(&x.Request.Body.Decoded, r.ReqDecoded)
	set(&x.Response.Body.Decoded, r.RespDecoded)
	if r.Err != "" {
		x.Err = bodytap.ErrorFromText(r.Err)
	}
	if r.ReqErr != "" {
		x.Request.Body.Err = bodytap.ErrorFromText(r.ReqErr)
	}
	if r.RespErr != "" {
		x.Response.Body.Err = bodytap.ErrorFromText(r.RespErr)
	}
	if r.ReqHeader != nil {
		x.Request.Header = r.ReqHeader
	}
	if r.RespHeader != nil {
		x.Response.Header = r.RespHeader
	}
	if r.Trailer != nil {
		x.Response.Trailer = r.Trailer
	}
	for i, h := range r.Info {
		if i < len(x.Response.Informational) {
			x.Response.Informational[i].Header = h
		}
	}
	return nil
}

// decodeExchange rebuilds an exchange from its bodies row.
func decodeExchange(meta []byte, shape int64, req, resp, raw []byte) (*bodytap.Exchange, error) {
	x := new(bodytap.Exchange)
	if err := jsonl.Unmarshal(meta, x); err != nil {
		return nil, err
	}
	if raw != nil {
		if err := applyRaw(x, raw); err != nil {
			return nil, err
		}
	}
	x.Request.Body.Bytes = bodyBytes(req, shape&shapeReqBody != 0)
	x.Response.Body.Bytes = bodyBytes(resp, shape&shapeRespBody != 0)
	if shape&shapeReqHeader != 0 && x.Request.Header == nil {
		x.Request.Header = http.Header{}
	}
	if shape&shapeRespHeader != 0 && x.Response.Header == nil {
		x.Response.Header = http.Header{}
	}
	if shape&shapeTrailer != 0 && x.Response.Trailer == nil {
		x.Response.Trailer = http.Header{}
	}
	if shape&shapeInfo != 0 && x.Response.Informational == nil {
		x.Response.Informational = []bodytap.Informational{}
	}
	for i := range x.Response.Informational[:min(len(x.Response.Informational), maxShapeInfo)] {
		if shape&(shapeInfoHeader<<i) != 0 && x.Response.Informational[i].Header == nil {
			x.Response.Informational[i].Header = http.Header{}
		}
	}
	return x, nil
}

func bodyBytes(b []byte, empty bool) []byte {
	switch {
	case len(b) > 0:
		return b
	case empty:
		return []byte{}
	}
	return nil
}

// indexable reports whether the full-text index holds all of b's copy:
// an empty copy, or text that is valid UTF-8 without NUL bytes, no longer
// than maxIndexBytes and not still in a content coding.
func indexable(b *bodytap.Body, h http.Header) bool {
	p := b.Bytes
	switch {
	case len(p) == 0:
		return true
	case len(p) > maxIndexBytes, bytes.IndexByte(p, 0) >= 0, !utf8.Valid(p):
		return false
	case b.Decoded == "":
		for _, ce := range h.Values("Content-Encoding") {
			for c := range strings.SplitSeq(ce, ",") {
				if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
					return false
				}
			}
		}
	}
	return true
}

// Summary columns, in the order scanSummary reads them.
const summaryColumns = `e.rid, e.id, e.start, e.method, e.url, e.host, e.path, e.status,
	e.duration, e.ttfb, e.req_size, e.resp_size, e.ctype, e.route, e.error, e.flags`

func scanSummary(sc interface{ Scan(...any) error }, s *Summary) (rid int64, err error) {
	var (
		id    []byte
		start int64
		dur   int64
		ttfb  int64
		flags int64
	)
	err = sc.Scan(&rid, &id, &start, &s.Method, &s.URL, &s.Host, &s.Path, &s.Status,
		&dur, &ttfb, &s.ReqSize, &s.RespSize, &s.ContentType, &s.Route, &s.Error, &flags)
	if err != nil {
		return 0, err
	}
	copy(s.ID[:], id)
	s.ContentType = firstOfList(s.ContentType)
	s.Start = time.Unix(0, start).UTC()
	s.Duration = time.Duration(dur)
	s.TimeToHeaders = time.Duration(ttfb)
	s.Hijacked = flags&flagHijacked != 0
	s.Truncated = flags&(flagReqTruncated|flagRespTruncated) != 0
	s.Redacted = flags&(flagReqRedacted|flagRespRedacted) != 0
	return rid, nil
}
