package decode

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/bodytap/bodytap/internal/testutil"
)

// The tests here cover what Decode adds to internal/coding: br and zstd,
// the Result it returns and its ErrUnsupported errors. Header parsing, the
// limit, truncated input and the gzip and deflate decoders are
// internal/coding's, and tested there.

// encode applies the codings of a Content-Encoding value in listing order,
// as a server would.
func encode(tb testing.TB, contentEncoding string, data []byte) []byte {
	tb.Helper()
	return testutil.Encode(tb, contentEncoding, data, newWriter)
}

func newWriter(tb testing.TB, name string, w io.Writer) io.WriteCloser {
	tb.Helper()
	switch name {
	case "gzip", "x-gzip":
		return gzip.NewWriter(w)
	case "deflate":
		return zlib.NewWriter(w)
	case "br":
		return brotli.NewWriterLevel(w, 5)
	case "zstd":
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
		if err != nil {
			tb.Fatal(err)
		}
		return zw
	}
	tb.Fatalf("no encoder for %q", name)
	return nil
}

// codings are the Content-Encoding values that involve what Decode adds.
var codings = []string{"br", "zstd", "gzip, br", "br, zstd", "zstd, deflate"}

func TestDecodeRoundTrip(t *testing.T) {
	inputs := map[string][]byte{
		"one byte": []byte("x"),
		"text":     []byte("hello, bodytap"),
		"100KiB":   testutil.Text(100 << 10),
	}
	for _, coding := range codings {
		for name, in := range inputs {
			t.Run(coding+"/"+name, func(t *testing.T) {
				res, err := Decode(coding, encode(t, coding, in), 1<<20, false)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(res.Bytes, in) {
					t.Errorf("got %q, want %q", trim(res.Bytes), trim(in))
				}
				if res.Encoding != coding {
					t.Errorf("Encoding: got %q, want %q", res.Encoding, coding)
				}
				if res.Cut || res.Partial {
					t.Errorf("Cut, Partial: got %v, %v, want false, false", res.Cut, res.Partial)
				}
				if len(in) < 2 {
					return
				}
				// The decoders stop where the limit is reached.
				limit := len(in) / 2
				res, err = Decode(coding, encode(t, coding, in), int64(limit), false)
				if err != nil || !bytes.Equal(res.Bytes, in[:limit]) || !res.Cut {
					t.Errorf("limit %d: got %d bytes, Cut %v, %v; want the first %d, true, nil", limit, len(res.Bytes), res.Cut, err, limit)
				}
			})
		}
	}
}

func TestDecodeHeader(t *testing.T) {
	in := []byte("stacked codings, applied in listing order")
	tests := []struct {
		name   string
		header string // Content-Encoding given to Decode
		apply  string // codings the test applies, in order
		want   string // Result.Encoding
	}{
		{"case and space", " GZip ,\tBR ", "gzip, br", "gzip, br"},
		{"identity among", "zstd, identity, br", "zstd, br", "zstd, br"},
		{"five", "gzip, br, zstd, deflate, gzip", "gzip, br, zstd, deflate, gzip", "gzip, br, zstd, deflate, gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Decode(tt.header, encode(t, tt.apply, in), 0, false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Bytes, in) {
				t.Errorf("got %q, want %q", res.Bytes, in)
			}
			if res.Encoding != tt.want {
				t.Errorf("Encoding: got %q, want %q", res.Encoding, tt.want)
			}
		})
	}
}

func TestDecodeUnsupported(t *testing.T) {
	body := []byte("raw bytes")
	tests := []struct{ name, header, wantErr string }{
		{"compress", "compress", `decode: unsupported content-encoding: "compress"`},
		{"unknown after known", "gzip, foo", `decode: unsupported content-encoding: "foo"`},
		{"unknown before known", "Foo, gzip", `decode: unsupported content-encoding: "foo"`},
		{"too many", "gzip, gzip, gzip, gzip, gzip, gzip", "decode: unsupported content-encoding: 6 codings stacked, at most 5 are undone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Decode(tt.header, body, 0, false)
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("got error %v, want one wrapping ErrUnsupported", err)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("got error %q, want %q", err, tt.wantErr)
			}
			if !bytes.Equal(res.Bytes, body) || res.Encoding != "" {
				t.Errorf("got %q, %q, want the raw body and no encoding", res.Bytes, res.Encoding)
			}
		})
	}
}

// TestDecodeTruncated cuts encoded bodies at every length and checks both
// answers: a known prefix decodes to a prefix; an unknown one is an error
// that keeps the raw bytes.
func TestDecodeTruncated(t *testing.T) {
	in := testutil.Text(3000)
	for _, coding := range codings {
		enc := encode(t, coding, in)
		header := coding
		t.Run(coding, func(t *testing.T) {
			for n := range len(enc) {
				prefix := enc[:n]
				res, err := Decode(header, prefix, 0, true)
				if err != nil {
					t.Fatalf("prefix %d/%d, truncated: %v", n, len(enc), err)
				}
				if !bytes.HasPrefix(in, res.Bytes) {
					t.Fatalf("prefix %d/%d, truncated: got %q, not a prefix of the input", n, len(enc), trim(res.Bytes))
				}
				if !res.Partial || res.Cut || res.Encoding != header {
					t.Fatalf("prefix %d/%d, truncated: got Partial %v, Cut %v, Encoding %q", n, len(enc), res.Partial, res.Cut, res.Encoding)
				}
				if n == 0 {
					continue // an empty body is no error
				}
				res, err = Decode(header, prefix, 0, false)
				if err == nil {
					t.Fatalf("prefix %d/%d, not truncated: got no error and %q", n, len(enc), trim(res.Bytes))
				}
				if !strings.HasPrefix(err.Error(), "decode ") {
					t.Errorf("prefix %d/%d: got error %q, want it to name the coding", n, len(enc), err)
				}
				if !bytes.Equal(res.Bytes, prefix) || res.Encoding != "" || res.Partial || res.Cut {
					t.Fatalf("prefix %d/%d, not truncated: got %+v, want the raw prefix back", n, len(enc), res)
				}
			}
			// The whole stream, flagged as truncated, decodes whole.
			res, err := Decode(header, enc, 0, true)
			if err != nil || !bytes.Equal(res.Bytes, in) || !res.Partial {
				t.Errorf("whole, truncated: got %q, Partial %v, %v", trim(res.Bytes), res.Partial, err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	zs := encode(t, "zstd", []byte("hello, bodytap"))

	tests := []struct {
		name      string
		header    string
		body      []byte
		truncated bool
		wantErr   string
	}{
		{"br garbage", "br", []byte("hello world"), false, "decode br: brotli: CL_SPACE"},
		{"zstd garbage", "zstd", []byte("hello world"), false, "decode zstd: invalid input: magic number mismatch"},
		{"zstd garbage truncated", "zstd", []byte("hello world"), true, "decode zstd: invalid input: magic number mismatch"},
		{"zstd truncated", "zstd", zs[:len(zs)-3], false, "decode zstd: unexpected EOF"},
		{"zstd window 9 MiB", "zstd", zstdFrame(13<<3 | 1), false, "decode zstd: window size exceeded"},
		{"zstd window 16 MiB", "zstd", zstdFrame(14 << 3), false, "decode zstd: window size exceeded"},
		{"inner coding named", "gzip, br", encode(t, "gzip", []byte("not brotli inside")), false, "decode br: brotli: "},
		{"outer coding named", "gzip, br", encode(t, "br", []byte("not gzip inside")), false, "decode gzip: gzip: invalid header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Decode(tt.header, tt.body, 0, tt.truncated)
			if err == nil {
				t.Fatalf("got no error and %q, want error %q", res.Bytes, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want %q", err, tt.wantErr)
			}
			if !bytes.Equal(res.Bytes, tt.body) || res.Encoding != "" || res.Cut || res.Partial {
				t.Errorf("got %+v, want the raw body back", res)
			}
		})
	}
}

// zstdFrame returns a zstd frame holding "x" whose header asks for the
// window that the descriptor byte wd describes (RFC 8878 §3.1.1.1.2).
func zstdFrame(wd byte) []byte {
	return []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, wd, 0x09, 0x00, 0x00, 'x'}
}

func TestDecodeZstdWindow(t *testing.T) {
	res, err := Decode("zstd", zstdFrame(13<<3), 0, false) // 8 MiB, the most RFC 9659 allows
	if err != nil || string(res.Bytes) != "x" {
		t.Errorf("got %q, %v, want %q, nil", res.Bytes, err, "x")
	}
}

// trim shortens b for failure messages.
func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
