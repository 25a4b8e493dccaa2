package testutil

import (
	"bytes"
	"compress/gzip"
	"io"
	"runtime"
)

// Zeros reads as an endless run of zero bytes.
type Zeros struct{}

func (Zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// GzipBomb returns a gzip body of n members, each 1 MiB of zeros, that
// decodes to n MiB: a few kilobytes per member, cheap to make.
func GzipBomb(n int) []byte {
	var m bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&m, gzip.BestCompression)
	io.CopyN(zw, Zeros{}, 1<<20)
	zw.Close()
	return bytes.Repeat(m.Bytes(), n)
}

// Allocated returns the bytes allocated while f runs, counted from a
// freshly collected heap.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
