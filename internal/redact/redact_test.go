package redact

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/testutil"
)

// TestRedactJSONLinear: inputs made to cost the scanner or the textual pass
// much more than their size are still redacted in about linear time.
func TestRedactJSONLinear(t *testing.T) {
	const n = 1 << 19
	r := &Options{JSONPaths: []string{"a.b"}}
	for name, in := range map[string][]byte{
		"escaped quotes":       bytes.Repeat([]byte(`\"`), n/2),
		"unclosed quotes":      bytes.Repeat([]byte(`"a`), n/2),
		"open brackets":        bytes.Repeat([]byte("["), n),
		"open sensitive":       bytes.Repeat([]byte(`{"token":{`), n/10),
		"keys without colons":  bytes.Repeat([]byte(`"token" `), n/8),
		"bare words":           bytes.Repeat([]byte("password "), n/9),
		"bare sensitive pairs": bytes.Repeat([]byte("password: x,"), n/12),
	} {
		start := time.Now()
		if _, _, err := r.redactJSON(in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if d, max := time.Since(start), 2*time.Second; !raceEnabled && d > max {
			t.Errorf("%s: took %v for %d bytes, want at most %v", name, d, len(in), max)
		}
	}
}

func TestRedactJSONPathParse(t *testing.T) {
	k := func(s string) jpStep { return jpStep{kind: jpKey, key: s} }
	i := func(n int) jpStep { return jpStep{kind: jpIndex, index: n} }
	anyStep, deep := jpStep{kind: jpAny}, jpStep{kind: jpDeep}
	cases := []struct {
		in   string
		want []jpStep
	}{
		{"$", nil},
		{"a", []jpStep{k("a")}},
		{"$.a.b", []jpStep{k("a"), k("b")}},
		{"a.b", []jpStep{k("a"), k("b")}},
		{"items[*].card", []jpStep{k("items"), anyStep, k("card")}},
		{"[0][12]", []jpStep{i(0), i(12)}},
		{"$..x", []jpStep{deep, k("x")}},
		{"a..[0]", []jpStep{k("a"), deep, i(0)}},
		{`$["a.b"]['c]']`, []jpStep{k("a.b"), k("c]")}},
		{"a.*", []jpStep{k("a"), anyStep}},
		{"a[b", []jpStep{k("a"), k("b")}},
		{"a[-1]", []jpStep{k("a"), k("-1")}},
	}
	for _, c := range cases {
		got, ok := jpParse(c.in)
		if !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("jpParse(%q): got %v, %v, want %v", c.in, got, ok, c.want)
		}
	}
	if _, ok := jpParse("  "); ok {
		t.Errorf("jpParse of a blank path: got ok, want not")
	}
}

// FuzzRedactJSON: redaction never panics; valid JSON stays valid, and no
// value under a sensitive key survives; everything else is unchanged.
func FuzzRedactJSON(f *testing.F) {
	for _, s := range []string{
		`{"user":"bob","password":"hunter2"}`,
		`[{"token":{"a":[1,2,{"b":"}"}]}},{"x":"\"secret\": 1"}]`,
		`{"pass\u0077ord":1,"a":{"api-key":[true,false,null]},"n":-1.5e+3}`,
		"{\n \"access_token\" : \"x\" ,\n \"list\": [ ]\n}",
		`{"a": 1,, "password": "x"}`,
		`{"token":"ab\`,
		`{'secret': 'x', cvv: 123}`,
		"\x1e{\"ssn\":1}\n{\"credit_card\":\"4111\"}",
		`"just a string"`,
		``,
	} {
		f.Add(s)
	}
	r := &Options{}
	f.Fuzz(func(t *testing.T, in string) {
		out, n, err := r.redactJSON([]byte(in))
		if err != nil {
			return
		}
		if n == 0 {
			if out != nil {
				t.Fatalf("nothing replaced but a copy returned")
			}
			out = []byte(in)
		}
		if !json.Valid([]byte(in)) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("valid input %q gave invalid output %q", in, out)
		}
		var before, after any
		dec := func(b []byte, v *any) {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			if err := d.Decode(v); err != nil {
				t.Fatalf("decode %q: %v", b, err)
			}
		}
		dec([]byte(in), &before)
		dec(out, &after)
		if want := hideForTest(r, before); !reflect.DeepEqual(after, want) {
			t.Fatalf("input %q\ngot  %q\nwant %#v", in, out, want)
		}
	})
}

// hideForTest is what redaction should do to a decoded JSON value.
func hideForTest(r *Options, v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			if sensitiveField(r, k) {
				m[k] = r.replacement()
			} else {
				m[k] = hideForTest(r, e)
			}
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = hideForTest(r, e)
		}
		return s
	}
	return v
}

// FuzzRedactMultipart: multipart redaction never panics, and no part that
// mime/multipart reads from the result under a sensitive name holds
// anything but the replacement.
func FuzzRedactMultipart(f *testing.F) {
	f.Add(string(testutil.Multipart(f, "b", []testutil.Part{{Name: "user", Content: "bob"}, {Name: "password", Content: "x"}, {Name: "meta", ContentType: "application/json", Content: `{"token":1}`}})))
	f.Add("preamble\n--b\nContent-Disposition: form-data; name=\"password\"\n\nx\n--b--\n")
	f.Add("--b\r\nContent-Disposition: form-data;\r\n name=\"password\"\r\n\r\nx\n--b\r\n\r\ny\r\n--b--")
	f.Add("--b\r\nContent-Disposition: form-data; name*=UTF-8''pass%77ord\r\n\r\nx\r\n--b \r\n\r\n--b--")
	f.Add("--b\r\nContent-Type: multipart/mixed; boundary=c\r\nContent-Disposition: form-data; name=f\r\n\r\n--c\r\nContent-Disposition: attachment; name=token\r\n\r\nt\r\n--c--\r\n--b--")
	r := &Options{}
	f.Fuzz(func(t *testing.T, in string) {
		out, n, err := r.redactMultipart("multipart/form-data; boundary=b", []byte(in), 0)
		if err != nil {
			return
		}
		if n == 0 {
			out = []byte(in)
		}
		mr := multipart.NewReader(bytes.NewReader(out), "b")
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			if err != nil {
				continue
			}
			if name, ok := params["name"]; ok && sensitiveField(r, name) {
				got, _ := io.ReadAll(p)
				if len(got) > 0 && string(got) != r.replacement() {
					t.Fatalf("input %q\noutput %q\npart %q holds %q", in, out, name, got)
				}
			}
		}
	})
}

// TestCommonHeaderKinds: a header whose name commonHeaderKinds knows is
// redacted as the same header under a name it does not know (the same
// name in lower case, which is matched word by word), with and without
// the name listed in Options.Headers.
func TestCommonHeaderKinds(t *testing.T) {
	values := []string{"", "x", "a=1; b=2", "sid=abc123; Path=/; HttpOnly", "https://u:p@example.com/cb?code=abc&state=s&x=1",
		"Bearer abcdefghijkl12345", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "ghp_" + strings.Repeat("a1", 18)}
	for k := range commonHeaderKinds {
		for _, o := range []Options{{Detect: AllDetectors}, {}, {Detect: AllDetectors, Headers: []string{strings.ToUpper(k)}}} {
			got, gotFound := o.redactHeader(http.Header{k: values})
			want, wantFound := o.redactHeader(http.Header{strings.ToLower(k): values})
			if !slices.Equal(got[k], want[strings.ToLower(k)]) || gotFound != wantFound {
				t.Errorf("%s (Headers %q): got %q (%v), want %q (%v)", k, o.Headers, got[k], gotFound, want[strings.ToLower(k)], wantFound)
			}
		}
	}
	if commonHeaderKinds["Authorization"] != secret || commonHeaderKinds["Cookie"] != cookie || commonHeaderKinds["Referer"] != withURL || commonHeaderKinds["Accept"] != other {
		t.Errorf("commonHeaderKinds: Authorization %d, Cookie %d, Referer %d, Accept %d", commonHeaderKinds["Authorization"], commonHeaderKinds["Cookie"], commonHeaderKinds["Referer"], commonHeaderKinds["Accept"])
	}
}
