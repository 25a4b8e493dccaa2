package coding

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"sync"
)

// Writers are pooled: a gzip or zlib writer allocates a few hundred
// kilobytes of state, which a rewrite that encodes every response again
// must not pay each time.
var (
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}
)

// Encode appends b encoded with the coding name ("gzip", "x-gzip" or
// "deflate", which is written zlib-wrapped as RFC 9110 says) to dst.
func Encode(dst []byte, name string, b []byte) ([]byte, error) {
	type resetter interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	var zw resetter
	var pool *sync.Pool
	switch name {
	case "gzip", "x-gzip":
		pool = &gzipWriters
	case "deflate":
		pool = &zlibWriters
	default:
		return dst, &UnsupportedError{name}
	}
	zw = pool.Get().(resetter)
	defer func() { zw.Reset(io.Discard); pool.Put(zw) }()
	out := bytes.NewBuffer(dst)
	out.Grow(len(b)/2 + 64)
	zw.Reset(out)
	if _, err := zw.Write(b); err != nil {
		return dst, err
	}
	if err := zw.Close(); err != nil {
		return dst, err
	}
	return out.Bytes(), nil
}
