package testutil

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// Text returns n bytes of compressible but not trivial text, the same for
// every call: words, JSON, non-ASCII characters and newlines.
func Text(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"bodytap ", "captures ", "bodies ", "{\"id\": 42} ", "héllo ", "日本 ", "\n"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

// RandomBytes returns n bytes, drawn from seed, that are almost surely not
// UTF-8.
func RandomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Gzip returns b gzip-compressed.
func Gzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Encode applies the codings of a Content-Encoding value to data in listing
// order, as a server would, with the writers that newWriter returns by
// lower-case name. Blank names and identity are skipped.
func Encode(tb testing.TB, contentEncoding string, data []byte, newWriter func(tb testing.TB, name string, w io.Writer) io.WriteCloser) []byte {
	tb.Helper()
	for name := range strings.SplitSeq(contentEncoding, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || name == "identity" {
			continue
		}
		var buf bytes.Buffer
		w := newWriter(tb, name, &buf)
		if _, err := w.Write(data); err != nil {
			tb.Fatalf("encode %s: %v", name, err)
		}
		if err := w.Close(); err != nil {
			tb.Fatalf("encode %s: %v", name, err)
		}
		data = buf.Bytes()
	}
	return data
}

// Lookup returns the value at a dotted path ("request.header.Accept") in a
// decoded JSON object, nil if there is none.
func Lookup(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}
