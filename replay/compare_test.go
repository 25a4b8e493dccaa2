package replay

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func jsonMsg(body string) *Message {
	return &Message{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func TestCompare(t *testing.T) {
	gz := jsonMsg("")
	gz.Header.Set("Content-Encoding", "gzip")
	gz.Body = gzipped(t, `{"b":[1,2],"a":"x"}`)
	redacted := jsonMsg(`{"token":"[REDACTED]","n":1}`)
	redacted.Redacted = true
	for _, tc := range []struct {
		name     string
		rec, got *Message
		rules    Rules
		want     []string // Diff.Where, in order
	}{
		{"same JSON, other order and spacing", jsonMsg(`{"a":"x","b":[1,2]}`), jsonMsg(`{ "b": [1, 2.0], "a": "x" }`), Rules{}, nil},
		{"gzip decoded first", jsonMsg(`{"a":"x","b":[1,2]}`), gz, Rules{}, nil},
		{"one field", jsonMsg(`{"a":"x","b":[1,2]}`), jsonMsg(`{"a":"y","b":[1,2]}`), Rules{}, []string{"$.a"}},
		{"added and removed", jsonMsg(`{"a":1,"b":[1,2]}`), jsonMsg(`{"c":1,"b":[1]}`), Rules{}, []string{"$.a", "$.b[1]", "$.c"}},
		{"ignored path", jsonMsg(`{"t":1,"items":[{"id":1,"n":"a"}]}`), jsonMsg(`{"t":2,"items":[{"id":9,"n":"a"}]}`),
			Rules{Paths: []Path{mustPath(t, "$.t"), mustPath(t, "$.items[*].id")}}, nil},
		{"redacted matches anything", redacted, jsonMsg(`{"token":"abc","n":1}`), Rules{}, nil},
		{"status and header", &Message{Status: 200, Header: http.Header{"X-A": {"1"}, "Date": {"x"}}},
			&Message{Status: 404, Header: http.Header{"X-A": {"2"}, "Date": {"y"}, "X-B": {"3"}}}, Rules{}, []string{"status", "header X-A", "header X-B"}},
		{"ignored header", &Message{Status: 200, Header: http.Header{"X-A": {"1"}}}, &Message{Status: 200, Header: http.Header{"X-A": {"2"}}},
			Rules{Headers: []string{"x-a"}}, nil},
		{"sniffed type not recorded", &Message{Status: 200, Header: http.Header{}}, &Message{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}}, Rules{}, nil},
		{"location on own host", &Message{Status: 302, Host: "old:1", Header: http.Header{"Location": {"http://old:1/next"}}},
			&Message{Status: 302, Host: "new:2", Header: http.Header{"Location": {"http://new:2/next"}}}, Rules{}, nil},
		{"cookie values", &Message{Status: 200, Header: http.Header{"Set-Cookie": {"sid=1; Path=/"}}},
			&Message{Status: 200, Header: http.Header{"Set-Cookie": {"sid=2; Path=/"}}}, Rules{}, nil},
		{"text lines", &Message{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("a\nb\nc")},
			&Message{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("a\nB\nc\nd")}, Rules{}, []string{"line 2", "new line 4"}},
		{"text line inserted", text("a\nb\nc\n"), text("x\na\nb\nc\n"), Rules{}, []string{"new line 1"}},
		{"text line removed", text("a\nb\nc\nd\n"), text("a\nc\nd\n"), Rules{}, []string{"line 2"}},
		{"text block replaced", text("a\nb\nc\nd\ne\n"), text("a\nB\nC\nX\ne\n"), Rules{}, []string{"line 2", "line 3", "line 4"}},
		{"text too large for the table", text(numbered("a", 2000)), text(numbered("b", 2000)), Rules{}, positions(MaxDiffs)},
		{"big integers exactly", jsonMsg(`{"id":12345678901234567891}`), jsonMsg(`{"id":12345678901234567890}`), Rules{}, []string{"$.id"}},
		{"number spellings", jsonMsg(`{"a":1,"b":100,"z":0,"f":0.5}`), jsonMsg(`{"a":1.0,"b":1e2,"z":-0,"f":5e-1}`), Rules{}, nil},
		{"partial recording, other start", &Message{Status: 200, Header: http.Header{}, Body: []byte("abc"), Partial: true},
			&Message{Status: 200, Header: http.Header{}, Body: []byte("abXdef")}, Rules{}, []string{"body at byte 2"}},
		{"partial recording, new body shorter", &Message{Status: 200, Header: http.Header{}, Body: []byte("abc"), Partial: true},
			&Message{Status: 200, Header: http.Header{}, Body: []byte("ab")}, Rules{}, []string{"body at byte 2"}},
		{"partial gzip recording, same start", partialGzip(t, longText), gzMsg(t, longText), Rules{}, nil},
		{"partial gzip recording, other start", partialGzip(t, longText), gzMsg(t, "x"+longText), Rules{}, []string{"body at byte 0"}},
		{"withheld recording", &Message{Status: 200, Header: http.Header{}, Partial: true},
			&Message{Status: 200, Header: http.Header{}, Body: []byte("ab")}, Rules{}, nil},
		{"binary", &Message{Status: 200, Header: http.Header{"Content-Type": {"image/png"}}, Body: []byte{1}},
			&Message{Status: 200, Header: http.Header{"Content-Type": {"image/png"}}, Body: []byte{2}}, Rules{}, []string{"body"}},
		{"partial recording not compared", &Message{Status: 200, Header: http.Header{}, Body: []byte("a"), Partial: true},
			&Message{Status: 200, Header: http.Header{}, Body: []byte("ab")}, Rules{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range Compare(tc.rec, tc.got, &tc.rules) {
				got = append(got, d.Where)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func mustPath(t *testing.T, s string) Path {
	t.Helper()
	p, err := ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func text(s string) *Message {
	return &Message{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(s)}
}

// numbered is n lines "prefix i".
func numbered(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

// positions are the first n lines compared at the same numbers.
func positions(n int) []string {
	var w []string
	for i := range n {
		w = append(w, fmt.Sprintf("line %d", i+1))
	}
	return w
}

var longText = numbered("line", 300)

func gzMsg(t *testing.T, s string) *Message {
	m := text("")
	m.Header.Set("Content-Encoding", "gzip")
	m.Body = gzipped(t, s)
	return m
}

// partialGzip is s gzipped, cut after half its bytes, as a capture
// truncated at its cap keeps it.
func partialGzip(t *testing.T, s string) *Message {
	m := gzMsg(t, s)
	m.Body, m.Partial = m.Body[:len(m.Body)/2], true
	return m
}

// BenchmarkCompareText measures the line diff: the worst case the table
// allows (every line differs, the table at its largest), and a long text
// with one line changed (the common start and end need no table).
func BenchmarkCompareText(b *testing.B) {
	for _, bc := range []struct {
		name     string
		rec, got *Message
	}{
		{"1448 lines all differ", text(numbered("a", 1447)), text(numbered("b", 1447))},
		{"20000 lines one changed", text(numbered("a", 20000)), text(strings.Replace(numbered("a", 20000), "a 777\n", "b 777\n", 1))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Compare(bc.rec, bc.got, &Rules{})
			}
		})
	}
}
