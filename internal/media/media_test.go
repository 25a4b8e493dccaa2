package media

import (
	"bytes"
	"testing"
)

func TestIsText(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name        string
		contentType string
		body        string
		want        bool
	}{
		{"text/plain", "text/plain", "hi", true},
		{"text/html charset", "text/html; charset=ISO-8859-1", "<p>caf\xe9</p>", true},
		{"upper case", "TEXT/CSV", "a,b", true},
		{"json", "application/json", `{"a":1}`, true},
		{"json binary body", "application/json", "\x00\x01", true},
		{"problem+json", "application/problem+json; charset=utf-8", `{}`, true},
		{"xml", "application/xml", "<a/>", true},
		{"atom+xml", "application/atom+xml", "<feed/>", true},
		{"svg", "image/svg+xml", "<svg/>", true},
		{"javascript", "application/javascript", "f()", true},
		{"x-javascript", "application/x-javascript", "f()", true},
		{"form", "application/x-www-form-urlencoded", "a=1&b=2", true},
		{"ndjson", "application/x-ndjson", "{}\n{}\n", true},
		{"x-json", "application/x-json", "\x00", true},
		{"jsonlines", "application/jsonlines", "{}", true},
		{"yaml", "application/yaml", "a: 1", true},
		{"graphql", "application/graphql", "{ a }", true},
		{"png declared", "image/png", string(png), false},
		{"pdf declared", "application/pdf", "%PDF-1.7", false},
		{"protobuf declared", "application/x-protobuf", "hi", false},
		{"multipart", "multipart/form-data; boundary=x", "--x", false},
		{"empty type text", "", "hello, world\n", true},
		{"empty type utf-8", "", "héllo 日本", true},
		{"empty type empty body", "", "", true},
		{"empty type png", "", string(png), false},
		{"empty type gzip", "", "\x1f\x8b\x08\x00\x00\x00\x00\x00", false},
		{"empty type invalid utf-8", "", "caf\xe9 latin1", false},
		{"empty type binary past 512", "", string(bytes.Repeat([]byte("a"), 600)) + "\x00\x01\x02", false},
		{"empty type cut rune", "", "prix: 5 \xe2\x82", true},
		{"empty type utf-16 bom", "", "\xff\xfeh\x00i\x00", true},
		{"octet-stream text", "application/octet-stream", `{"a":1}`, true},
		{"octet-stream binary", "application/octet-stream", "\x00\x01\x02\x03", false},
		{"garbage type", ";;;=", "text", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsText(tt.contentType, []byte(tt.body)); got != tt.want {
				t.Errorf("IsText(%q, %q): got %v, want %v", tt.contentType, tt.body, got, tt.want)
			}
		})
	}
}

func TestIsJSON(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           bool
	}{
		{"json", "application/json", "not json at all", true},
		{"json upper, params", " Application/JSON; charset=utf-8", "", true},
		{"json, params", "application/json; charset=utf-8", "not json", true},
		{"json, bare parameter separator", "application/json;", "", true},
		{"jsonp, params", "application/jsonp; charset=utf-8", "{}", false},
		{"text/json", "text/json", "1", true},
		{"problem+json", "application/problem+json", "{}", true},
		{"ndjson", "application/x-ndjson", "{}\n{}", true},
		{"json-seq", "application/json-seq", "\x1e{}", true},
		{"bare +json", "+json", "x", false},
		{"no type, object", "", "  \n{\"a\":1}", true},
		{"no type, array", "", "[1, 2", true},
		{"no type, text", "", "hello", false},
		{"no type, empty", "", "", false},
		{"text/plain", "text/plain; charset=utf-8", "{}", true},
		{"octet-stream", "application/octet-stream", "[]", true},
		{"generic binary/octet-stream", "binary/octet-stream", "{}", true},
		{"javascript object", "text/javascript", "{\"a\":1}", true},
		{"javascript code", "application/javascript", "f({})", false},
		{"form holding JSON", "application/x-www-form-urlencoded", "{\"password\":\"x\"}", true},
		{"form", "application/x-www-form-urlencoded", "a=1", false},
		{"html", "text/html", "{}", false},
		{"csv", "text/csv", "[a]", false},
		{"multipart", "multipart/form-data; boundary=x", "{}", false},
		{"type containing json", "application/jsonp", "cb({})", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsJSON(tt.ct, []byte(tt.body)); got != tt.want {
				t.Errorf("IsJSON(%q, %q): got %v, want %v", tt.ct, tt.body, got, tt.want)
			}
		})
	}
}

func TestType(t *testing.T) {
	for in, want := range map[string]string{"": "", "Text/HTML; charset=x": "text/html", " application/json ": "application/json", ";x": ""} {
		if got := Type(in); got != want {
			t.Errorf("Type(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestTrimCutRune(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": "abc", "5 \xe2\x82": "5 ", "\xe2\x82\xac": "\xe2\x82\xac", "a\xf0\x9f\x98": "a", "a\xff": "a\xff"} {
		if got := string(TrimCutRune([]byte(in))); got != want {
			t.Errorf("TrimCutRune(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct{ in, mediaType, charset string }{
		{"", "", ""},
		{"text/html", "text/html", ""},
		{" Text/HTML ; Charset = \"UTF-8\" ", "text/html", "utf-8"},
		{"text/plain; foo=bar; charset='latin1'", "text/plain", "latin1"},
		{"text/plain; charset", "text/plain", ""},
		{";charset=utf-8", "", "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			mt, cs := Parse(tt.in)
			if mt != tt.mediaType || cs != tt.charset {
				t.Errorf("got %q, %q, want %q, %q", mt, cs, tt.mediaType, tt.charset)
			}
		})
	}
}
