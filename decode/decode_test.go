package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// encode applies the codings of a Content-Encoding value in listing order,
// as a server would. "rawdeflate" is DEFLATE without the zlib wrapper, sent
// under the name deflate by some servers.
func encode(tb testing.TB, contentEncoding string, data []byte) []byte {
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

func newWriter(tb testing.TB, name string, w io.Writer) io.WriteCloser {
	tb.Helper()
	switch name {
	case "gzip", "x-gzip":
		return gzip.NewWriter(w)
	case "deflate":
		return zlib.NewWriter(w)
	case "rawdeflate":
		fw, err := flate.NewWriter(w, flate.DefaultCompression)
		if err != nil {
			tb.Fatal(err)
		}
		return fw
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

// sample returns n bytes of compressible but not trivial text.
func sample(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"bodytap ", "captures ", "bodies ", "{\"id\": 42} ", "héllo ", "日本 ", "\n"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

var codings = []string{"gzip", "deflate", "rawdeflate", "br", "zstd"}

// wireName is the Content-Encoding a test coding goes by on the wire.
func wireName(coding string) string {
	if coding == "rawdeflate" {
		return "deflate"
	}
	return coding
}

func TestDecodeRoundTrip(t *testing.T) {
	inputs := map[string][]byte{
		"one byte": []byte("x"),
		"text":     []byte("hello, bodytap"),
		"100KiB":   sample(100 << 10),
	}
	for _, coding := range codings {
		for name, in := range inputs {
			t.Run(coding+"/"+name, func(t *testing.T) {
				res, err := Decode(wireName(coding), encode(t, coding, in), 1<<20, false)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(res.Bytes, in) {
					t.Errorf("got %q, want %q", trim(res.Bytes), trim(in))
				}
				if want := wireName(coding); res.Encoding != want {
					t.Errorf("Encoding: got %q, want %q", res.Encoding, want)
				}
				if res.Cut || res.Partial {
					t.Errorf("Cut, Partial: got %v, %v, want false, false", res.Cut, res.Partial)
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
		{"empty", "", "", ""},
		{"identity", "identity", "", ""},
		{"identity upper", " IDENTITY ", "", ""},
		{"gzip then br", "gzip, br", "gzip, br", "gzip, br"},
		{"br then gzip", "br, gzip", "br, gzip", "br, gzip"},
		{"three", "deflate, zstd, gzip", "deflate, zstd, gzip", "deflate, zstd, gzip"},
		{"same twice", "gzip, gzip", "gzip, gzip", "gzip, gzip"},
		{"case and space", " GZip ,\tBR ", "gzip, br", "gzip, br"},
		{"no space", "gzip,zstd", "gzip, zstd", "gzip, zstd"},
		{"identity among", "gzip, identity, br", "gzip, br", "gzip, br"},
		{"empty members", ",gzip,,", "gzip", "gzip"},
		{"x-gzip", "x-gzip", "gzip", "gzip"},
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

func TestDecodeEmptyBody(t *testing.T) {
	for _, truncated := range []bool{false, true} {
		t.Run(fmt.Sprint("truncated=", truncated), func(t *testing.T) {
			res, err := Decode("gzip, br", nil, 0, truncated)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Bytes) != 0 || res.Encoding != "gzip, br" || res.Partial != truncated {
				t.Errorf("got %+v", res)
			}
		})
	}
}

func TestDecodeLimit(t *testing.T) {
	in := sample(10000)
	tests := []struct {
		name   string
		header string
		limit  int64
		want   int
		cut    bool
	}{
		{"gzip under", "gzip", 20000, 10000, false},
		{"gzip exact", "gzip", 10000, 10000, false},
		{"gzip one short", "gzip", 9999, 9999, true},
		{"gzip tiny", "gzip", 1, 1, true},
		{"br cut", "br", 1000, 1000, true},
		{"zstd cut", "zstd", 4097, 4097, true},
		{"deflate cut", "deflate", 513, 513, true},
		{"stacked cut", "gzip, br", 3000, 3000, true},
		{"identity exact", "", 10000, 10000, false},
		{"identity cut", "identity", 10, 10, true},
		{"default limit", "gzip", 0, 10000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Decode(tt.header, encode(t, tt.header, in), tt.limit, false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Bytes, in[:tt.want]) {
				t.Errorf("got %d bytes %q, want %d bytes %q", len(res.Bytes), trim(res.Bytes), tt.want, trim(in[:tt.want]))
			}
			if res.Cut != tt.cut || res.Partial {
				t.Errorf("Cut, Partial: got %v, %v, want %v, false", res.Cut, res.Partial, tt.cut)
			}
		})
	}
}

// TestDecodeTruncated cuts encoded bodies at every length and checks both
// answers: a known prefix decodes to a prefix; an unknown one is an error
// that keeps the raw bytes.
func TestDecodeTruncated(t *testing.T) {
	in := sample(3000)
	for _, coding := range append(codings, "gzip, br", "zstd, deflate") {
		enc := encode(t, coding, in)
		header := wireName(coding)
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
					continue // an empty body is no error: see TestDecodeEmptyBody
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
	gz := encode(t, "gzip", []byte("hello, bodytap"))
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-5] ^= 0xff
	zl := encode(t, "deflate", []byte("hello, bodytap"))
	badAdler := bytes.Clone(zl)
	badAdler[len(badAdler)-1] ^= 0xff
	zs := encode(t, "zstd", []byte("hello, bodytap"))
	trailing := append(bytes.Clone(gz), "junk after the stream"...)

	tests := []struct {
		name      string
		header    string
		body      []byte
		truncated bool
		wantErr   string
	}{
		{"gzip truncated", "gzip", gz[:len(gz)-4], false, "decode gzip: unexpected EOF"},
		{"gzip garbage", "gzip", []byte("hello world"), false, "decode gzip: gzip: invalid header"},
		{"gzip garbage truncated", "gzip", []byte("hello world"), true, "decode gzip: gzip: invalid header"},
		{"gzip bad checksum", "gzip", badCRC, false, "decode gzip: gzip: invalid checksum"},
		{"gzip bad checksum truncated", "gzip", badCRC, true, "decode gzip: gzip: invalid checksum"},
		{"gzip trailing junk", "gzip", trailing, false, "decode gzip: gzip: invalid header"},
		{"zlib bad checksum", "deflate", badAdler, false, "decode deflate: zlib: invalid checksum"},
		{"deflate garbage", "deflate", []byte("\xff\xff\xff\xff"), false, "decode deflate: flate: corrupt input before offset 1"},
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
