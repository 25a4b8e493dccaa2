package rewrite

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// The content codings the standard library can undo, for Config.Decode.

// contentCoding returns the content coding h names, normalized: "" for
// none or identity, "gzip" (for gzip and x-gzip), "deflate", or, for any
// other coding or several, the header's value as it is.
func contentCoding(h http.Header) string {
	v := h["Content-Encoding"]
	if len(v) == 0 {
		return ""
	}
	all := strings.Join(v, ",")
	var codings []string
	for c := range strings.SplitSeq(all, ",") {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
			codings = append(codings, c)
		}
	}
	switch {
	case len(codings) == 0:
		return ""
	case len(codings) > 1:
		return all
	case codings[0] == "x-gzip":
		return "gzip"
	}
	return codings[0]
}

var (
	gzipReaders sync.Pool // *gzip.Reader
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}
)

// decodeBody decodes b from coding ("gzip" or "deflate"), refusing to
// produce more than limit bytes. Deflate is zlib (RFC 9110), or raw
// deflate as some servers send it.
func decodeBody(b []byte, coding string, limit int64) ([]byte, error) {
	var zr io.Reader
	switch coding {
	case "gzip":
		gr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if gr == nil {
			gr, err = gzip.NewReader(bytes.NewReader(b))
		} else {
			err = gr.Reset(bytes.NewReader(b))
		}
		if err != nil {
			return nil, fmt.Errorf("bodytap: decode gzip: %w", err)
		}
		defer gzipReaders.Put(gr)
		zr = gr
	case "deflate":
		r, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			r = flate.NewReader(bytes.NewReader(b))
		}
		defer r.Close()
		zr = r
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedEncoding, coding)
	}
	out := bytes.NewBuffer(make([]byte, 0, min(int64(4*len(b)), limit)+1))
	n, err := out.ReadFrom(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("bodytap: decode %s: %w", coding, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrDecodedTooLarge, limit)
	}
	return out.Bytes(), nil
}

// encodeBody encodes b with coding ("gzip" or "deflate", as zlib).
func encodeBody(b []byte, coding string) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(b)/2 + 64)
	switch coding {
	case "gzip":
		zw := gzipWriters.Get().(*gzip.Writer)
		defer func() { zw.Reset(io.Discard); gzipWriters.Put(zw) }()
		zw.Reset(&out)
		if _, err := zw.Write(b); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	case "deflate":
		zw := zlibWriters.Get().(*zlib.Writer)
		defer func() { zw.Reset(io.Discard); zlibWriters.Put(zw) }()
		zw.Reset(&out)
		if _, err := zw.Write(b); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedEncoding, coding)
	}
	return out.Bytes(), nil
}
