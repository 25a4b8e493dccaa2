package pgstore

import (
	"bytes"
	"testing"

	"github.com/bodytap/bodytap/internal/exchrow"
	"github.com/klauspost/compress/zstd"
)

// TestCoding: what compress codes decompress returns, and values that
// earlier versions coded with zstd stay readable.
func TestCoding(t *testing.T) {
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	body := newPerfGen().batch(1, 0, 1)[0].Response.Body.Bytes
	for _, tc := range []struct {
		name   string
		in     []byte
		stored []byte
		coding byte
	}{
		{"short", []byte("ok"), compress([]byte("ok")), codingRaw},
		{"incompressible", []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"), nil, codingRaw},
		{"JSON", body, compress(body), codingS2},
		{"zstd of an earlier version", body, append([]byte{codingZstd}, zenc.EncodeAll(body, nil)...), codingZstd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored := tc.stored
			if stored == nil {
				stored = compress(tc.in)
			}
			if stored[0] != tc.coding {
				t.Errorf("coded as %d, want %d", stored[0], tc.coding)
			}
			if tc.coding != codingRaw && len(stored) >= len(tc.in) {
				t.Errorf("stored %d bytes of %d, want fewer", len(stored), len(tc.in))
			}
			got, err := decompress(stored)
			if err != nil || !bytes.Equal(got, tc.in) {
				t.Errorf("decompress: got %q (%v), want %q", got, err, tc.in)
			}
			// Into the memory of an earlier value, longer or shorter, as sift does.
			for _, prev := range [][]byte{bytes.Repeat([]byte("x"), 4096), []byte("y")} {
				buf := append([]byte(nil), prev...)
				got, err := decompressTo(buf, stored)
				if err != nil || !bytes.Equal(got, tc.in) {
					t.Errorf("decompressTo after %d bytes: got %q (%v), want %q", len(prev), got, err, tc.in)
				}
			}
		})
	}
	if _, err := decompress([]byte{9, 1, 2}); err != errUnknownCoding {
		t.Errorf("unknown coding: got %v, want errUnknownCoding", err)
	}
}

// BenchmarkCoding measures compress and decompress on TestPerf's 1 KiB
// JSON bodies and the JSON form of their exchanges, and reports the
// stored size as a fraction of the input.
func BenchmarkCoding(b *testing.B) {
	xs := newPerfGen().batch(1000, 0, 1000)
	var bodies, metas [][]byte
	for _, x := range xs {
		bodies = append(bodies, x.Response.Body.Bytes)
		m, err := exchrow.Meta(x)
		if err != nil {
			b.Fatal(err)
		}
		metas = append(metas, m)
	}
	for _, in := range []struct {
		name string
		vs   [][]byte
	}{{"body", bodies}, {"meta", metas}} {
		var inBytes, outBytes int
		for _, v := range in.vs {
			inBytes += len(v)
			outBytes += len(compress(v))
		}
		b.Run("compress/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				compress(in.vs[i%len(in.vs)])
				i++
			}
			b.ReportMetric(float64(outBytes)/float64(inBytes), "stored/in")
		})
		b.Run("decompress/"+in.name, func(b *testing.B) {
			stored := make([][]byte, len(in.vs))
			for i, v := range in.vs {
				stored[i] = compress(v)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := decompress(stored[i%len(stored)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
