package coding

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/testutil"
)

// encode applies the codings of a Content-Encoding value in listing order,
// as a server would. "rawdeflate" is DEFLATE without the zlib wrapper, sent
// under the name deflate by some servers; "b64" is the base64 coding that
// the tests add through Decoder.Extra.
func encode(tb testing.TB, ce string, data []byte) []byte {
	tb.Helper()
	return testutil.Encode(tb, ce, data, func(tb testing.TB, name string, w io.Writer) io.WriteCloser {
		switch name {
		case "gzip", "x-gzip":
			return gzip.NewWriter(w)
		case "deflate":
			return zlib.NewWriter(w)
		case "rawdeflate":
			fw, _ := flate.NewWriter(w, flate.DefaultCompression)
			return fw
		case "b64":
			return base64.NewEncoder(base64.StdEncoding, w)
		}
		tb.Fatalf("no encoder for %q", name)
		return nil
	})
}

// b64 is a Decoder with one extra coding, as package decode adds br and
// zstd.
var b64 = &Decoder{Extra: map[string]Func{
	"b64": func(r io.Reader) (io.ReadCloser, error) {
		return io.NopCloser(base64.NewDecoder(base64.StdEncoding, r)), nil
	},
}}

func wireName(c string) string { return strings.ReplaceAll(c, "rawdeflate", "deflate") }

func TestDecodeRoundTrip(t *testing.T) {
	inputs := map[string][]byte{"one byte": []byte("x"), "text": []byte("hello, bodytap"), "100KiB": testutil.Text(100 << 10)}
	for _, c := range []string{"gzip", "deflate", "rawdeflate", "b64", "gzip, b64, rawdeflate"} {
		for name, in := range inputs {
			t.Run(c+"/"+name, func(t *testing.T) {
				res, err := b64.Decode(wireName(c), encode(t, c, in), 1<<20, false)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(res.Bytes, in) {
					t.Errorf("got %q, want %q", trim(res.Bytes), trim(in))
				}
				if res.Codings != wireName(c) || res.Cut || res.Partial {
					t.Errorf("got Codings %q, Cut %v, Partial %v, want %q, false, false", res.Codings, res.Cut, res.Partial, wireName(c))
				}
			})
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct{ name, header, want, err string }{
		{"empty", "", "", ""},
		{"identity", " IDENTITY ", "", ""},
		{"case and space", " GZip ,\tDEFLATE ", "gzip, deflate", ""},
		{"no space", "gzip,deflate", "gzip, deflate", ""},
		{"identity among", "gzip, identity, deflate", "gzip, deflate", ""},
		{"empty members", ",gzip,,", "gzip", ""},
		{"x-gzip", "X-Gzip", "gzip", ""},
		{"extra", "b64, gzip", "b64, gzip", ""},
		{"five", "gzip, gzip, gzip, gzip, gzip", "gzip, gzip, gzip, gzip, gzip", ""},
		{"six", "gzip, gzip, gzip, gzip, gzip, gzip", "", "6 codings stacked, at most 5 are undone"},
		{"unknown", "Compress", "", "unsupported content coding compress"},
		{"unknown after known", "gzip, br", "", "unsupported content coding br"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := b64.Parse(tt.header)
			if got := fmt.Sprint(err); err != nil && got != tt.err || err == nil && tt.err != "" {
				t.Fatalf("got error %v, want %q", err, tt.err)
			}
			if got := strings.Join(names, ", "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorTypes(t *testing.T) {
	body := []byte("raw bytes")
	var ue *UnsupportedError
	if res, err := Std.Decode("b64", body, 0, false); !errors.As(err, &ue) || ue.Name != "b64" || !bytes.Equal(res.Bytes, body) {
		t.Errorf("Std, b64: got %+v, %v, want the body and an UnsupportedError", res, err)
	}
	var tm *TooManyError
	if _, err := Std.Decode(strings.Repeat("gzip,", 6), body, 0, false); !errors.As(err, &tm) || tm.N != 6 {
		t.Errorf("six codings: got %v, want a TooManyError", err)
	}
	var de *DecodeError
	if _, err := Std.Decode("gzip", body, 0, false); !errors.As(err, &de) || de.Coding != "gzip" {
		t.Errorf("bad gzip: got %v, want a DecodeError naming gzip", err)
	}
}

func TestDecodeEmptyBody(t *testing.T) {
	for _, prefix := range []bool{false, true} {
		res, err := Std.Decode("gzip, deflate", nil, 0, prefix)
		if err != nil || len(res.Bytes) != 0 || res.Codings != "gzip, deflate" || res.Partial != prefix {
			t.Errorf("prefix %v: got %+v, %v", prefix, res, err)
		}
	}
}

func TestDecodeLimit(t *testing.T) {
	in := testutil.Text(10000)
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
		{"deflate cut", "deflate", 513, 513, true},
		{"extra cut", "b64", 1000, 1000, true},
		{"stacked cut", "gzip, b64", 3000, 3000, true},
		{"identity exact", "", 10000, 10000, false},
		{"identity cut", "identity", 10, 10, true},
		{"default limit", "gzip", 0, 10000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := b64.Decode(tt.header, encode(t, tt.header, in), tt.limit, false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Bytes, in[:tt.want]) {
				t.Errorf("got %d bytes, want %d", len(res.Bytes), tt.want)
			}
			if res.Cut != tt.cut || res.Partial {
				t.Errorf("Cut, Partial: got %v, %v, want %v, false", res.Cut, res.Partial, tt.cut)
			}
		})
	}
}

// TestDecodeTruncated cuts encoded bodies at every length: a known prefix
// decodes to a prefix; an unknown one is an error that keeps the raw bytes.
func TestDecodeTruncated(t *testing.T) {
	in := testutil.Text(3000)
	for _, c := range []string{"gzip", "deflate", "rawdeflate", "gzip, deflate", "b64, gzip"} {
		enc := encode(t, c, in)
		header := wireName(c)
		t.Run(c, func(t *testing.T) {
			for n := range len(enc) {
				prefix := enc[:n]
				res, err := b64.Decode(header, prefix, 0, true)
				if err != nil {
					t.Fatalf("prefix %d/%d: %v", n, len(enc), err)
				}
				if !bytes.HasPrefix(in, res.Bytes) || !res.Partial || res.Cut || res.Codings != header {
					t.Fatalf("prefix %d/%d: got %q, %+v", n, len(enc), trim(res.Bytes), res)
				}
				if n == 0 {
					continue
				}
				res, err = b64.Decode(header, prefix, 0, false)
				if c == "rawdeflate" && err == nil {
					continue // a raw stream can end at any block boundary
				}
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("prefix %d/%d, not a prefix: got %v, want a DecodeError", n, len(enc), err)
				}
				if !bytes.Equal(res.Bytes, prefix) || res.Codings != "" {
					t.Fatalf("prefix %d/%d, not a prefix: got %+v, want the raw prefix back", n, len(enc), res)
				}
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
	tests := []struct {
		name, header string
		body         []byte
		prefix       bool
		want         string
	}{
		{"gzip truncated", "gzip", gz[:len(gz)-4], false, "decode gzip: unexpected EOF"},
		{"gzip garbage", "gzip", []byte("hello world"), true, "decode gzip: gzip: invalid header"},
		{"gzip bad checksum", "gzip", badCRC, true, "decode gzip: gzip: invalid checksum"},
		{"gzip trailing junk", "gzip", append(bytes.Clone(gz), "junk after the stream"...), false, "decode gzip: gzip: invalid header"},
		{"zlib bad checksum", "deflate", badAdler, false, "decode deflate: zlib: invalid checksum"},
		{"deflate garbage", "deflate", []byte("\xff\xff\xff\xff"), false, "decode deflate: flate: corrupt input before offset 1"},
		{"inner coding named", "gzip, deflate", encode(t, "gzip", []byte("not deflate inside")), false, "decode deflate: "},
		{"outer coding named", "gzip, deflate", encode(t, "deflate", []byte("not gzip inside")), false, "decode gzip: gzip: invalid header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Std.Decode(tt.header, tt.body, 0, tt.prefix)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got error %v, want %q", err, tt.want)
			}
			if !bytes.Equal(res.Bytes, tt.body) || res.Codings != "" || res.Cut || res.Partial {
				t.Errorf("got %+v, want the raw body back", res)
			}
		})
	}
}

func TestZlibHeader(t *testing.T) {
	var raw, zl bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	fw.Write([]byte("x"))
	fw.Close()
	zw := zlib.NewWriter(&zl)
	zw.Write([]byte("x"))
	zw.Close()
	tests := []struct {
		name string
		hdr  []byte
		want bool
	}{
		{"zlib", zl.Bytes(), true},
		{"zlib best", []byte{0x78, 0xda}, true},
		{"zlib fast", []byte{0x78, 0x01}, true},
		{"raw deflate", raw.Bytes(), false},
		{"preset dictionary", []byte{0x78, 0xbb}, false},
		{"short", []byte{0x78}, false},
		{"bad check", []byte{0x78, 0x9d}, false},
	}
	for _, tt := range tests {
		if got := ZlibHeader(tt.hdr); got != tt.want {
			t.Errorf("%s: ZlibHeader(%x): got %v, want %v", tt.name, tt.hdr, got, tt.want)
		}
	}
}

func TestDecodeBomb(t *testing.T) {
	const limit = 1 << 20
	bomb := testutil.GzipBomb(256) // 256 MiB
	for _, c := range []string{"gzip", "gzip, deflate", "gzip, b64"} {
		t.Run(c, func(t *testing.T) {
			body := bomb
			if c != "gzip" {
				body = encode(t, c[len("gzip, "):], bomb)
			}
			var res Result
			var err error
			alloc := testutil.Allocated(func() { res, err = b64.Decode(c, body, limit, false) })
			if err != nil || len(res.Bytes) != limit || !res.Cut {
				t.Fatalf("got %d bytes, Cut %v, %v; want %d, true, nil", len(res.Bytes), res.Cut, err, limit)
			}
			if alloc > 3*limit+512<<10 {
				t.Errorf("allocated %d bytes, want at most %d", alloc, 3*limit+512<<10)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	in := testutil.Text(50000)
	for _, c := range []string{"gzip", "x-gzip", "deflate"} {
		out, err := Encode([]byte("prefix"), c, in)
		if err != nil || !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("%s: got %v", c, err)
		}
		res, err := Std.Decode(c, out[len("prefix"):], 0, false)
		if err != nil || !bytes.Equal(res.Bytes, in) {
			t.Errorf("%s: round trip: got %d bytes, %v", c, len(res.Bytes), err)
		}
	}
	if _, err := Encode(nil, "br", in); err == nil {
		t.Error("br: got no error")
	}
}

func TestHeaderHelpers(t *testing.T) {
	tests := []struct {
		ce    string
		count int
		names string
		list  string
	}{
		{"", 0, "", ""},
		{"identity", 0, "", ""},
		{" GZip , identity,\tBR", 2, "gzip, br", "gzip, br"},
		{",,x-gzip,", 1, "x-gzip", "gzip"},
		{"gzip, gzip, gzip, gzip, gzip, Compress", 6, "gzip, gzip, gzip, gzip, gzip, compress", "gzip, gzip, gzip, gzip, gzip, compress"},
	}
	for _, tt := range tests {
		if got := strings.Join(List(tt.ce), ", "); got != tt.list {
			t.Errorf("List(%q): got %q, want %q", tt.ce, got, tt.list)
		}
		if got := Count(tt.ce); got != tt.count {
			t.Errorf("Count(%q): got %d, want %d", tt.ce, got, tt.count)
		}
		if got := Names(tt.ce); got != tt.names {
			t.Errorf("Names(%q): got %q, want %q", tt.ce, got, tt.names)
		}
	}
	h := map[string][]string{"Content-Encoding": {"gzip", "br"}}
	if got := Header(h); got != "gzip, br" {
		t.Errorf("Header: got %q, want %q", got, "gzip, br")
	}
}

// trim shortens b for failure messages.
func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
