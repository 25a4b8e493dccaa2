package decode

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// fuzzHeaders are the Content-Encoding values FuzzDecode picks from, so that
// the fuzzer spends its time in the decoders rather than in header parsing.
var fuzzHeaders = []string{"gzip", "deflate", "br", "zstd", "identity", "gzip, br", "br, zstd", "deflate, gzip", "compress"}

func FuzzDecode(f *testing.F) {
	text := []byte("hello, bodytap: a captured body, hello again, hello")
	for i, h := range fuzzHeaders {
		enc := text
		if h != "compress" {
			enc = encode(f, h, text)
		}
		f.Add(uint8(i), enc, uint16(0), false)
		f.Add(uint8(i), enc, uint16(7), false)
		f.Add(uint8(i), enc[:len(enc)/2], uint16(100), true)
		f.Add(uint8(i), enc[:len(enc)/2], uint16(100), false)
	}
	f.Add(uint8(0), []byte("\x1f\x8b\x08\x00garbage"), uint16(10), false)
	f.Add(uint8(1), []byte("\x78\x9c"), uint16(10), true)
	f.Add(uint8(3), zstdFrame(14<<3), uint16(10), false)

	f.Fuzz(func(t *testing.T, sel uint8, body []byte, limit uint16, truncated bool) {
		header := fuzzHeaders[int(sel)%len(fuzzHeaders)]
		res, err := Decode(header, body, int64(limit), truncated)
		lim := int(limit)
		if lim == 0 {
			lim = DefaultLimit
		}
		if err != nil {
			if !bytes.Equal(res.Bytes, body) || res.Encoding != "" || res.Cut || res.Partial {
				t.Fatalf("error %v with %+v, want the raw body back", err, res)
			}
			return
		}
		if len(res.Bytes) > lim {
			t.Fatalf("got %d bytes, over the limit %d", len(res.Bytes), lim)
		}
		if res.Cut && (res.Partial || len(res.Bytes) != lim) {
			t.Fatalf("Cut with Partial %v and %d bytes, limit %d", res.Partial, len(res.Bytes), lim)
		}
		if res.Partial && !truncated {
			t.Fatal("Partial for input not known to be truncated")
		}
		if !truncated && !res.Cut {
			// The same input, said to be a prefix, decodes the same.
			again, err := Decode(header, body, int64(limit), true)
			if err != nil || !bytes.Equal(again.Bytes, res.Bytes) {
				t.Fatalf("as a prefix: got %q, %v, want %q, nil", trim(again.Bytes), err, trim(res.Bytes))
			}
		}
	})
}

func FuzzToUTF8(f *testing.F) {
	f.Add("text/plain; charset=utf-8", []byte("héllo"))
	f.Add("text/plain; charset=latin1", []byte("caf\xe9"))
	f.Add("text/plain; charset=shift_jis", []byte("\x93\xfa\x96"))
	f.Add("text/plain; charset=gb18030", []byte("\x84\x31\xa4\x37"))
	f.Add("text/plain; charset=utf-16be", []byte("\xd8\x3d\xde"))
	f.Add("", []byte("\xff\xfeh\x00i"))
	f.Add("", []byte("\x00{\x00}"))
	f.Add("text/plain; charset=iso-2022-jp", []byte("\x1b$B"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		IsText(contentType, body)
		s, ok := ToUTF8(contentType, body)
		if ok && !utf8.ValidString(s) {
			t.Fatalf("ToUTF8: got invalid UTF-8 %q", s)
		}
		p, pok := ToUTF8Prefix(contentType, body)
		if pok && !utf8.ValidString(p) {
			t.Fatalf("ToUTF8Prefix: got invalid UTF-8 %q", p)
		}
		if ok && (!pok || p != s) {
			t.Fatalf("ToUTF8 gave %q, but ToUTF8Prefix %q, %v", s, p, pok)
		}
	})
}
