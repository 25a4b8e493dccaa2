package bodytap

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/redact"
	"github.com/bodytap/bodytap/internal/testutil"
)

const red = DefaultReplacement

// prepTap returns a Tap configured by c, for calling prepare directly.
func prepTap(tb testing.TB, c Config) *Tap {
	tb.Helper()
	t := New(c)
	tb.Cleanup(func() { t.Close() })
	return t
}

// jsonExchange returns an exchange whose response body is body, sent with
// the given Content-Type.
func bodyExchange(ct string, body []byte) *Exchange {
	x := &Exchange{}
	x.url = url.URL{Scheme: "http", Host: "example.com", Path: "/"}
	x.Request = Request{Method: "GET", URL: &x.url, Header: http.Header{}}
	x.Response = Response{
		Status: 200,
		Header: http.Header{},
		Body:   Body{Bytes: body, Size: int64(len(body)), EOF: true},
	}
	if ct != "" {
		x.Response.Header.Set("Content-Type", ct)
	}
	return x
}

// redactedJSON runs the default redaction, or r, on a JSON response body.
func redactedJSON(tb testing.TB, r Redaction, in string) Body {
	tb.Helper()
	x := bodyExchange("application/json", []byte(in))
	prepTap(tb, Config{Redact: r}).prepare(x)
	return x.Response.Body
}

var sensitiveHeaders = []string{
	"Authorization", "Proxy-Authorization", "X-Authorization",
	"X-Auth-Token", "Token", "X-Csrf-Token", "X-Amz-Security-Token",
	"X-Client-Secret", "Secret",
	"X-Api-Key", "Api-Key", "Apikey", "X-Apikey", "Api_key",
	"X-Password", "Password", "X-Passwd",
	"X-Session-Id", "Session",
	"X-Credential", "X-Credentials",
	"X-Private-Key", "Private_key",
	// Since issue 19.
	"X-Forwarded-For", "Signature", "X-Hub-Signature-256", "X-Csrftoken", "X-Xsrf-Token", "X-Auth",
}

var plainHeaders = []string{
	"Accept", "Content-Type", "User-Agent", "X-Request-Id", "Www-Authenticate", "Cache-Control", "X-Author", "X-Pinned",
}

func TestRedactHeaders(t *testing.T) {
	tap := prepTap(t, Config{})
	mk := func() http.Header {
		h := http.Header{}
		for _, k := range sensitiveHeaders {
			h[k] = []string{"secret-" + k, "second-" + k}
		}
		for _, k := range plainHeaders {
			h[k] = []string{"plain-" + k}
		}
		h["Empty-Token"] = []string{""}
		return h
	}
	x := bodyExchange("", nil)
	x.Request.Header = mk()
	x.Response.Header = mk()
	x.Response.Trailer = mk()
	x.Response.Informational = []Informational{{Status: 103, Header: mk()}}
	tap.prepare(x)
	for where, h := range map[string]http.Header{
		"request":       x.Request.Header,
		"response":      x.Response.Header,
		"trailer":       x.Response.Trailer,
		"informational": x.Response.Informational[0].Header,
	} {
		for _, k := range sensitiveHeaders {
			if got, want := h[k], []string{red, red}; !slices.Equal(got, want) {
				t.Errorf("%s %s: got %q, want %q", where, k, got, want)
			}
		}
		for _, k := range plainHeaders {
			if got, want := h[k], []string{"plain-" + k}; !slices.Equal(got, want) {
				t.Errorf("%s %s: got %q, want %q", where, k, got, want)
			}
		}
		if got := h["Empty-Token"]; !slices.Equal(got, []string{""}) {
			t.Errorf("%s Empty-Token: got %q, want an empty value kept", where, got)
		}
		if len(h) != len(sensitiveHeaders)+len(plainHeaders)+1 {
			t.Errorf("%s: got %d headers, want every name kept", where, len(h))
		}
	}
}

func TestRedactCookies(t *testing.T) {
	cases := []struct {
		name, header, in, want string
	}{
		{"one cookie", "Cookie", "sid=abc123", "sid=" + red},
		{"several cookies", "Cookie", "sid=abc123; theme=dark;lang=en", "sid=" + red + "; theme=" + red + ";lang=" + red},
		{"cookie without a name", "Cookie", "lonely; a=1", red + "; a=" + red},
		{"empty value kept", "Cookie", "a=; b=2", "a=; b=" + red},
		{"set-cookie keeps attributes", "Set-Cookie", "sid=abc123; Path=/; HttpOnly", "sid=" + red + "; Path=/; HttpOnly"},
		{"set-cookie, all attributes", "Set-Cookie",
			"id=a3fWa; Expires=Thu, 21 Oct 2021 07:28:00 GMT; Max-Age=3600; Domain=example.com; Path=/docs; Secure; HttpOnly; SameSite=Lax; Partitioned",
			"id=" + red + "; Expires=Thu, 21 Oct 2021 07:28:00 GMT; Max-Age=3600; Domain=example.com; Path=/docs; Secure; HttpOnly; SameSite=Lax; Partitioned"},
		{"set-cookie, quoted value", "Set-Cookie", `q="a b"; Path=/`, "q=" + red + "; Path=/"},
		{"set-cookie, no spaces", "Set-Cookie", "sid=abc;Path=/", "sid=" + red + ";Path=/"},
		{"set-cookie, deleted", "Set-Cookie", "sid=; Max-Age=0", "sid=; Max-Age=0"},
	}
	tap := prepTap(t, Config{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := bodyExchange("", nil)
			x.Request.Header.Set(c.header, c.in)
			x.Response.Header.Set(c.header, c.in)
			tap.prepare(x)
			if got := x.Request.Header.Get(c.header); got != c.want {
				t.Errorf("request: got %q, want %q", got, c.want)
			}
			if got := x.Response.Header.Get(c.header); got != c.want {
				t.Errorf("response: got %q, want %q", got, c.want)
			}
		})
	}
}

// defaultFields are field names that the defaults hide, and plainFields
// names that they do not.
var (
	defaultFields = []string{
		"password", "Password", "user_password", "passwd", "secret", "client_secret", "clientSecret",
		"token", "access_token", "refresh_token", "server_token", "idToken",
		"api_key", "apikey", "api-key", "apiKey", "API_KEY", "authorization", "Authorization",
		"credential", "credentials", "private_key", "privateKey",
		"cvv", "CVV", "ssn", "card_number", "cardNumber", "credit_card", "creditCard", "credit-card",
		// Since issue 19: the trackers' lists and the words people leak.
		"cvv2", "card", "session", "pass", "pwd", "passphrase", "pin", "userPin", "otp", "auth", "jwt",
		"session_id", "sessionid", "csrf", "_xsrf", "sig", "signature", "connect.sid", "PHPSESSID",
		"set_cookie", "x_forwarded_for", "access_key", "consumer_secret",
	}
	plainFields = []string{"user", "email", "id", "ssn_hint", "q", "key", "passenger", "pinned", "author",
		"zipcode", "status_code", "code", "state", "primary_key", "shipping"}
)

func TestRedactQuery(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"one", "user=bob&password=hunter2", "user=bob&password=" + red},
		{"order and layout kept", "b=2&token=t&a=1&token=u", "b=2&token=" + red + "&a=1&token=" + red},
		{"escaped name", "pass%77ord=x&access%5Ftoken=y", "pass%77ord=" + red + "&access%5Ftoken=" + red},
		{"semicolon", "a=1;token=x", "a=1;token=" + red},
		{"empty value kept", "token=&a=1", "token=&a=1"},
		{"no value", "token&a=1", "token&a=1"},
		{"value with '='", "token=a=b&c=d", "token=" + red + "&c=d"},
	}
	for _, f := range defaultFields {
		cases = append(cases, struct{ name, in, want string }{f, "x=1&" + f + "=v%20v&y=2", "x=1&" + f + "=" + red + "&y=2"})
	}
	for _, f := range plainFields {
		cases = append(cases, struct{ name, in, want string }{f, f + "=v", f + "=v"})
	}
	tap := prepTap(t, Config{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := bodyExchange("", nil)
			x.url.RawQuery = c.in
			tap.prepare(x)
			if got := x.Request.URL.RawQuery; got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if _, err := url.ParseQuery(c.in); err != nil {
				return
			}
			if _, err := url.ParseQuery(x.Request.URL.RawQuery); err != nil {
				t.Errorf("redacted query does not parse: %v", err)
			}
		})
	}

	t.Run("userinfo and a URL not the exchange's own", func(t *testing.T) {
		x := bodyExchange("", nil)
		u, _ := url.Parse("https://bob:hunter2@example.com/p?token=abc&x=1")
		x.Request.URL = u
		tap.prepare(x)
		if got, want := x.Request.URL.String(), "https://bob:%5BREDACTED%5D@example.com/p?token="+red+"&x=1"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got, want := u.String(), "https://bob:hunter2@example.com/p?token=abc&x=1"; got != want {
			t.Errorf("the URL given was changed: got %q, want %q", got, want)
		}
	})

	t.Run("URLs in headers", func(t *testing.T) {
		x := bodyExchange("", nil)
		x.Request.Header.Set("Referer", "https://example.com/login?next=/&token=abc#frag")
		x.Response.Header.Set("Location", "/callback?code=1&access_token=xyz")
		x.Response.Header.Set("Content-Location", "/plain?x=1")
		tap.prepare(x)
		if got, want := x.Request.Header.Get("Referer"), "https://example.com/login?next=/&token="+red+"#frag"; got != want {
			t.Errorf("Referer: got %q, want %q", got, want)
		}
		if got, want := x.Response.Header.Get("Location"), "/callback?code=1&access_token="+red; got != want {
			t.Errorf("Location: got %q, want %q", got, want)
		}
		if got, want := x.Response.Header.Get("Content-Location"), "/plain?x=1"; got != want {
			t.Errorf("Content-Location: got %q, want %q", got, want)
		}
	})
}

// jsonCase is a JSON redaction case: want is in with values replaced.
type jsonCase struct{ name, in, want string }

func TestRedactJSON(t *testing.T) {
	q := `"` + red + `"`
	cases := []jsonCase{
		{"flat", `{"user":"bob","password":"hunter2"}`, `{"user":"bob","password":` + q + `}`},
		{"every kind of value",
			`{"token":"s","secret":12.5e3,"apikey":true,"passwd":null,"credential":{"a":[1,{"b":"}"}]},"ssn":[1,"]",[]],"ok":"x"}`,
			`{"token":` + q + `,"secret":` + q + `,"apikey":` + q + `,"passwd":` + q + `,"credential":` + q + `,"ssn":` + q + `,"ok":"x"}`},
		{"nested", `{"a":{"b":{"client_secret":"s","c":1}},"d":2}`, `{"a":{"b":{"client_secret":` + q + `,"c":1}},"d":2}`},
		{"objects in arrays", `[{"token":"t1"},{"x":[{"access_token":"t2"}]},3,"password"]`,
			`[{"token":` + q + `},{"x":[{"access_token":` + q + `}]},3,"password"]`},
		{"array under a sensitive key", `{"tokens":["a","b"],"n":[1]}`, `{"tokens":` + q + `,"n":[1]}`},
		{"empty containers", `{"token":{},"a":{},"b":[],"secret":[]}`, `{"token":` + q + `,"a":{},"b":[],"secret":` + q + `}`},
		{"layout kept", "{\n  \"id\" : 1.50,\n\t\"password\"\t:\t\"x\\\"y\" ,\r\n  \"list\": [ 1 , 2 ],\n  \"é\": \"\\u00e9\"\n}\n",
			"{\n  \"id\" : 1.50,\n\t\"password\"\t:\t" + q + " ,\r\n  \"list\": [ 1 , 2 ],\n  \"é\": \"\\u00e9\"\n}\n"},
		{"escaped key", `{"pass\u0077ord":"x","a\"b":1}`, `{"pass\u0077ord":` + q + `,"a\"b":1}`},
		{"strings that look like keys stay", `{"note":"\"password\": \"x\"","k":"token"}`, `{"note":"\"password\": \"x\"","k":"token"}`},
		{"NDJSON", "{\"token\":1}\n{\"a\":2}\n{\"secret\":\"s\"}\n", "{\"token\":" + q + "}\n{\"a\":2}\n{\"secret\":" + q + "}\n"},
		{"JSON text sequence", "\x1e{\"token\":1}\n\x1e{\"a\":2}\n", "\x1e{\"token\":" + q + "}\n\x1e{\"a\":2}\n"},
		{"byte order mark", "\xEF\xBB\xBF{\"token\":1}", "\xEF\xBB\xBF{\"token\":" + q + "}"},
		{"nothing to hide", `{"a":[1,2,{"b":null}],"c":"d"}`, `{"a":[1,2,{"b":null}],"c":"d"}`},
		{"scalar document", `"password"`, `"password"`},
	}
	for _, f := range defaultFields {
		cases = append(cases, jsonCase{"field " + f, `{"` + f + `":"v","x":1}`, `{"` + f + `":` + q + `,"x":1}`})
	}
	for _, f := range plainFields {
		cases = append(cases, jsonCase{"plain " + f, `{"` + f + `":"v"}`, `{"` + f + `":"v"}`})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := redactedJSON(t, Redaction{}, c.in)
			if got := string(b.Bytes); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if b.Redacted != (c.in != c.want) {
				t.Errorf("Redacted: got %v, want %v", b.Redacted, c.in != c.want)
			}
			if b.Size != int64(len(c.in)) {
				t.Errorf("Size: got %d, want %d, the real size", b.Size, len(c.in))
			}
			if json.Valid([]byte(c.in)) && !json.Valid(b.Bytes) {
				t.Errorf("redacted JSON is not valid: %s", b.Bytes)
			}
		})
	}
}

func TestRedactJSONTruncated(t *testing.T) {
	q := `"` + red + `"`
	cases := []jsonCase{
		{"cut in a sensitive string", `{"user":"bob","password":"hun`, `{"user":"bob","password":` + q},
		{"cut in an escape", `{"token":"ab\`, `{"token":` + q},
		{"cut in a sensitive object", `{"token":{"a":[1,"}`, `{"token":` + q},
		{"cut in a sensitive number", `{"token": 12`, `{"token": ` + q},
		{"cut in a sensitive literal", `{"token":tr`, `{"token":` + q},
		{"cut after the colon", `{"password": `, `{"password": `},
		{"cut in a key", `{"a":1,"passw`, `{"a":1,"passw`},
		{"cut after a value", `[{"a":1},{"secret":"x"},{"b`, `[{"a":1},{"secret":` + q + `},{"b`},
		{"cut deep", `{"a":[{"b":{"api_key":"k"},"c":[1,2`, `{"a":[{"b":{"api_key":` + q + `},"c":[1,2`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := bodyExchange("application/json", []byte(c.in))
			x.Response.Body.Size = 1 << 20
			x.Response.Body.Truncated = true
			prepTap(t, Config{}).prepare(x)
			if got := string(x.Response.Body.Bytes); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			if !x.Response.Body.Truncated || x.Response.Body.Size != 1<<20 {
				t.Errorf("Truncated %v, Size %d: want true and the real size", x.Response.Body.Truncated, x.Response.Body.Size)
			}
		})
	}
}

func TestRedactJSONInvalid(t *testing.T) {
	q := `"` + red + `"`
	deep := strings.Repeat("[", redact.MaxJSONDepth+1) + `{"token":"x"}` + strings.Repeat("]", redact.MaxJSONDepth+1)
	cases := []jsonCase{
		{"double comma", `{"a": 1,, "password": "x", "b": 2}`, `{"a": 1,, "password": ` + q + `, "b": 2}`},
		{"single quotes", `{'password': 'x', "ok": 1}`, `{'password': ` + q + `, "ok": 1}`},
		{"bare keys", `{password: hunter2, user: bob}`, `{password: ` + q + `, user: bob}`},
		{"stray quote before a key", `{"a": "x, "password": "y"}`, `{"a": "x, "password": ` + q + `}`},
		{"XSSI prefix", ")]}'\n{\"token\":\"t\",\"a\":[1]}", ")]}'\n{\"token\":" + q + ",\"a\":[1]}"},
		{"NaN", `{"token": NaN, "a": 1}`, `{"token": ` + q + `, "a": 1}`},
		{"trailing comma", `{"secret":{"x":1},}`, `{"secret":` + q + `,}`},
		{"unbalanced sensitive object", `{"a":1} } {"token":{"b":[`, `{"a":1} } {"token":` + q},
		{"too deep", deep, strings.Repeat("[", redact.MaxJSONDepth+1) + `{"token":` + q + `}` + strings.Repeat("]", redact.MaxJSONDepth+1)},
		{"not JSON at all", "\x00\x01{\"\xff", "\x00\x01{\"\xff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := redactedJSON(t, Redaction{}, c.in)
			if c.name == "not JSON at all" {
				if !b.Withheld || b.Bytes != nil {
					t.Fatalf("got %q, Withheld %v; want a withheld copy", b.Bytes, b.Withheld)
				}
				return
			}
			if got := string(b.Bytes); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestRedactJSONNotUTF8(t *testing.T) {
	for _, in := range [][]byte{
		[]byte("\xFF\xFE{\x00\"\x00"),
		[]byte("{\x00\"\x00t\x00o\x00k\x00e\x00n\x00\"\x00"),
	} {
		b := redactedJSON(t, Redaction{}, string(in))
		if !b.Withheld || b.Bytes != nil || b.Err == nil || !strings.HasPrefix(b.Err.Error(), "bodytap: ") {
			t.Errorf("%q: got %q, Withheld %v, Err %v; want withheld with a bodytap: error", in, b.Bytes, b.Withheld, b.Err)
		}
	}
}

func TestRedactJSONPaths(t *testing.T) {
	q := `"` + red + `"`
	r := Redaction{JSONPaths: []string{"user.email", "items[*].card", "$.a.b", "$..iban", "[1].x", `$["odd.key"]`, "list[1]", "m.*.v", " "}}
	cases := []jsonCase{
		{"dotted", `{"user":{"email":"e","name":"n"},"email":"kept"}`, `{"user":{"email":` + q + `,"name":"n"},"email":"kept"}`},
		{"any element", `{"items":[{"card":"1"},{"card":{"n":2}},{"x":3}]}`, `{"items":[{"card":` + q + `},{"card":` + q + `},{"x":3}]}`},
		{"dollar", `{"a":{"b":[1],"c":2},"b":3}`, `{"a":{"b":` + q + `,"c":2},"b":3}`},
		{"any depth", `{"iban":1,"x":{"y":[{"iban":"DE"}]}}`, `{"iban":` + q + `,"x":{"y":[{"iban":` + q + `}]}}`},
		{"root index", `[{"x":1},{"x":2,"y":3}]`, `[{"x":1},{"x":` + q + `,"y":3}]`},
		{"quoted key", `{"odd.key":1,"odd":{"key":2}}`, `{"odd.key":` + q + `,"odd":{"key":2}}`},
		{"index", `{"list":[0,1,2]}`, `{"list":[0,` + q + `,2]}`},
		{"wildcard key", `{"m":{"a":{"v":1,"w":2},"b":{"v":3}}}`, `{"m":{"a":{"v":` + q + `,"w":2},"b":{"v":` + q + `}}}`},
		{"case matters in paths", `{"User":{"email":"e"}}`, `{"User":{"email":"e"}}`},
		{"textual fallback uses the last name", `{"user": {"email": "e",, }}`, `{"user": {"email": ` + q + `,, }}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(redactedJSON(t, r, c.in).Bytes); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestRedactForm(t *testing.T) {
	in := "username=bob&password=hunter2&access_token=abc&remember=1&client_secret="
	x := bodyExchange("", nil)
	x.Request.Method = "POST"
	x.Request.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	x.Request.Body = Body{Bytes: []byte(in), Size: int64(len(in)), EOF: true}
	prepTap(t, Config{}).prepare(x)
	b := x.Request.Body
	want := "username=bob&password=" + red + "&access_token=" + red + "&remember=1&client_secret="
	if got := string(b.Bytes); got != want || !b.Redacted || b.Size != int64(len(in)) {
		t.Errorf("got %q, Redacted %v, Size %d; want %q, true, %d", got, b.Redacted, b.Size, want, len(in))
	}

	t.Run("JSON labelled as a form", func(t *testing.T) {
		x := bodyExchange("application/x-www-form-urlencoded", []byte(` {"token":"t"}`))
		prepTap(t, Config{}).prepare(x)
		if got, want := string(x.Response.Body.Bytes), ` {"token":"`+red+`"}`; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("cut in a value", func(t *testing.T) {
		x := bodyExchange("application/x-www-form-urlencoded", []byte("a=1&password=hun"))
		x.Response.Body.Truncated = true
		prepTap(t, Config{}).prepare(x)
		if got, want := string(x.Response.Body.Bytes), "a=1&password="+red; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestRedactMultipart(t *testing.T) {
	const boundary = "XyZ-boundary-123"
	ct := "multipart/form-data; boundary=" + boundary
	in := []testutil.Part{
		{Name: "username", Content: "bob"},
		{Name: "password", Content: "hunter2\r\nwith lines\r\n--not-the-boundary"},
		{Name: "api_key", Filename: "key.txt", ContentType: "text/plain", Content: "k-123"},
		{Name: "metadata", ContentType: "application/json", Content: `{"name":"n","token":"t","nested":{"cvv":123}}`},
		{Name: "avatar", Filename: "a.png", ContentType: "image/png", Content: "\x89PNG\r\n\x1a\n binary"},
		{Name: "prefs", ContentType: "application/x-www-form-urlencoded", Content: "theme=dark&session_token=s"},
	}
	want := slices.Clone(in)
	want[1].Content = red
	want[2].Content = red
	want[3].Content = `{"name":"n","token":"` + red + `","nested":{"cvv":"` + red + `"}}`
	want[5].Content = "theme=dark&session_token=" + red

	x := bodyExchange(ct, testutil.Multipart(t, boundary, in))
	prepTap(t, Config{}).prepare(x)
	b := x.Response.Body
	if !b.Redacted || b.Withheld {
		t.Fatalf("Redacted %v, Withheld %v, Err %v; want redacted", b.Redacted, b.Withheld, b.Err)
	}
	if exp := testutil.Multipart(t, boundary, want); !bytes.Equal(b.Bytes, exp) {
		t.Errorf("got\n%q\nwant\n%q", b.Bytes, exp)
	}
	// And mime/multipart reads it back.
	mr := multipart.NewReader(bytes.NewReader(b.Bytes), boundary)
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("read %d parts, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(p)
		if p.FormName() != want[i].Name || string(got) != want[i].Content {
			t.Errorf("part %d: got %s=%q, want %s=%q", i, p.FormName(), got, want[i].Name, want[i].Content)
		}
	}

	t.Run("cut in a sensitive part", func(t *testing.T) {
		body := testutil.Multipart(t, boundary, in)
		cut := bytes.Index(body, []byte("with lines"))
		x := bodyExchange(ct, body[:cut])
		x.Response.Body.Truncated = true
		prepTap(t, Config{}).prepare(x)
		got := string(x.Response.Body.Bytes)
		if strings.Contains(got, "hunter2") || !strings.HasSuffix(got, "name=\"password\"\r\n\r\n"+red) {
			t.Errorf("got %q, want the password part replaced to the end", got)
		}
	})
	t.Run("LF line ends and a preamble", func(t *testing.T) {
		body := "preamble\n--b\nContent-Disposition: form-data; name=\"user\"\n\nbob\n--b\nContent-Disposition: form-data; name=\"password\"\n\nx\n--b--\nepilogue"
		x := bodyExchange("multipart/form-data; boundary=b", []byte(body))
		prepTap(t, Config{}).prepare(x)
		if got, want := string(x.Response.Body.Bytes), strings.Replace(body, "\n\nx\n", "\n\n"+red+"\n", 1); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("malformed disposition", func(t *testing.T) {
		body := "--b\r\nContent-Disposition: form-data; name=\"password\"; name=\"x\"\r\n\r\nsecret\r\n--b--\r\n"
		x := bodyExchange("multipart/form-data; boundary=b", []byte(body))
		prepTap(t, Config{}).prepare(x)
		if got := string(x.Response.Body.Bytes); strings.Contains(got, "secret\r\n") {
			t.Errorf("got %q, want the part hidden", got)
		}
	})
	for _, c := range []struct{ name, ct, body string }{
		{"no boundary parameter", "multipart/form-data", "--b\r\n\r\nx"},
		{"boundary not in the body", "multipart/form-data; boundary=zzz", "--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nx"},
		{"bad media type", "multipart/form-data; boundary=", "--\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := bodyExchange(c.ct, []byte(c.body))
			prepTap(t, Config{}).prepare(x)
			b := x.Response.Body
			if !b.Withheld || b.Bytes != nil || b.Err == nil || !strings.HasPrefix(b.Err.Error(), "bodytap: ") {
				t.Errorf("got %q, Withheld %v, Err %v; want withheld", b.Bytes, b.Withheld, b.Err)
			}
		})
	}
}

// encodeAs applies Content-Encoding codings in listing order, as a server
// would; "rawdeflate" is DEFLATE without the zlib wrapper.
func encodeAs(tb testing.TB, codings string, data []byte) []byte {
	tb.Helper()
	for name := range strings.SplitSeq(codings, ",") {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch strings.TrimSpace(name) {
		case "gzip", "x-gzip", "GZIP":
			w = gzip.NewWriter(&buf)
		case "deflate":
			w = zlib.NewWriter(&buf)
		case "rawdeflate":
			w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
		default:
			tb.Fatalf("no encoder for %q", name)
		}
		w.Write(data)
		w.Close()
		data = buf.Bytes()
	}
	return data
}

func TestRedactEncodedBodies(t *testing.T) {
	const plain = `{"user":"bob","password":"hunter2","list":[{"token":"t"}]}`
	const want = `{"user":"bob","password":"` + red + `","list":[{"token":"` + red + `"}]}`
	cases := []struct {
		header, encodeWith, decoded string
	}{
		{"gzip", "gzip", "gzip"},
		{"x-gzip", "gzip", "gzip"},
		{"GZIP", "gzip", "gzip"},
		{"deflate", "deflate", "deflate"},
		{"deflate", "rawdeflate", "deflate"},
		{"gzip, deflate", "gzip, deflate", "gzip, deflate"},
		{"identity, gzip", "gzip", "gzip"},
	}
	for _, c := range cases {
		t.Run(c.header+" as "+c.encodeWith, func(t *testing.T) {
			enc := encodeAs(t, c.encodeWith, []byte(plain))
			for _, side := range []string{"request", "response"} {
				x := bodyExchange("", nil)
				var b *Body
				var h http.Header
				if side == "request" {
					b, h = &x.Request.Body, x.Request.Header
				} else {
					b, h = &x.Response.Body, x.Response.Header
				}
				h.Set("Content-Type", "application/json")
				h.Set("Content-Encoding", c.header)
				*b = Body{Bytes: enc, Size: int64(len(enc)), EOF: true}
				prepTap(t, Config{}).prepare(x)
				if string(b.Bytes) != want || b.Decoded != c.decoded || !b.Redacted || b.Size != int64(len(enc)) || b.Truncated || b.Err != nil {
					t.Errorf("%s: got %q, Decoded %q, Redacted %v, Size %d, Truncated %v, Err %v; want %q, %q, true, %d, false, nil",
						side, b.Bytes, b.Decoded, b.Redacted, b.Size, b.Truncated, b.Err, want, c.decoded, len(enc))
				}
			}
		})
	}

	t.Run("decoded even with nothing to hide", func(t *testing.T) {
		x := bodyExchange("text/html", encodeAs(t, "gzip", []byte("<p>hello</p>")))
		x.Response.Header.Set("Content-Encoding", "gzip")
		prepTap(t, Config{}).prepare(x)
		b := x.Response.Body
		if string(b.Bytes) != "<p>hello</p>" || b.Decoded != "gzip" || b.Redacted {
			t.Errorf("got %q, Decoded %q, Redacted %v; want the decoded copy, gzip, false", b.Bytes, b.Decoded, b.Redacted)
		}
	})
	t.Run("truncated capture", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		pad := make([]byte, 5000)
		for i := range pad {
			pad[i] = 'a' + byte(rng.IntN(26))
		}
		big := `{"password":"` + string(pad) + `","x":1}`
		enc := encodeAs(t, "gzip", []byte(big))
		x := bodyExchange("application/json", enc[:len(enc)/2])
		x.Response.Header.Set("Content-Encoding", "gzip")
		x.Response.Body.Size, x.Response.Body.Truncated = int64(len(enc)), true
		prepTap(t, Config{}).prepare(x)
		b := x.Response.Body
		if got, want := string(b.Bytes), `{"password":"`+red+`"`; got != want || !b.Truncated || b.Decoded != "gzip" {
			t.Errorf("got %q, Truncated %v, Decoded %q; want %q, true, gzip", got, b.Truncated, b.Decoded, want)
		}
	})
}

func TestRedactWithheldWhenUndecodable(t *testing.T) {
	gz := encodeAs(t, "gzip", []byte(`{"token":"t"}`))
	cases := []struct {
		name, coding string
		body         []byte
		truncated    bool
		err          string
	}{
		{"br without Config.Decode", "br", []byte("\x0b\x02\x80secret"), false,
			"bodytap: cannot decode br to redact it; set Config.Decode (package decode) to keep such bodies"},
		{"zstd under gzip", "zstd, gzip", gz, false,
			"bodytap: cannot decode zstd to redact it; set Config.Decode (package decode) to keep such bodies"},
		{"corrupt gzip", "gzip", []byte("not gzip, token=secret"), false,
			"bodytap: cannot decode gzip to redact it: gzip: invalid header"},
		{"gzip cut short without being truncated", "gzip", gz[:len(gz)-6], false,
			"bodytap: cannot decode gzip to redact it: unexpected EOF"},
		{"corrupt deflate", "deflate", []byte{0xff, 0xff, 0xff, 0xff}, true,
			"bodytap: cannot decode deflate to redact it: flate: corrupt input before offset 1"},
		{"too many codings", "gzip,gzip,gzip,gzip,gzip,gzip", gz, false,
			"bodytap: cannot decode gzip, gzip, gzip, gzip, gzip, gzip to redact it: 6 codings stacked, at most 5 are undone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := bodyExchange("application/json", c.body)
			x.Response.Header.Set("Content-Encoding", c.coding)
			x.Response.Body.Truncated = c.truncated
			prepTap(t, Config{}).prepare(x)
			b := x.Response.Body
			if b.Bytes != nil || !b.Withheld || b.Err == nil || b.Err.Error() != c.err || b.Size != int64(len(c.body)) {
				t.Errorf("got %q, Withheld %v, Size %d, Err %v;\nwant nil, true, %d, %s", b.Bytes, b.Withheld, b.Size, b.Err, len(c.body), c.err)
			}
		})
	}
}

func TestDecodeBombBounded(t *testing.T) {
	const limit = 1 << 20
	bomb := testutil.GzipBomb(256) // 256 MiB
	for _, coding := range []string{"gzip", "gzip, deflate"} {
		t.Run(coding, func(t *testing.T) {
			body := bomb
			if coding != "gzip" {
				body = encodeAs(t, "deflate", bomb) // a bomb wrapped in deflate
			}
			tap := prepTap(t, Config{DecodeLimit: limit})
			x := bodyExchange("application/octet-stream", body)
			x.Response.Header.Set("Content-Encoding", coding)
			alloc := testutil.Allocated(func() { tap.prepare(x) })
			b := x.Response.Body
			if len(b.Bytes) != limit || !b.Truncated || b.Withheld || b.Size != int64(len(body)) {
				t.Fatalf("got %d bytes, Truncated %v, Withheld %v, Size %d, Err %v; want %d, true, false, %d", len(b.Bytes), b.Truncated, b.Withheld, b.Size, b.Err, limit, len(body))
			}
			if alloc > 3*limit+512<<10 {
				t.Errorf("allocated %d bytes, want at most %d", alloc, 3*limit+512<<10)
			}
		})
	}
}

// stubDecode is a DecodeFunc for tests: it "decodes" the coding "rot" by
// shifting bytes back by one, and knows no other.
func stubDecode(ce string, body []byte, limit int64, truncated bool) ([]byte, string, error) {
	if strings.TrimSpace(ce) != "rot" {
		return nil, "", fmt.Errorf("stub: unsupported %q", ce)
	}
	out := make([]byte, min(int64(len(body)), limit))
	for i := range out {
		out[i] = body[i] - 1
	}
	return out, "rot", nil
}

func rot(s string) []byte {
	b := []byte(s)
	for i := range b {
		b[i]++
	}
	return b
}

func TestDecodeConfig(t *testing.T) {
	const plain = `{"token":"t","a":1}`
	cases := []struct {
		name    string
		c       Config
		coding  string
		body    []byte
		want    string
		decoded string
		redact  bool
		trunc   bool
		err     string
	}{
		{"redaction off, no Decode: as on the wire", Config{Redact: Redaction{Disabled: true}}, "gzip",
			encodeAs(t, "gzip", []byte(plain)), string(encodeAs(t, "gzip", []byte(plain))), "", false, false, ""},
		{"redaction off, Decode set: decoded, not redacted", Config{Redact: Redaction{Disabled: true}, Decode: stubDecode}, "rot",
			rot(plain), plain, "rot", false, false, ""},
		{"redaction off, Decode fails: kept encoded, with the error", Config{Redact: Redaction{Disabled: true}, Decode: stubDecode}, "br",
			[]byte("xyz"), "xyz", "", false, false, `bodytap: cannot decode br: stub: unsupported "br"`},
		{"Decode replaces the built-in decoder", Config{Decode: stubDecode}, "rot",
			rot(plain), `{"token":"` + red + `","a":1}`, "rot", true, false, ""},
		{"Decode output cut at the limit", Config{Decode: stubDecode, DecodeLimit: 5}, "rot",
			rot(plain), plain[:5], "rot", false, true, ""},
		{"Decode error withholds", Config{Decode: stubDecode}, "gzip",
			encodeAs(t, "gzip", []byte(plain)), "", "", false, false, `bodytap: cannot decode gzip to redact it: stub: unsupported "gzip"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := bodyExchange("application/json", c.body)
			x.Response.Header.Set("Content-Encoding", c.coding)
			prepTap(t, c.c).prepare(x)
			b := x.Response.Body
			errText := ""
			if b.Err != nil {
				errText = b.Err.Error()
			}
			if string(b.Bytes) != c.want || b.Decoded != c.decoded || b.Redacted != c.redact || b.Truncated != c.trunc || errText != c.err {
				t.Errorf("got %q, Decoded %q, Redacted %v, Truncated %v, Err %q;\nwant %q, %q, %v, %v, %q",
					b.Bytes, b.Decoded, b.Redacted, b.Truncated, errText, c.want, c.decoded, c.redact, c.trunc, c.err)
			}
		})
	}

	t.Run("a decoder that leaves codings in place withholds", func(t *testing.T) {
		lazy := func(ce string, body []byte, limit int64, truncated bool) ([]byte, string, error) {
			return body, "", nil
		}
		x := bodyExchange("application/json", []byte("opaque"))
		x.Response.Header.Set("Content-Encoding", "br")
		prepTap(t, Config{Decode: lazy}).prepare(x)
		if b := x.Response.Body; !b.Withheld || b.Bytes != nil {
			t.Errorf("got %q, Withheld %v; want withheld", b.Bytes, b.Withheld)
		}
	})
}

func TestRedactDisabled(t *testing.T) {
	x := bodyExchange("application/json", []byte(`{"password":"p"}`))
	x.url.RawQuery = "token=t"
	x.Request.Header.Set("Authorization", "Bearer t")
	x.Request.Header.Set("Cookie", "sid=s")
	x.Response.Header.Set("Set-Cookie", "sid=s; Path=/")
	x.Response.Trailer = http.Header{"X-Token": {"t"}}
	reqH, respH := x.Request.Header, x.Response.Header
	want := cloneForTest(x)
	prepTap(t, Config{Redact: Redaction{Disabled: true}}).prepare(x)
	if !reflect.DeepEqual(x, want) {
		t.Errorf("got %+v, want it unchanged: %+v", x, want)
	}
	if !sameMap(x.Request.Header, reqH) || !sameMap(x.Response.Header, respH) {
		t.Errorf("header maps replaced with redaction disabled")
	}
}

// cloneForTest deep-copies the parts of x that prepare may change.
func cloneForTest(x *Exchange) *Exchange {
	c := *x
	c.url = *x.Request.URL
	c.Request.URL = &c.url
	c.Request.Header = x.Request.Header.Clone()
	c.Response.Header = x.Response.Header.Clone()
	c.Response.Trailer = x.Response.Trailer.Clone()
	c.Response.Body.Bytes = bytes.Clone(x.Response.Body.Bytes)
	return &c
}

func sameMap(a, b http.Header) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestRedactCustom(t *testing.T) {
	var funcSaw string
	r := Redaction{
		Fields:      []string{"Email", "pin"},
		Headers:     []string{"x-internal-user"},
		JSONPaths:   []string{"profile.phone"},
		Replacement: "<hidden value>",
		Func: func(x *Exchange) {
			funcSaw = x.Request.Header.Get("Authorization")
			x.Route = "/changed-by-func"
		},
	}
	x := bodyExchange("application/json", []byte(`{"email":"a@b","EMAIL":"c","pin":1,"profile":{"phone":"555","email":"d"},"token":"t","name":"n"}`))
	x.url.RawQuery = "email=a%40b&name=n&token=t"
	x.Request.Header.Set("X-Internal-User", "alice")
	x.Request.Header.Set("Authorization", "Bearer t")
	x.Request.Header.Set("X-User", "bob")
	prepTap(t, Config{Redact: r}).prepare(x)

	const q = `"<hidden value>"`
	if got, want := string(x.Response.Body.Bytes), `{"email":`+q+`,"EMAIL":`+q+`,"pin":`+q+`,"profile":{"phone":`+q+`,"email":`+q+`},"token":`+q+`,"name":"n"}`; got != want {
		t.Errorf("body: got %q, want %q", got, want)
	}
	if got, want := x.Request.URL.RawQuery, "email=%3Chidden%20value%3E&name=n&token=%3Chidden%20value%3E"; got != want {
		t.Errorf("query: got %q, want %q", got, want)
	}
	if v, _ := url.ParseQuery(x.Request.URL.RawQuery); v.Get("email") != "<hidden value>" {
		t.Errorf("query: email reads %q, want the replacement", v.Get("email"))
	}
	if got := x.Request.Header.Get("X-Internal-User"); got != "<hidden value>" {
		t.Errorf("X-Internal-User: got %q", got)
	}
	if got := x.Request.Header.Get("X-User"); got != "bob" {
		t.Errorf("X-User: got %q, want it kept", got)
	}
	if funcSaw != "<hidden value>" || x.Route != "/changed-by-func" {
		t.Errorf("Func saw Authorization %q and left Route %q; want it to run after the built-in redaction", funcSaw, x.Route)
	}

	t.Run("Func runs with Disabled", func(t *testing.T) {
		ran := false
		x := bodyExchange("", nil)
		prepTap(t, Config{Redact: Redaction{Disabled: true, Func: func(*Exchange) { ran = true }}}).prepare(x)
		if !ran {
			t.Error("Func did not run")
		}
	})
}

// TestRedactEndToEnd runs a real server: the handler and the client see the
// real headers and bodies, the sink sees them redacted, and the request's
// header map, shared with the server, is never written to.
func TestRedactEndToEnd(t *testing.T) {
	const reqBody = `{"user":"bob","password":"hunter2"}`
	const respBody = `{"access_token":"tok-123","expires_in":3600}`
	col := newCollector()
	tap := New(Config{Sink: col})
	defer tap.Close()

	var seenHeader http.Header
	var seenBody string
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenHeader = r.Header
		b, _ := io.ReadAll(r.Body)
		seenBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Set-Cookie", "sid=abc123; Path=/; HttpOnly")
		w.Header().Set("Trailer", "X-Session-Token")
		w.Write(encodeAs(t, "gzip", []byte(respBody)))
		w.Header().Set("X-Session-Token", "trailer-secret")
	}))
	srv, client := newServer(t, h, false)

	req, _ := http.NewRequest("POST", srv.URL+"/login?api_key=k-1&page=2", strings.NewReader(reqBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer secret-bearer")
	req.Header.Set("Cookie", "sid=abc123; theme=dark")
	req.Header.Set("X-Api-Key", "key-1")
	req.Header.Set("Accept-Encoding", "gzip") // so that the client leaves the body as sent
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	x := col.next(t)

	// The wire, both ways.
	if seenBody != reqBody || seenHeader.Get("Authorization") != "Bearer secret-bearer" {
		t.Errorf("handler saw %q and Authorization %q: want the real ones", seenBody, seenHeader.Get("Authorization"))
	}
	if !bytes.Equal(wire, encodeAs(t, "gzip", []byte(respBody))) || resp.Header.Get("Set-Cookie") != "sid=abc123; Path=/; HttpOnly" ||
		resp.Trailer.Get("X-Session-Token") != "trailer-secret" {
		t.Errorf("client got %q, Set-Cookie %q, trailer %q: want the real ones", wire, resp.Header.Get("Set-Cookie"), resp.Trailer.Get("X-Session-Token"))
	}
	// The map the server handed the handler still holds the secrets, after
	// the sink has run.
	for k, want := range map[string]string{"Authorization": "Bearer secret-bearer", "Cookie": "sid=abc123; theme=dark", "X-Api-Key": "key-1"} {
		if got := seenHeader.Get(k); got != want {
			t.Errorf("server's request header %s: got %q, want %q (it must not be written to)", k, got, want)
		}
	}
	if sameMap(seenHeader, x.Request.Header) {
		t.Error("the exchange holds the server's header map itself, redacted in place")
	}

	// The record.
	if got := x.Request.Header.Get("Authorization"); got != red {
		t.Errorf("recorded Authorization: got %q", got)
	}
	if got, want := x.Request.Header.Get("Cookie"), "sid="+red+"; theme="+red; got != want {
		t.Errorf("recorded Cookie: got %q, want %q", got, want)
	}
	if got, want := x.Request.URL.RawQuery, "api_key="+red+"&page=2"; got != want {
		t.Errorf("recorded query: got %q, want %q", got, want)
	}
	if got, want := string(x.Request.Body.Bytes), `{"user":"bob","password":"`+red+`"}`; got != want || !x.Request.Body.Redacted || x.Request.Body.Size != int64(len(reqBody)) {
		t.Errorf("recorded request body: got %q, Redacted %v, Size %d; want %q, true, %d", got, x.Request.Body.Redacted, x.Request.Body.Size, want, len(reqBody))
	}
	if got, want := x.Response.Header.Get("Set-Cookie"), "sid="+red+"; Path=/; HttpOnly"; got != want {
		t.Errorf("recorded Set-Cookie: got %q, want %q", got, want)
	}
	if got := x.Response.Trailer.Get("X-Session-Token"); got != red {
		t.Errorf("recorded trailer: got %q", got)
	}
	rb := x.Response.Body
	if got, want := string(rb.Bytes), `{"access_token":"`+red+`","expires_in":3600}`; got != want || rb.Decoded != "gzip" || !rb.Redacted || rb.Size != int64(len(wire)) {
		t.Errorf("recorded response body: got %q, Decoded %q, Redacted %v, Size %d; want %q, gzip, true, %d", got, rb.Decoded, rb.Redacted, rb.Size, want, len(wire))
	}
	if got := x.Response.Header.Get("Content-Encoding"); got != "gzip" {
		t.Errorf("recorded Content-Encoding: got %q, want the header as sent", got)
	}
}

func TestRedactSpilled(t *testing.T) {
	dir := t.TempDir()
	col := newCollector()
	tap := New(Config{Sink: col, MaxBodyBytes: 64, SpillDir: dir})
	defer tap.Close()
	jsonBody := `{"pad":"` + strings.Repeat("x", 200) + `","password":"hunter2"}`
	binBody := strings.Repeat("\x00\x01binary", 40)
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/json" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, jsonBody)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		io.WriteString(w, binBody)
	}))
	srv, client := newServer(t, h, false)
	for _, path := range []string{"/json", "/bin"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		x := col.next(t)
		b := &x.Response.Body
		rc, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		all, _ := io.ReadAll(rc)
		rc.Close()
		switch path {
		case "/json":
			want := strings.Replace(jsonBody, "hunter2", red, 1)
			if string(all) != want || b.Spilled() != 0 || b.Truncated || !b.Redacted {
				t.Errorf("json: read %q, Spilled %d, Truncated %v, Redacted %v; want %q, 0, false, true", all, b.Spilled(), b.Truncated, b.Redacted, want)
			}
		case "/bin":
			if string(all) != binBody || b.Spilled() == 0 {
				t.Errorf("binary: read %q, Spilled %d; want the whole body, with its spill file", all, b.Spilled())
			}
		}
		x.Release()
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("spill files left: %v", left)
	}
}

// TestRedactAllocs: with nothing to hide, prepare allocates nothing.
func TestRedactAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tap := prepTap(t, Config{})
	x := bodyExchange("application/json", []byte(`{"id":1,"items":[{"name":"a","tags":["x","y"]}],"ok":true}`))
	x.url.RawQuery = "page=2&sort=name&q=go%20lang"
	x.Request.Header = http.Header{
		"Accept":          {"application/json"},
		"User-Agent":      {"test"},
		"Accept-Encoding": {"gzip"},
		"Referer":         {"https://example.com/list?page=1"},
		"Content-Type":    {"application/json"},
	}
	x.Request.Body = Body{Bytes: []byte(`{"name":"bob","tags":[1,2,3]}`), Size: 29, EOF: true}
	x.Response.Header.Set("Cache-Control", "no-store")
	x.Response.Header.Set("X-Request-Id", "abc")
	want := cloneForTest(x)
	if n := testing.AllocsPerRun(100, func() { tap.prepare(x) }); n != 0 {
		t.Errorf("prepare allocated %v times per exchange with nothing to hide, want 0", n)
	}
	if !reflect.DeepEqual(x.Response.Body, want.Response.Body) || !maps.EqualFunc(x.Request.Header, want.Request.Header, slices.Equal) {
		t.Error("prepare changed an exchange with nothing to hide")
	}
}

// BenchmarkRedactLoopbackExchange is the default redaction of what
// bench's loopback benchmark captures: 1 KiB of JSON records each way,
// sent with Go's client headers and answered with net/http's, with
// nothing to hide.
func BenchmarkRedactLoopbackExchange(b *testing.B) {
	tap := prepTap(b, Config{})
	var body bytes.Buffer
	body.WriteString(`{"items":[`)
	for i := 0; body.Len() < 960; i++ {
		fmt.Fprintf(&body, `{"id":%d,"name":"item-%05d","price":%d.%02d,"tags":["a","b%d"]},`, i, i, 10+i, i*7%100, i%3)
	}
	body.WriteString(`{}],"pad":""}`)
	x := bodyExchange("application/json", body.Bytes())
	x.url.Path = "/json1k"
	x.Request.Method = "POST"
	x.Request.Header = http.Header{"User-Agent": {"Go-http-client/1.1"}, "Content-Length": {"1024"}, "Content-Type": {"application/json"}, "Accept-Encoding": {"gzip"}}
	x.Request.Body = Body{Bytes: body.Bytes(), Size: int64(body.Len()), EOF: true}
	x.Response.Header = http.Header{"Content-Type": {"application/json"}, "Date": {"Mon, 07 Dec 2026 02:09:00 GMT"}, "Content-Length": {"1024"}}
	b.ReportAllocs()
	for b.Loop() {
		tap.prepare(x)
	}
	if x.Detected != 0 || x.Request.Body.Redacted || x.Response.Body.Redacted {
		b.Fatalf("found something to hide: detected %v, redacted %v %v", x.Detected, x.Request.Body.Redacted, x.Response.Body.Redacted)
	}
}

func BenchmarkRedact(b *testing.B) {
	tap := prepTap(b, Config{})
	body := []byte(`{"id":1,"user":{"name":"bob","password":"hunter2"},"items":[{"name":"a","token":"t"},{"name":"b"}],"ok":true}`)
	h := http.Header{"Accept": {"*/*"}, "Authorization": {"Bearer x"}, "Content-Type": {"application/json"}}
	b.ReportAllocs()
	for b.Loop() {
		x := bodyExchange("application/json", body)
		x.Request.Header = h
		x.url.RawQuery = "page=1&token=t"
		tap.prepare(x)
	}
}
