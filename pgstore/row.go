package pgstore

import (
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/exchrow"
	"github.com/bodytap/bodytap/store"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// A row is an exchange made ready to be copied into exchanges and bodies.
type row struct {
	id                 []byte
	start              int64
	method, host       string
	domain, path       string
	url, remote        string
	status             int32
	duration, ttfb     int64
	reqSize, respSize  int64
	ctype, reqCtype    []string
	route, errText     string
	flags              int32
	meta               []byte
	shape              int64
	req, resp, rawText []byte
}

// Filters whose verdict a row keeps in its flags: they read headers,
// which only the JSON form holds.
var (
	assetFilter     = &filter.Filter{Root: filter.Flag{Op: filter.OpAsset}}
	websocketFilter = &filter.Filter{Root: filter.Flag{Op: filter.OpWebsocket}}
)

// newRow computes the column values of x, compressing what goes in
// bodies.
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
		id:       append([]byte(nil), x.ID[:]...),
		start:    x.Start.UnixNano(),
		status:   int32(x.Response.Status),
		duration: int64(x.Duration),
		ttfb:     int64(x.TimeToHeaders),
		reqSize:  x.Request.Body.Size,
		respSize: x.Response.Body.Size,
		meta:     compress(meta),
		shape:    exchrow.Shape(x),
		req:      compressBody(x.Request.Body.Bytes),
		resp:     compressBody(x.Response.Body.Bytes),
		rawText:  raw,
	}
	lossy := false
	text := func(s string) string {
		t := validText(s)
		lossy = lossy || t != s
		return t
	}
	list := func(vs []string) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = text(v)
		}
		return out
	}
	r.method = text(x.Request.Method)
	r.host = text(x.Request.Host)
	r.domain = text(filter.Domain(&x.Request))
	r.remote = text(x.Request.RemoteAddr)
	r.route = text(x.Route)
	r.url = text(urlText)
	if u := x.Request.URL; u != nil {
		r.path = text(u.Path)
	}
	r.ctype = list(exchrow.ContentTypes(x.Response.Header))
	r.reqCtype = list(exchrow.ContentTypes(x.Request.Header))
	if x.Err != nil {
		r.errText = validText(x.Err.Error())
		r.flags |= flagError
	}
	for _, f := range []struct {
		on  bool
		bit int32
	}{
		{x.Hijacked, flagHijacked},
		{x.Request.Body.Truncated, flagReqTruncated},
		{x.Response.Body.Truncated, flagRespTruncated},
		{x.Request.Body.Redacted, flagReqRedacted},
		{x.Response.Body.Redacted, flagRespRedacted},
		{x.Request.Body.Withheld, flagReqWithheld},
		{x.Response.Body.Withheld, flagRespWithheld},
		{lossy, flagLossy},
	} {
		if f.on {
			r.flags |= f.bit
		}
	}
	if assetFilter.Match(x) {
		r.flags |= flagAsset
	}
	if websocketFilter.Match(x) {
		r.flags |= flagWebsocket
	}
	return r, nil
}

// validText returns s as PostgreSQL text can hold it: valid UTF-8
// without NUL.
func validText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Bodies and the JSON form are compressed by the writer, not left to
// PostgreSQL's TOAST compression: TOAST compresses a value only when its
// row is over about 2 KiB (toast_tuple_target lower does not change
// that), so the common bodies of a few hundred bytes to 2 KiB would be
// stored as they are. Compressing in the writer also spreads the work
// over the fleet's writers instead of the one database, and sends fewer
// bytes to it. A stored value starts with a byte that says how it is
// coded: codingRaw, codingZstd or codingS2.
//
// The writer codes with S2: on the 1 KiB JSON bodies of TestPerf it
// takes 2.2 µs a body where zstd at its fastest level took 16 µs (most of
// a writer's CPU), and decoding, which a body search does to every
// candidate, 0.7 µs instead of 13; the bodies come out 52% of their size
// instead of 43% (BenchmarkCoding). Values
// written as zstd by earlier versions stay readable.
const (
	codingRaw  = 0
	codingZstd = 1
	codingS2   = 2
	// Values shorter than this are stored as they are.
	minCompress = 64
)

var (
	zdecOnce sync.Once
	zdec     *zstd.Decoder
)

// compress returns b coded for storage.
func compress(b []byte) []byte {
	if len(b) >= minCompress {
		out := make([]byte, 1+s2.MaxEncodedLen(len(b)))
		out[0] = codingS2
		if n := len(s2.Encode(out[1:], b)); n < len(b) {
			return out[:1+n]
		}
	}
	out := make([]byte, 1+len(b))
	out[0] = codingRaw
	copy(out[1:], b)
	return out
}

// compressBody is compress for a body copy: nil when it is empty.
func compressBody(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return compress(b)
}

// decompress undoes compress.
func decompress(b []byte) ([]byte, error) { return decompressTo(nil, b) }

// decompressTo is decompress into dst's memory where it fits (a raw
// value is returned as a part of b instead).
func decompressTo(dst, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	switch b[0] {
	case codingRaw:
		return b[1:], nil
	case codingS2:
		return s2.Decode(dst[:cap(dst)], b[1:])
	case codingZstd:
		zdecOnce.Do(func() {
			zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
		})
		return zdec.DecodeAll(b[1:], dst[:0])
	}
	return nil, errUnknownCoding
}

// summaryColumns are the columns of a list's row, in the order that
// scanRow reads them.
const summaryColumns = `e.id, e.start, e.method, e.url, e.host, e.path, e.status,
	e.duration, e.ttfb, e.req_size, e.resp_size, e.ctype, e.route, e.error, e.flags,
	e.domain, e.remote, e.req_ctype`

// A listRow is a row of summaryColumns: the Summary, and what Go needs
// to decide a filter on the row without its exchange.
type listRow struct {
	sum      store.Summary
	flags    int32
	domain   string
	remote   string
	ctype    []string
	reqCtype []string
}

func scanRow(sc interface{ Scan(...any) error }, r *listRow, extra ...any) error {
	var (
		id         []byte
		start      int64
		dur, ttfb  int64
		status     int32
		s          = &r.sum
		scanTarget = []any{&id, &start, &s.Method, &s.URL, &s.Host, &s.Path, &status,
			&dur, &ttfb, &s.ReqSize, &s.RespSize, &r.ctype, &s.Route, &s.Error, &r.flags,
			&r.domain, &r.remote, &r.reqCtype}
	)
	if err := sc.Scan(append(scanTarget, extra...)...); err != nil {
		return err
	}
	copy(s.ID[:], id)
	s.Start = time.Unix(0, start).UTC()
	s.Status = int(status)
	s.Duration = time.Duration(dur)
	s.TimeToHeaders = time.Duration(ttfb)
	if len(r.ctype) > 0 {
		s.ContentType = r.ctype[0]
	}
	s.Hijacked = r.flags&flagHijacked != 0
	s.Truncated = r.flags&(flagReqTruncated|flagRespTruncated) != 0
	s.Redacted = r.flags&(flagReqRedacted|flagRespRedacted) != 0
	return nil
}
