package filter

import (
	"errors"
	"go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/testutil"
)

// sample returns an exchange that the tests change case by case.
func sample() *bodytap.Exchange {
	u, err := url.Parse("https://api.example.com/v1/users/42/orders?limit=10&sort=desc")
	if err != nil {
		panic(err)
	}
	return &bodytap.Exchange{
		Start:         time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration:      300 * time.Millisecond,
		TimeToHeaders: 100 * time.Millisecond,
		Route:         "GET /v1/users/{id}/orders",
		Request: bodytap.Request{
			Method:     "GET",
			URL:        u,
			Proto:      "HTTP/1.1",
			Host:       "api.example.com",
			RemoteAddr: "192.0.2.7:51234",
			Header: http.Header{
				"Accept":       {"application/json"},
				"X-Request-Id": {"abc-123"},
				"Content-Type": {"application/json; charset=utf-8"},
			},
			ContentLength: 15,
			Body:          bodytap.Body{Bytes: []byte(`{"q":"find me"}`), Size: 15, EOF: true},
		},
		Response: bodytap.Response{
			Status: 200,
			Header: http.Header{
				"Content-Type": {"application/json"},
				"Set-Cookie":   {"a=1", "b=2"},
			},
			Body: bodytap.Body{
				Bytes:   []byte("{\"id\":42,\n\"name\":\"Ada\"}"),
				Size:    2048,
				EOF:     true,
				Decoded: "gzip",
			},
		},
	}
}

// equalNode reports whether two trees are equal, comparing regular
// expressions by their source.
func equalNode(a, b Node) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case And:
		b, ok := b.(And)
		return ok && equalNode(a.X, b.X) && equalNode(a.Y, b.Y)
	case Or:
		b, ok := b.(Or)
		return ok && equalNode(a.X, b.X) && equalNode(a.Y, b.Y)
	case Not:
		b, ok := b.(Not)
		return ok && equalNode(a.X, b.X)
	case Match:
		b, ok := b.(Match)
		return ok && a.Op == b.Op && a.Pattern == b.Pattern && a.Literal == b.Literal &&
			(a.Re == nil) == (b.Re == nil) && (a.Re == nil || a.Re.String() == b.Re.String())
	case Flag, Status, Compare, Path:
		return a == b
	}
	return false
}

func mustParse(t testing.TB, expr string) *Filter {
	t.Helper()
	f, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return f
}

// m builds the Match node that Parse builds for op and pattern.
func m(op Op, pattern string) Match {
	n, err := compileMatch(op, pattern)
	if err != nil {
		panic(err)
	}
	return n
}

func TestParseEmpty(t *testing.T) {
	for _, expr := range []string{"", " ", "\t\n ", "\u00a0"} {
		f := mustParse(t, expr)
		if f.Root != nil {
			t.Errorf("Parse(%q).Root = %#v, want nil", expr, f.Root)
		}
		if f.String() != expr {
			t.Errorf("String() = %q, want %q", f.String(), expr)
		}
		if !f.Match(sample()) || !f.Match(&bodytap.Exchange{}) || !f.Match(nil) {
			t.Errorf("Parse(%q) does not match everything", expr)
		}
	}
	var nilFilter *Filter
	if !nilFilter.Match(sample()) || nilFilter.String() != "" {
		t.Error("nil Filter: want a match and an empty String")
	}
}

// TestParseOperators checks the node that every operator gives.
func TestParseOperators(t *testing.T) {
	tests := []struct {
		expr string
		want Node
	}{
		{"~all", Flag{OpAll}},
		{"~a", Flag{OpAsset}},
		{"~e", Flag{OpError}},
		{"~http", Flag{OpHTTP}},
		{"~q", Flag{OpNoResp}},
		{"~s", Flag{OpResponse}},
		{"~websocket", Flag{OpWebsocket}},

		{"~m POST", m(OpMethod, "POST")},
		{"~u /api", m(OpURL, "/api")},
		{"/api", m(OpURL, "/api")},
		{`"/a b"`, m(OpURL, "/a b")},
		{"~d example.com", m(OpDomain, "example.com")},
		{"~h X-Id", m(OpHeader, "X-Id")},
		{"~hq X-Id", m(OpReqHeader, "X-Id")},
		{"~hs X-Id", m(OpRespHeader, "X-Id")},
		{"~b foo", m(OpBody, "foo")},
		{"~bq foo", m(OpReqBody, "foo")},
		{"~bs foo", m(OpRespBody, "foo")},
		{"~t json", m(OpContentType, "json")},
		{"~tq json", m(OpReqContentType, "json")},
		{"~ts json", m(OpRespContentType, "json")},
		{"~src 10.0.0.1", m(OpSrc, "10.0.0.1")},
		{"~dst :443$", m(OpDst, ":443$")},
		{"~route {id}", m(OpRoute, "{id}")},

		{"~c 404", Status{404, 404}},
		{"~c 100", Status{100, 100}},
		{"~c 999", Status{999, 999}},
		// Any integer, as in mitmproxy: "~c 10" and "~c 0" match nothing,
		// "~c 0200" means 200.
		{"~c 10", Status{10, 10}},
		{"~c 0", Status{0, 0}},
		{"~c 0200", Status{200, 200}},
		{"~c 1000", Status{1000, 1000}},
		{"~c 099-0200", Status{99, 200}},
		{"~c 5xx", Status{500, 599}},
		{"~c 5XX", Status{500, 599}},
		{"~c 4..", Status{400, 499}},
		{"~c 20x", Status{200, 209}},
		{"~c 2.X", Status{200, 299}},
		{"~c 400-499", Status{400, 499}},
		{"~c 404-404", Status{404, 404}},
		{"~c 404|~c 410", Or{Status{404, 404}, Status{410, 410}}},
		{"~c 404&~s", And{Status{404, 404}, Flag{OpResponse}}},
		{"~dur >1s|~e", Or{Compare{OpDuration, ">", int64(time.Second)}, Flag{OpError}}},
		{"~size > 1k!~e", And{Compare{OpSize, ">", 1024}, Not{Flag{OpError}}}},
		{"~path /a&b|c", Path{"/a&b|c", "/a&b|c"}},

		{"~dur >250ms", Compare{OpDuration, ">", int64(250 * time.Millisecond)}},
		{"~dur >=1s", Compare{OpDuration, ">=", int64(time.Second)}},
		{"~dur <2s", Compare{OpDuration, "<", int64(2 * time.Second)}},
		{"~dur <=1m", Compare{OpDuration, "<=", int64(time.Minute)}},
		{"~dur =0s", Compare{OpDuration, "=", 0}},
		{"~dur ==5ms", Compare{OpDuration, "=", int64(5 * time.Millisecond)}},
		{"~dur 1.5s", Compare{OpDuration, ">=", int64(1500 * time.Millisecond)}},
		{"~dur > 1s", Compare{OpDuration, ">", int64(time.Second)}},
		{`~dur "> 1s"`, Compare{OpDuration, ">", int64(time.Second)}},
		{`~dur ">" '1s'`, Compare{OpDuration, ">", int64(time.Second)}},
		{"~size 512", Compare{OpSize, ">=", 512}},
		{"~size >0", Compare{OpSize, ">", 0}},
		{"~size >=1k", Compare{OpSize, ">=", 1024}},
		{"~size >=1K", Compare{OpSize, ">=", 1024}},
		{"~size >=1KB", Compare{OpSize, ">=", 1024}},
		{"~size >=2KiB", Compare{OpSize, ">=", 2048}},
		{"~size <1M", Compare{OpSize, "<", 1 << 20}},
		{"~size <1MiB", Compare{OpSize, "<", 1 << 20}},
		{"~size <1.5m", Compare{OpSize, "<", 3 << 19}},
		{"~size =2G", Compare{OpSize, "=", 2 << 30}},
		{"~size =2gib", Compare{OpSize, "=", 2 << 30}},
		{"~size 10b", Compare{OpSize, ">=", 10}},
		{`~size "> 1 MiB"`, Compare{OpSize, ">", 1 << 20}},
		{"~sizeq >10k", Compare{OpReqSize, ">", 10 << 10}},
		{"~sizes <1k", Compare{OpRespSize, "<", 1 << 10}},

		{"~path /api/users", Path{"/api/users", "/api/users"}},
		{"~path /api/*/orders", Path{"/api/*/orders", "/api/"}},
		{"~path /api/**", Path{"/api/**", "/api/"}},
		{"~path /v?/x", Path{"/v?/x", "/v"}},
		{"~path **", Path{"**", ""}},
		{`~path ""`, Path{"", ""}},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.expr)
		if !equalNode(f.Root, tt.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.expr, f.Root, tt.want)
		}
	}
}

// TestEveryOperator checks that the tests above, Help and Parse cover the
// same operators.
func TestEveryOperator(t *testing.T) {
	for op, info := range ops {
		expr := string(op)
		switch info.kind {
		case kindRegex:
			expr += " x"
		case kindStatus:
			expr += " 200"
		case kindCompare:
			expr += " 1s"
			if op != OpDuration {
				expr = string(op) + " 1"
			}
		case kindPath:
			expr += " /x"
		}
		if _, err := Parse(expr); err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
		}
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(string(op)) + `[ ,]`).MatchString(Help) {
			t.Errorf("Help does not describe %s", op)
		}
	}

	// Every Op constant that ast.go declares is in ops.
	file, err := goparser.ParseFile(gotoken.NewFileSet(), "ast.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, d := range file.Decls {
		d, ok := d.(*ast.GenDecl)
		if !ok || d.Tok != gotoken.CONST {
			continue
		}
		for _, spec := range d.Specs {
			v := spec.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Op" {
				continue
			}
			for _, val := range v.Values {
				lit, err := strconv.Unquote(val.(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				declared++
				if _, ok := ops[Op(lit)]; !ok {
					t.Errorf("ast.go declares %s, which Parse does not know", lit)
				}
			}
		}
	}
	if declared != len(ops) {
		t.Errorf("ast.go declares %d operators, Parse knows %d", declared, len(ops))
	}
}

func TestRegexFlags(t *testing.T) {
	tests := []struct {
		expr, re, literal string
	}{
		{"~m post", "(?i)post", "post"},
		{"~d Example", "(?i)Example", "Example"},
		{"~t JSON", "(?i)JSON", "JSON"},
		{"~tq JSON", "(?i)JSON", "JSON"},
		{"~ts JSON", "(?i)JSON", "JSON"},
		{"~h ^X", "(?im)^X", ""},
		{"~hq ^X", "(?im)^X", ""},
		{"~hs ^X", "(?im)^X", ""},
		{"~b a.b", "(?is)a.b", ""},
		{"~bq a", "(?is)a", "a"},
		{"~bs a", "(?is)a", "a"},
		{"~u /api/v1", "(?i)/api/v1", "/api/v1"},
		{`~u a\.b`, `(?i)a\.b`, "a.b"}, // matches exactly the text "a.b"
		{"~u ^/api", "(?i)^/api", ""},
		{"~u a|b", "(?i)a|b", ""},
		{"~u a+", "(?i)a+", ""},
		{`~u "(?i)a"`, "(?i)(?i)a", ""},
		{`~u "(?-i)A"`, "(?i)(?-i)A", "A"}, // a prefilter: Re decides
		{`~u ""`, "(?i)", ""},
		{"~src 10.0.0.1", "(?i)10.0.0.1", ""},
		{"~dst example.com:443", "(?i)example.com:443", ""},
		{"~dst host:443", "(?i)host:443", "host:443"},
		{"~route /items/{id}", "(?i)/items/{id}", "/items/{id}"}, // not a repetition: literal braces
	}
	for _, tt := range tests {
		f := mustParse(t, tt.expr)
		n, ok := f.Root.(Match)
		if !ok {
			t.Fatalf("Parse(%q).Root is %T, want Match", tt.expr, f.Root)
		}
		if got := n.Re.String(); got != tt.re {
			t.Errorf("Parse(%q): Re = %q, want %q", tt.expr, got, tt.re)
		}
		if n.Literal != tt.literal {
			t.Errorf("Parse(%q): Literal = %q, want %q", tt.expr, n.Literal, tt.literal)
		}
	}
}

// TestPrecedence checks the shape of trees through Format, which
// parenthesizes what is not left to right or binds more loosely.
func TestPrecedence(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"a", "~u a"},
		{"a & b", "~u a & ~u b"},
		{"a & b & c", "~u a & ~u b & ~u c"},
		{"a & (b & c)", "~u a & (~u b & ~u c)"},
		{"a | b | c", "~u a | ~u b | ~u c"},
		{"a | b & c", "~u a | ~u b & ~u c"},
		{"a & b | c", "~u a & ~u b | ~u c"},
		{"(a | b) & c", "(~u a | ~u b) & ~u c"},
		{"!a & b", "!~u a & ~u b"},
		{"!(a & b)", "!(~u a & ~u b)"},
		{"!!a", "!!~u a"},
		{"! a", "!~u a"},
		{"!~q | ~s", "!~q | ~s"},
		// Side by side: an and that binds loosest, as in mitmproxy.
		{"a b", "~u a & ~u b"},
		{"a b c", "~u a & ~u b & ~u c"},
		{"a b | c", "~u a & (~u b | ~u c)"},
		{"a | b c", "(~u a | ~u b) & ~u c"},
		{"a & b c | d", "~u a & ~u b & (~u c | ~u d)"},
		{"~m GET ~c 404 | ~c 500", "~m GET & (~c 404 | ~c 500)"},
		{"(a b) | c", "~u a & ~u b | ~u c"},
		{"!a b", "!~u a & ~u b"},
		{"((a))", "~u a"},
		{"(a)(b)", "~u a & ~u b"},
		{"~q&~s", "~q & ~s"},
		{"~q|~s", "~q | ~s"},
		{"~q!~s", "~q & !~s"},
		{"a &b", "~u a & ~u b"},
		{"a |b", "~u a | ~u b"},
		// Inside a word, & | ! ~ are part of it.
		{"a&b", "~u a&b"},
		{"a|b", "~u a|b"},
		{"a!b", "~u a!b"},
		{"/~user", "~u /~user"},
		{"~u !x", `~u "!x"`},
		{"~u &amp;", `~u "&amp;"`},
		{"~u a&b=1", "~u a&b=1"},
		// Quotes end a word.
		{`a"b"`, "~u a & ~u b"},
		{`~u"x"`, "~u x"},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.expr)
		if got := Format(f.Root); got != tt.want {
			t.Errorf("Format(Parse(%q)) = %q, want %q", tt.expr, got, tt.want)
		}
	}

	// And one tree spelled out.
	f := mustParse(t, "~m GET !~c 200 | ~e")
	want := And{
		X: m(OpMethod, "GET"),
		Y: Or{X: Not{X: Status{200, 200}}, Y: Flag{OpError}},
	}
	if !equalNode(f.Root, want) {
		t.Errorf("got %#v, want %#v", f.Root, want)
	}
}

func TestQuoting(t *testing.T) {
	tests := []struct{ expr, pattern string }{
		{`"a b"`, "a b"},
		{`'a b'`, "a b"},
		{`"it's"`, "it's"},
		{`'say "hi"'`, `say "hi"`},
		{`"say \"hi\""`, `say "hi"`},
		{`'it\'s'`, "it's"},
		{`"a\\b"`, `a\b`},
		{`"\d+"`, `\d+`},
		{`"a\.b"`, `a\.b`},
		{`"\\\\"`, `\\`},
		{`"x\\"`, `x\`},
		{`"(a|b)"`, "(a|b)"},
		{`"~u"`, "~u"},
		{`""`, ""},
		{`"é ü"`, "é ü"},
		{`\d+`, `\d+`},   // unquoted: as written
		{`a\b\`, `a\b\`}, // unquoted: as written
	}
	for _, tt := range tests {
		// ~path takes any string, where ~u wants a regular expression.
		f := mustParse(t, "~path "+tt.expr)
		if got := f.Root.(Path).Glob; got != tt.pattern {
			t.Errorf("Parse(~path %s): glob %q, want %q", tt.expr, got, tt.pattern)
		}
		if _, err := regexp.Compile(tt.pattern); err != nil {
			continue
		}
		// A bare quoted string is a ~u.
		f = mustParse(t, tt.expr)
		if got := f.Root.(Match); got.Op != OpURL || got.Pattern != tt.pattern {
			t.Errorf("Parse(%s) = %v %q, want ~u %q", tt.expr, got.Op, got.Pattern, tt.pattern)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"~x", `filter: position 1: unknown operator "~x"`},
		{"~q | !~x", `filter: position 7: unknown operator "~x"`},
		{"~", `filter: position 1: unknown operator "~"`},
		{"~mPOST", `filter: position 1: unknown operator "~mPOST"`},
		{"~c404", `filter: position 1: unknown operator "~c404"`},
		{"~m", `filter: position 3: missing argument for ~m`},
		{"~m ", `filter: position 4: missing argument for ~m`},
		{"é ~m", `filter: position 5: missing argument for ~m`}, // positions count characters
		{"~m (~q)", `filter: position 4: missing argument for ~m`},
		{"(~m)", `filter: position 4: missing argument for ~m`},
		{"~m ~s", `filter: position 4: missing argument for ~m`},
		{"~m & ~s", `filter: position 4: missing argument for ~m`},
		{"~h | ~s", `filter: position 4: missing argument for ~h`},
		{"~c", `filter: position 3: missing argument for ~c`},
		{"~path", `filter: position 6: missing argument for ~path`},
		{"~dur", `filter: position 5: missing argument for ~dur`},
		{"~dur >", `filter: position 7: ~dur: missing value after ">"`},
		{"~size <= )", `filter: position 10: ~size: missing value after "<="`},
		{"(", `filter: position 1: unbalanced parenthesis: "(" is not closed`},
		{"(~q", `filter: position 1: unbalanced parenthesis: "(" is not closed`},
		{"((~q) & ~s", `filter: position 1: unbalanced parenthesis: "(" is not closed`},
		{"~q)", `filter: position 3: unbalanced parenthesis: unexpected ")"`},
		{")", `filter: position 1: unbalanced parenthesis: unexpected ")"`},
		{"(~q))", `filter: position 5: unbalanced parenthesis: unexpected ")"`},
		{"()", `filter: position 2: empty parentheses`},
		{"~q & ()", `filter: position 7: empty parentheses`},
		{"&", `filter: position 1: unexpected "&"`},
		{"| ~q", `filter: position 1: unexpected "|"`},
		{"~q &", `filter: position 5: missing expression after "&"`},
		{"~q & | ~s", `filter: position 6: missing expression after "&"`},
		{"~q ||", `filter: position 5: missing expression after "|"`},
		{"~q && ~s", `filter: position 5: missing expression after "&"`},
		{"!", `filter: position 2: missing expression after "!"`},
		{"~q & !)", `filter: position 7: missing expression after "!"`},
		{`"abc`, `filter: position 1: unterminated quoted string`},
		{`~u 'abc`, `filter: position 4: unterminated quoted string`},
		{`~u "abc\"`, `filter: position 4: unterminated quoted string`},
		{`ab"`, `filter: position 3: unterminated quoted string`},
		{`a\"`, "filter: position 1: ~u: error parsing regexp: trailing backslash at end of expression: ``"},
		{`don't`, `filter: position 4: unterminated quoted string`},
		{"~u (a", `filter: position 4: missing argument for ~u`},
		{`~u "(a"`, "filter: position 4: ~u: error parsing regexp: missing closing ): `(a`"},
		{`~m "[a"`, "filter: position 4: ~m: error parsing regexp: missing closing ]: `[a`"},
		{`*`, "filter: position 1: ~u: error parsing regexp: missing argument to repetition operator: `*`"},
		{`~b "(a)\1"`, "filter: position 4: ~b: error parsing regexp: invalid escape sequence: `\\1`"},
		{"~c abc", `filter: position 4: ~c: invalid status "abc" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c 1-", `filter: position 4: ~c: invalid status "1-" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c 1234567890", `filter: position 4: ~c: invalid status "1234567890" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c -1", `filter: position 4: ~c: invalid status "-1" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c x00", `filter: position 4: ~c: invalid status "x00" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c 5x0", `filter: position 4: ~c: invalid status "5x0" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c xxx", `filter: position 4: ~c: invalid status "xxx" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c 5xxx", `filter: position 4: ~c: invalid status "5xxx" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c 499-400", `filter: position 4: ~c: invalid status "499-400" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c 400-", `filter: position 4: ~c: invalid status "400-" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~c 4xx-5xx", `filter: position 4: ~c: invalid status "4xx-5xx" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)`},
		{"~dur abc", `filter: position 6: ~dur: invalid duration "abc" (want a Go duration like 250ms, 1.5s or 2m)`},
		{"~dur >250", `filter: position 6: ~dur: invalid duration "250" (want a Go duration like 250ms, 1.5s or 2m)`},
		{"~dur > -1s", `filter: position 8: ~dur: invalid duration "-1s" (want a Go duration like 250ms, 1.5s or 2m)`},
		{"~dur !=1s", `filter: position 6: ~dur: there is no != comparison: write !(~dur =value)`},
		{"~c &", `filter: position 4: missing argument for ~c`},
		{"~size !", `filter: position 7: missing argument for ~size`},
		{"~dur <>1s", `filter: position 6: ~dur: invalid duration ">1s" (want a Go duration like 250ms, 1.5s or 2m)`},
		{"~size abc", `filter: position 7: ~size: invalid size "abc" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~size 1.5", `filter: position 7: ~size: invalid size "1.5" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~size 1T", `filter: position 7: ~size: invalid size "1T" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~size -1", `filter: position 7: ~size: invalid size "-1" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~size .5k", `filter: position 7: ~size: invalid size ".5k" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~size 1.k", `filter: position 7: ~size: invalid size "1.k" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~size 1.2.3k", `filter: position 7: ~size: invalid size "1.2.3k" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~sizeq 9999999999G", `filter: position 8: ~sizeq: invalid size "9999999999G" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~sizes 99999999999999999999", `filter: position 8: ~sizes: invalid size "99999999999999999999" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~sizes 9999999999.5G", `filter: position 8: ~sizes: invalid size "9999999999.5G" (want bytes like 512, 10k, 1.5MiB or 2G)`},
		{"~marked", `filter: position 1: ~marked is not supported by bodytap: bodytap has no marks (marking flows is a feature of mitmproxy's UI)`},
		{"~marker red", `filter: position 1: ~marker is not supported by bodytap: bodytap has no marks (marking flows is a feature of mitmproxy's UI)`},
		{"~comment x", `filter: position 1: ~comment is not supported by bodytap: bodytap records no comments on exchanges`},
		{"~meta x", `filter: position 1: ~meta is not supported by bodytap: bodytap records no flow metadata`},
		{"~replay", `filter: position 1: ~replay is not supported by bodytap: bodytap only observes requests; it never replays them`},
		{"~replayq", `filter: position 1: ~replayq is not supported by bodytap: bodytap only observes requests; it never replays them`},
		{"~replays", `filter: position 1: ~replays is not supported by bodytap: bodytap only observes requests; it never replays them`},
		{"~s & ~tcp", `filter: position 6: ~tcp is not supported by bodytap: bodytap records only HTTP exchanges`},
		{"~udp", `filter: position 1: ~udp is not supported by bodytap: bodytap records only HTTP exchanges`},
		{"~dns", `filter: position 1: ~dns is not supported by bodytap: bodytap records only HTTP exchanges`},
		{"a\xffb", `filter: position 2: invalid UTF-8`},
		{strings.Repeat("(", 1001) + "a" + strings.Repeat(")", 1001), `filter: position 1001: expression nested too deeply (more than 1000 levels)`},
		{strings.Repeat("!", 1001) + "a", `filter: position 1001: expression nested too deeply (more than 1000 levels)`},
		{strings.Repeat("!(", 501) + "a" + strings.Repeat(")", 501), `filter: position 1001: expression nested too deeply (more than 1000 levels)`},
	}
	for _, tt := range tests {
		f, err := Parse(tt.expr)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want error %s", tt.expr, Format(f.Root), tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.expr, err, tt.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q): error has more than one line", tt.expr)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): error is %T, want *SyntaxError", tt.expr, err)
		}
	}
}

func TestDepth(t *testing.T) {
	// As deep as allowed, and many times over side by side.
	deep := strings.Repeat("(", 1000) + "~s" + strings.Repeat(")", 1000)
	checkRoundTrip(t, mustParse(t, deep))
	wide := strings.Repeat(deep+" ", 20)
	checkRoundTrip(t, mustParse(t, wide))
	nots := strings.Repeat("!", 1000) + "~s"
	f := mustParse(t, nots)
	checkRoundTrip(t, f)
	if !f.Match(sample()) {
		t.Error("an even number of ! does not cancel out")
	}
	// A long chain builds a deep tree, which Match and Format walk.
	chain := mustParse(t, strings.Repeat("~s & ", 20000)+"~q")
	if chain.Match(sample()) {
		t.Error("chain matches")
	}
	checkRoundTrip(t, chain)
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse(`~u "(a"`)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos != 4 {
		t.Fatalf("got %#v, want a *SyntaxError at 4", err)
	}
	var re *syntax.Error
	if !errors.As(err, &re) || re.Code != syntax.ErrMissingParen {
		t.Errorf("error does not wrap the regexp error: %v", err)
	}
	if got := (&SyntaxError{Msg: "x"}).Error(); got != "filter: x" {
		t.Errorf("no position: %q", got)
	}
}

func TestUnsupportedInHelp(t *testing.T) {
	for op := range unsupported {
		if !strings.Contains(Help, op) {
			t.Errorf("Help does not list %s", op)
		}
	}
}

func TestHelpWidth(t *testing.T) {
	for i, line := range strings.Split(Help, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("Help line %d has %d columns: %q", i+1, n, line)
		}
		if strings.ContainsRune(line, '\t') {
			t.Errorf("Help line %d has a tab", i+1)
		}
	}
	// The examples in Help parse.
	for _, ex := range []string{
		"~m POST & ~u /api & !~c 200",
		"~d example.com ~c 5xx",
		`~path "/users/*/orders" | ~route "GET /health"`,
		"~dur >250ms & ~sizes >=1MiB",
		`~hq "^Authorization: Bearer" & ~c 401`,
		`~u "get(Info|Routers)"`, `~b 'name="x"'`, `~b "\d{3}-\d{4}"`,
		`~u "(?-i)/API/"`, "~dur > 1s", "~c 20x", "~c 5..",
	} {
		if !strings.Contains(Help, ex) {
			t.Errorf("Help lacks the example %q", ex)
		}
		mustParse(t, ex)
	}
}

func TestMatch(t *testing.T) {
	type change func(x *bodytap.Exchange)
	setURL := func(s string) change {
		return func(x *bodytap.Exchange) {
			u, err := url.Parse(s)
			if err != nil {
				panic(err)
			}
			x.Request.URL = u
			x.Request.Host = u.Host
		}
	}
	tests := []struct {
		expr   string
		change change // nil: the sample as it is
		want   bool
	}{
		// Flags.
		{"~all", nil, true},
		{"~http", nil, true},
		{"~s", nil, true},
		{"~q", nil, false},
		{"~q", func(x *bodytap.Exchange) { x.Response = bodytap.Response{} }, true},
		{"~s", func(x *bodytap.Exchange) { x.Response = bodytap.Response{} }, false},
		{"~e", nil, false},
		{"~e", func(x *bodytap.Exchange) { x.Err = bodytap.ErrClientGone }, true},
		{"~a", nil, false},
		{"~a", func(x *bodytap.Exchange) { x.Response.Header.Set("Content-Type", "text/css") }, true},
		{"~a", func(x *bodytap.Exchange) { x.Response.Header.Set("Content-Type", "Image/PNG") }, true},
		{"~a", func(x *bodytap.Exchange) { x.Response.Header.Set("Content-Type", "font/woff2") }, true},
		{"~a", func(x *bodytap.Exchange) {
			x.Response.Header.Set("Content-Type", "application/javascript; charset=utf-8")
		}, true},
		{"~a", func(x *bodytap.Exchange) { x.Response.Header.Set("Content-Type", "application/font-woff") }, true},
		{"~a", func(x *bodytap.Exchange) { x.Response.Header.Set("Content-Type", "text/html") }, false},
		{"~a", func(x *bodytap.Exchange) { x.Request.Header.Set("Content-Type", "image/png") }, false}, // response only
		{"~a", func(x *bodytap.Exchange) {
			x.Response.Header = http.Header{"content-type": {"image/png"}} // not canonical
		}, true},
		{"~websocket", nil, false},
		{"~websocket", func(x *bodytap.Exchange) {
			x.Hijacked = true
			x.Request.Header.Set("Upgrade", "WebSocket")
		}, true},
		{"~websocket", func(x *bodytap.Exchange) {
			x.Hijacked = true
			x.Request.Header.Set("Upgrade", "h2c, websocket")
		}, true},
		{"~websocket", func(x *bodytap.Exchange) { x.Request.Header.Set("Upgrade", "websocket") }, false},
		{"~websocket", func(x *bodytap.Exchange) { x.Hijacked = true }, false},

		// Method, case-insensitive.
		{"~m GET", nil, true},
		{"~m get", nil, true},
		{"~m ^G", nil, true},
		{"~m POST", nil, false},
		{"~m ^ET", nil, false},

		// URL, case-sensitive.
		{"~u /v1/users", nil, true},
		{"/v1/users", nil, true},
		{"~u /V1/USERS", nil, true}, // case ignored, as in mitmproxy 11.1+
		{`~u "(?-i)/V1/USERS"`, nil, false},
		{`~u "(?i)/V1/USERS"`, nil, true},
		{"~u ^https://api.example.com/", nil, true},
		{"~u limit=10&sort=desc", nil, true},
		{"~u sort=desc$", nil, true},
		{"~u ^http:", nil, false},
		{"~u /v1", func(x *bodytap.Exchange) { x.Request.URL = nil }, false},
		{"~u ^$", func(x *bodytap.Exchange) { x.Request.URL = nil }, true},
		{"~u /v1 & ~u nope & ~u /v1", nil, false},
		{"~u /v1 & ~u users & ~u orders", nil, true}, // the URL string is reused

		// Domain: host without port, case-insensitive.
		{"~d ^api.example.com$", nil, true},
		{"~d EXAMPLE", nil, true},
		{"~d ^api.example.com$", setURL("https://api.example.com:8443/x"), true},
		{"~d 8443", setURL("https://api.example.com:8443/x"), false},
		{"~d ^::1$", setURL("http://[::1]:8080/x"), true},
		{"~d ^example.org$", func(x *bodytap.Exchange) {
			x.Request.URL = &url.URL{Path: "/x"}
			x.Request.Host = "example.org:80"
		}, true},
		{"~d ^example.org$", func(x *bodytap.Exchange) {
			x.Request.URL = nil
			x.Request.Host = "example.org"
		}, true},
		{"~d ^fe80::1$", func(x *bodytap.Exchange) {
			x.Request.URL = nil
			x.Request.Host = "[fe80::1]:80"
		}, true},

		// Destination: host:port, default port from the scheme.
		{"~dst ^api.example.com:443$", nil, true},
		{"~dst ^api.example.com:80$", setURL("http://api.example.com/"), true},
		{"~dst ^api.example.com:8443$", setURL("https://api.example.com:8443/"), true},
		{`~dst "^\[::1\]:8080$"`, setURL("http://[::1]:8080/"), true},
		{`~dst "^\[::1\]:443$"`, setURL("https://[::1]/"), true},
		{"~dst ^example.org:80$", func(x *bodytap.Exchange) {
			x.Request.URL = nil
			x.Request.Host = "example.org:80"
		}, true},
		{"~dst ^example.org$", func(x *bodytap.Exchange) {
			x.Request.URL = &url.URL{Path: "/"} // no scheme: no default port
			x.Request.Host = "example.org"
		}, true},

		// Source.
		{"~src ^192.0.2.7:", nil, true},
		{"~src :51234$", nil, true},
		{"~src 10.0.0.1", nil, false},

		// Route.
		{`~route "^GET /v1/users/\{id\}/orders$"`, nil, true},
		{"~route POST", nil, false},
		{"~route .", func(x *bodytap.Exchange) { x.Route = "" }, false},

		// Header lines: "Name: value", one per value, canonical names.
		{`~h "^X-Request-Id: abc-123$"`, nil, true},
		{`~hq "^X-Request-Id: abc"`, nil, true},
		{"~hs X-Request-Id", nil, false},
		{`~h "^Set-Cookie: b=2$"`, nil, true},
		{`~hs "^Set-Cookie: a=1$"`, nil, true},
		{"~hq Set-Cookie", nil, false},
		{"~h x-request-id", nil, true}, // case ignored
		{`~h "(?-i)x-request-id"`, nil, false},
		{`~h "(?i)^x-request-id: ABC"`, nil, true},
		{`~h "a=1\nSet-Cookie"`, nil, false}, // one line at a time
		{`~h "^Accept: application/json$"`, nil, true},
		{`~h "^X-Lower: v$"`, func(x *bodytap.Exchange) { x.Request.Header["x-lower"] = []string{"v"} }, true},
		{`~h "(?-i)^x-lower: v$"`, func(x *bodytap.Exchange) { x.Request.Header["x-lower"] = []string{"v"} }, false},
		{`~h "(?-i)^X-WEIRD-Name: v$"`, func(x *bodytap.Exchange) {
			x.Request.Header["x-WEIRD-name"] = []string{"v"}
		}, false},
		{`~h "^X-Weird-Name: v$"`, func(x *bodytap.Exchange) {
			x.Request.Header["x-WEIRD-name"] = []string{"v"}
		}, true},
		{`~h "^Bad Key: v$"`, func(x *bodytap.Exchange) { x.Request.Header["Bad Key"] = []string{"v"} }, true},
		{`~h "^X-Empty: $"`, func(x *bodytap.Exchange) { x.Request.Header["X-Empty"] = []string{""} }, true},
		{"~hs Set-Cookie", func(x *bodytap.Exchange) { x.Response.Status = 0 }, false},
		{"~h Host", nil, false}, // Host is not among the request's header lines
		{"~h " + strings.Repeat("a", 500), func(x *bodytap.Exchange) {
			x.Request.Header.Set("Long", strings.Repeat("a", 1000))
		}, true},

		// Bodies: the kept (decoded) copy; . matches newline.
		{`~b find\sme`, nil, true},
		{`~bq "find me"`, nil, true},
		{`~bs "find me"`, nil, false},
		{`~bs "Ada"`, nil, true},
		{`~bs "42,.\"name"`, nil, true}, // across the newline
		{`~b "(?m)^\"name"`, nil, true},
		{`~bq Ada`, nil, false},
		{`~b ADA`, nil, true},
		{`~b "(?-i)ADA"`, nil, false},
		{`~b Ada`, func(x *bodytap.Exchange) { x.Response.Status = 0 }, false},
		{`~b Ada`, func(x *bodytap.Exchange) { x.Response.Body.Withheld = true }, false},
		{`~bs ""`, func(x *bodytap.Exchange) { x.Response.Body.Withheld = true }, false},
		{`~bq ""`, func(x *bodytap.Exchange) { x.Request.Body = bodytap.Body{} }, true},
		{`~b "\x01\x00"`, func(x *bodytap.Exchange) { x.Response.Body.Bytes = []byte{1, 0, 0xff, 2} }, true},

		// Content-Type, case-insensitive, request or response.
		{"~t json", nil, true},
		{"~t JSON", nil, true},
		{"~tq charset=utf-8", nil, true},
		{"~ts charset", nil, false},
		{"~ts ^application/json$", nil, true},
		{"~t html", nil, false},
		{"~t html", func(x *bodytap.Exchange) { x.Response.Header.Set("Content-Type", "text/html") }, true},
		{"~tq html", func(x *bodytap.Exchange) { x.Response.Header.Set("Content-Type", "text/html") }, false},
		{"~ts json", func(x *bodytap.Exchange) { x.Response.Status = 0 }, false},
		{"~tq ^$", func(x *bodytap.Exchange) { x.Request.Header.Del("Content-Type") }, false},

		// Status.
		{"~c 200", nil, true},
		{"~c 201", nil, false},
		{"~c 2xx", nil, true},
		{"~c 2..", nil, true},
		{"~c 20x", nil, true},
		{"~c 21x", nil, false},
		{"~c 200-299", nil, true},
		{"~c 201-299", nil, false},
		{"~c 5xx", func(x *bodytap.Exchange) { x.Response.Status = 503 }, true},
		{"~c 5xx", func(x *bodytap.Exchange) { x.Response.Status = 600 }, false},
		{"~c 100-999", func(x *bodytap.Exchange) { x.Response.Status = 0 }, false},

		// Durations.
		{"~dur >250ms", nil, true},
		{"~dur >300ms", nil, false},
		{"~dur >=300ms", nil, true},
		{"~dur 300ms", nil, true},
		{"~dur 301ms", nil, false},
		{"~dur <1s", nil, true},
		{"~dur <300ms", nil, false},
		{"~dur <=300ms", nil, true},
		{"~dur =300ms", nil, true},
		{"~dur =0s", nil, false},
		{"~dur =0s", func(x *bodytap.Exchange) { x.Duration = 0 }, true},

		// Sizes: request 15, response 2048.
		{"~sizeq =15", nil, true},
		{"~sizeq >15", nil, false},
		{"~sizes =2k", nil, true},
		{"~sizes >=2KiB", nil, true},
		{"~sizes >2k", nil, false},
		{"~size =2k", nil, true}, // the larger one
		{"~size <16", nil, false},
		{"~size <16", func(x *bodytap.Exchange) { x.Response.Body.Size = 0 }, true},
		{"~size >1M", func(x *bodytap.Exchange) { x.Request.Body.Size = 3 << 20 }, true},

		// Path globs; the sample's path is /v1/users/42/orders.
		{"~path /v1/users/42/orders", nil, true},
		{"~path /v1/users/42", nil, false}, // no wildcard: the whole path
		{"~path /v1/users/*/orders", nil, true},
		{"~path /v1/*/orders", nil, false}, // * stays in one segment
		{"~path /v1/**/orders", nil, true},
		{"~path /v1/**", nil, true},
		{"~path /v1/*", nil, false},
		{"~path /v1/users/*/*", nil, true},
		{"~path /v?/users/4?/orders", nil, true},
		{"~path /v1?users/42/orders", nil, false}, // ? is not /
		{"~path **", nil, true},
		{"~path **/orders", nil, true},
		{"~path *", nil, false},
		{"~path /v1/users/42/order", nil, false},
		{"~path /v1/users/42/orders/", nil, false},
		{"~path /", func(x *bodytap.Exchange) { x.Request.URL.Path = "/" }, true},
		{"~path /a%2Fb", func(x *bodytap.Exchange) { x.Request.URL.Path = "/a%2Fb" }, true},
		{"~path /é/?", func(x *bodytap.Exchange) { x.Request.URL.Path = "/é/ü" }, true},
		{`~path ""`, func(x *bodytap.Exchange) { x.Request.URL = nil }, true},

		// Connectives.
		{"~m GET & ~c 200", nil, true},
		{"~m GET ~c 200", nil, true},
		{"~m GET & ~c 404", nil, false},
		{"~m POST | ~c 200", nil, true},
		{"!~c 200", nil, false},
		{"!(~m POST | ~c 404)", nil, true},
		{"~m POST ~c 404 | ~c 200", nil, false},  // POST & (404 | 200)
		{"~m POST & ~c 404 | ~c 200", nil, true}, // (POST & 404) | 200
	}
	for _, tt := range tests {
		x := sample()
		if tt.change != nil {
			tt.change(x)
		}
		f := mustParse(t, tt.expr)
		if got := f.Match(x); got != tt.want {
			t.Errorf("Parse(%q).Match = %v, want %v", tt.expr, got, tt.want)
		}
		// The canonical form means the same.
		g := mustParse(t, Format(f.Root))
		if got := g.Match(x); got != tt.want {
			t.Errorf("Parse(Format(%q)) = %q: Match = %v, want %v", tt.expr, g, got, tt.want)
		}
	}
}

func TestMatchZeroExchange(t *testing.T) {
	x := &bodytap.Exchange{}
	for _, expr := range []string{
		"~all", "~q", "~u ^$", "~d ^$", "~dst ^$", "~path ''", "!~h '' & ~bq '' & !~bs ''",
		"~sizes =0", "~dur =0s", "!~e", "!~websocket", "!~a",
	} {
		if !mustParse(t, expr).Match(x) {
			t.Errorf("%q does not match the zero Exchange", expr)
		}
	}
	if mustParse(t, "~all").Match(nil) {
		t.Error("a nil Exchange matches ~all")
	}
}

// TestMatchAnyStatusInteger: codes outside 100-999 parse, as in
// mitmproxy, and match nothing, not even an exchange without a response.
func TestMatchAnyStatusInteger(t *testing.T) {
	x := sample()
	x.Response.Status = 200
	for expr, want := range map[string]bool{"~c 0200": true, "~c 0": false, "~c 10": false, "~c 0-199": false, "~c 0-200": true} {
		if got := mustParse(t, expr).Match(x); got != want {
			t.Errorf("%q against status 200: %v, want %v", expr, got, want)
		}
	}
	for _, expr := range []string{"~c 0", "~c 0-999"} {
		if mustParse(t, expr).Match(&bodytap.Exchange{}) {
			t.Errorf("%q matches an exchange without a response", expr)
		}
	}
}

// TestMatchHandBuilt checks trees built without Parse.
func TestMatchHandBuilt(t *testing.T) {
	x := sample()
	tests := []struct {
		root Node
		want bool
	}{
		{Match{Op: OpMethod, Pattern: "get"}, true}, // no Re: compiled with the flags
		{Match{Op: OpMethod, Pattern: "("}, false},  // does not compile
		{Match{Op: "~nope", Pattern: "x"}, false},
		{Flag{Op: "~nope"}, false},
		{Compare{Op: OpDuration, Cmp: "~", Value: 1}, false},
		{Compare{Op: "~nope", Cmp: "=", Value: 1}, false},
		{&Flag{Op: OpAll}, false}, // pointers are not the nodes Parse builds
		{And{X: nil, Y: Flag{OpAll}}, true},
		{Not{}, false},
	}
	for _, tt := range tests {
		f := &Filter{Root: tt.root}
		if got := f.Match(x); got != tt.want {
			t.Errorf("Match(%#v) = %v, want %v", tt.root, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", ""},
		{"~c 404", "~c 404"},
		{"~c 5..", "~c 5xx"},
		{"~c 500-599", "~c 5xx"},
		{"~c 200-209", "~c 20x"},
		{"~c 404-405", "~c 404-405"},
		{"~c 100-999", "~c 100-999"},
		{"~dur 1s", "~dur >=1s"},
		{"~dur ==90s", "~dur =1m30s"},
		{"~size 1536", "~size >=1536"},
		{"~size 1.5k", "~size >=1536"},
		{"~size 1.5M", "~size >=1536KiB"},
		{"~size 2048k", "~size >=2MiB"},
		{"~size <1g", "~size <1GiB"},
		{"~size =0", "~size =0"},
		{`~u 'a b'`, `~u "a b"`},
		{`~u 'a"b'`, `~u "a\"b"`},
		{`~path "a\\"`, `~path a\`},
		{`~path "a\\\\"`, `~path a\\`},
		{`~path "a b\\"`, `~path "a b\\"`},
		{`~path "\\'"`, `~path "\\'"`},
		{`~path "\\\""`, `~path "\\\""`},
		{`~u "a\\\\"`, `~u a\\`},
		{`~u "\d"`, `~u \d`},
		{`~u "(a|b)"`, `~u "(a|b)"`},
		{`~u "~x"`, `~u "~x"`},
		{`~u "|"`, `~u "|"`},
		{`~u ""`, `~u ""`},
		{"~path /a/**", "~path /a/**"},
		{`~path "/a b/*"`, `~path "/a b/*"`},
		{"~route \"GET /{id}\"", "~route \"GET /{id}\""},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.expr)
		got := Format(f.Root)
		if got != tt.want {
			t.Errorf("Format(Parse(%q)) = %q, want %q", tt.expr, got, tt.want)
		}
		checkRoundTrip(t, f)
	}
}

// checkRoundTrip checks that the canonical form of f parses to an equal
// tree and is a fixed point.
func checkRoundTrip(t testing.TB, f *Filter) {
	t.Helper()
	s := Format(f.Root)
	g, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q) = %#v; Parse(Format) = Parse(%q): %v", f.String(), f.Root, s, err)
	}
	if !equalNode(f.Root, g.Root) {
		t.Fatalf("Parse(%q) = %#v;\nParse(Format) = Parse(%q) = %#v", f.String(), f.Root, s, g.Root)
	}
	if s2 := Format(g.Root); s2 != s {
		t.Fatalf("Format is not a fixed point: %q, then %q", s, s2)
	}
}

// globRegexp translates a glob to an equivalent regular expression: an
// independent implementation to check matchGlob against.
func globRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(glob); {
		switch {
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(`.*`)
			for i < len(glob) && glob[i] == '*' {
				i++
			}
			continue
		case glob[i] == '*':
			b.WriteString(`[^/]*`)
		case glob[i] == '?':
			b.WriteString(`[^/]`)
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		}
		i++
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

func TestGlob(t *testing.T) {
	tests := []struct {
		glob, path string
		want       bool
	}{
		{"", "", true},
		{"", "/", false},
		{"/", "/", true},
		{"/a", "/a", true},
		{"/a", "/ab", false},
		{"/a", "/", false},
		{"*", "", true},
		{"*", "abc", true},
		{"*", "a/b", false},
		{"**", "", true},
		{"**", "a/b/c", true},
		{"***", "a/b", true},
		{"/*", "/", true},
		{"/*", "/a", true},
		{"/*", "/a/", false},
		{"/**", "/a/", true},
		{"/api/**", "/api/", true},
		{"/api/**", "/api", false},
		{"/api/**", "/api/a/b", true},
		{"/api/**/x", "/api/x", false},
		{"/api/**/x", "/api//x", true},
		{"/api/**/x", "/api/a/b/x", true},
		{"/api/*/x", "/api/a/b/x", false},
		{"/api/*/x", "/api//x", true},
		{"*.css", "main.css", true},
		{"*.css", "a/main.css", false},
		{"**.css", "a/main.css", true},
		{"/a*b*c", "/aXbYc", true},
		{"/a*b*c", "/abbc", true},
		{"/a*b*c", "/ab/c", false},
		{"/a*b**c", "/ab/c", true},
		{"?", "é", true},
		{"?", "", false},
		{"?", "/", false},
		{"??", "é", false},
		{"/é*", "/éé", true},
		{"a?c", "abc", true},
		{"a?c", "a/c", false},
		{"*a*a*a*a*a*a*a*b", strings.Repeat("a", 100), false},
		{"**a**a**a**a**a**b", strings.Repeat("a/", 100), false},
		{strings.Repeat("a*", 200), strings.Repeat("a", 400), true},
		{strings.Repeat("a*", 200) + "/", strings.Repeat("a", 400), false},
		{"/x", "/\xff", false},
		{"/?", "/\xff", true},
		{"/\xff", "/\xff", true},
		{"/\xfe", "/\xff", false},
	}
	for _, tt := range tests {
		if got := matchGlob(tt.glob, tt.path); got != tt.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tt.glob, tt.path, got, tt.want)
		}
		if utf8.ValidString(tt.glob) && utf8.ValidString(tt.path) {
			if want := globRegexp(tt.glob).MatchString(tt.path); want != tt.want {
				t.Errorf("test is wrong: regexp says %q, %q: %v", tt.glob, tt.path, want)
			}
		}
	}
}

// TestGlobRandom compares matchGlob with the regexp translation on random
// globs and paths over a small alphabet.
func TestGlobRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func(alphabet []string, n int) string {
		var b strings.Builder
		for range r.IntN(n) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	globAlpha := []string{"a", "b", "/", "*", "**", "?", "é"}
	pathAlpha := []string{"a", "b", "/", "é"}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		glob, path := gen(globAlpha, 8), gen(pathAlpha, 10)
		want := globRegexp(glob).MatchString(path)
		if got := matchGlob(glob, path); got != want {
			t.Fatalf("matchGlob(%q, %q) = %v, want %v", glob, path, got, want)
		}
	}
}

func TestGlobLong(t *testing.T) {
	// Longer than the fixed bit sets: the automaton grows on the heap.
	glob := strings.Repeat("/*", 300)
	path := strings.Repeat("/x", 300)
	if !matchGlob(glob, path) || matchGlob(glob, path+"/") || !matchGlob(glob+"/", path+"/") {
		t.Error("long glob")
	}
}

func TestMatchAllocs(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	x := sample()
	for _, expr := range []string{
		"~m GET", "~d example", "~dst :443$", "~src 192", "~route users",
		`~h "^Set-Cookie: b=2$"`, "~hq nothing", "~hs nothing", "~b nothing",
		"~t nothing", "~a", "~websocket", "~c 5xx", "~dur >1s", "~size >1M",
		"~path /v1/**/orders", "~path /nothing/*", "!~e & (~q | ~s)",
	} {
		f := mustParse(t, expr)
		f.Match(x) // warm the pools
		if n := testing.AllocsPerRun(100, func() { f.Match(x) }); n != 0 {
			t.Errorf("Match(%q) allocates %v times per call", expr, n)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	x := sample()
	for _, expr := range []string{
		"~m POST & ~u /api & !~c 200",
		`~h "^Set-Cookie: b=2$"`,
		"~b nothing",
		"~path /v1/**/orders",
	} {
		f := mustParse(b, expr)
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Match(x)
			}
		})
	}
}

// FuzzParse checks that Parse never panics, that what it parses prints
// back (Format) to an expression that parses to the same tree, and that
// Match never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", " ", "~all", "~a", "~e", "~http", "~q", "~s", "~websocket",
		"~m POST & ~u /api & !~c 200", "a b | c", "a | b c", "!(a & b) | !!c",
		`~u "a b" & ~b '\d+' & ~h "\"x\""`, `~u "\\"`, `"\\\\'"`,
		"~d example.com ~c 5xx", "~c 400-499", "~c 5..", "~c 20x",
		"~dur >250ms", "~dur > 1s", "~dur 1s", "~size >=1.5MiB", "~sizeq <10k", "~sizes =0",
		"~path /api/**/x", "~path '/a b/*'", "~route {id}", "~dst :443", "~src ^10\\.",
		"~hq ^X: y$", "~hs x", "~bq x", "~bs x", "~t json", "~tq x", "~ts x",
		"(", ")", "()", "~", "~x", "~marked", "&", "a &", "~m", `"abc`, "a\xffb",
		"~u a&b|c!d~e", "(a)(b)", "~q&~s|!~e", "é ~m", "~c 1000", "~dur <>1s",
	} {
		f.Add(s)
	}
	x := sample()
	zero := &bodytap.Exchange{}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %T, want *SyntaxError", expr, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse(%q): error has more than one line: %v", expr, err)
			}
			return
		}
		if flt.String() != expr {
			t.Fatalf("String() = %q, want %q", flt.String(), expr)
		}
		checkRoundTrip(t, flt)
		g := mustParse(t, Format(flt.Root))
		for _, ex := range []*bodytap.Exchange{x, zero} {
			if flt.Match(ex) != g.Match(ex) {
				t.Fatalf("%q and its canonical form %q disagree", expr, g.String())
			}
		}
	})
}
