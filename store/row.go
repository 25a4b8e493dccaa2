package store

import (
	"bytes"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/exchrow"
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
	status            int64
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

// newRow computes the column values of x.
func newRow(x *bodytap.Exchange) (*row, error) {
	meta, err := exchrow.Meta(x)
	if err != nil {
		return nil, err
	}
	var urlText string
	if u := x.Request.URL; u != nil {
		urlText = u.String()
	}
	raw, err := exchrow.Raw(x, urlText)
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
		status:   int64(x.Response.Status),
		duration: int64(x.Duration),
		ttfb:     int64(x.TimeToHeaders),
		reqSize:  x.Request.Body.Size,
		respSize: x.Response.Body.Size,
		ctype:    encodeList(exchrow.ContentTypes(x.Response.Header)),
		reqCtype: encodeList(exchrow.ContentTypes(x.Request.Header)),
		route:    x.Route,
		meta:     meta,
		shape:    exchrow.Shape(x),
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
