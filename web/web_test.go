package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/har"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
	"github.com/bodytap/bodytap/web/internal/webtest"
)

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, Config{})
	x := webtest.NewEx(t, "GET", "http://api.test/items", 200).RespBody("application/json", []byte(`{"a":1}`))
	e.Record(x)
	for _, path := range []string{"/", "/x/" + x.ID.String(), "/?f=~m+GET", "/nope"} {
		resp, _ := e.Get(path)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP allows unsafe: %q", path, csp)
		}
		for k, v := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
			"Cache-Control":          "no-store",
		} {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, Config{})
	resp, err := http.Post(e.Srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", resp.StatusCode)
	}
}

func TestCheckBind(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8080", "", true},
		{"127.0.0.2:8080", "", true},
		{"localhost:8080", "", true},
		{"[::1]:8080", "", true},
		{":8080", "", false},
		{"0.0.0.0:8080", "", false},
		{"[::]:8080", "", false},
		{"192.168.1.5:8080", "", false},
		{"example.com:8080", "", false},
		{":8080", "secret", true},
		{"0.0.0.0:8080", "secret", true},
		{"nonsense", "", false},
	} {
		err := CheckBind(c.addr, c.token)
		if (err == nil) != c.ok {
			t.Errorf("CheckBind(%q, %q) = %v, want ok %v", c.addr, c.token, err, c.ok)
		}
		if err != nil && c.addr != "nonsense" && !strings.Contains(err.Error(), "token") {
			t.Errorf("CheckBind(%q): error does not mention the token: %v", c.addr, err)
		}
	}
}

func TestHostCheck(t *testing.T) {
	e := newEnv(t, Config{AllowedHosts: []string{"viewer.internal"}})
	for host, want := range map[string]int{
		"127.0.0.1:9":          200,
		"localhost:9":          200,
		"LOCALHOST.:9":         200,
		"app.localhost":        200,
		"[::1]:9":              200,
		"viewer.internal:8080": 200,
		"evil.example:9":       http.StatusMisdirectedRequest,
		"192.168.0.3":          http.StatusMisdirectedRequest,
		"127.0.0.1.evil.com":   http.StatusMisdirectedRequest,
	} {
		resp, _ := e.Get("/", "Host", host)
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

func TestCrossSiteRefused(t *testing.T) {
	e := newEnv(t, Config{})
	resp, _ := e.Get("/api/har", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site image request: %d, want 403", resp.StatusCode)
	}
	resp, _ = e.Get("/", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("cross-site navigation: %d, want 200", resp.StatusCode)
	}
	resp, _ = e.Get("/", "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("same-origin fetch: %d, want 200", resp.StatusCode)
	}
}

func TestToken(t *testing.T) {
	const token = "s3cret-token"
	e := newEnv(t, Config{Token: token})

	// No token: refused, even from loopback.
	resp, _ := e.Get("/")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", resp.StatusCode)
	}
	// Any Host is fine with a token: it is what protects the viewer.
	resp, _ = e.Get("/", "Host", "viewer.example:8080", "Authorization", "Bearer "+token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bearer: %d, want 200", resp.StatusCode)
	}
	resp, _ = e.Get("/", "Authorization", "Bearer wrong")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong bearer: %d, want 401", resp.StatusCode)
	}
	resp, _ = e.Get("/?token=wrong")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong ?token: %d, want 401", resp.StatusCode)
	}
	// ?token= sets the cookie and redirects to the page without it.
	resp, _ = e.Get("/?f=~m+GET&token=" + token)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("?token: %d, want 303", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != "/?f=~m+GET" {
		t.Errorf("?token redirects to %q", loc)
	}
	for _, p := range []string{"//evil.example/", "/\\evil.example/"} {
		req := newRequest("/?token=" + token)
		req.URL.Path = p
		rec := newRecorder()
		e.viewer.ServeHTTP(rec, req)
		if loc := rec.Header().Get("Location"); loc != "/" {
			t.Errorf("?token on %s redirects to %q", p, loc)
		}
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].Value != token {
		t.Fatalf("cookies: %v", cookies)
	}
	resp, _ = e.Get("/", "Cookie", cookies[0].Name+"="+token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cookie: %d, want 200", resp.StatusCode)
	}
	resp, _ = e.Get("/", "Cookie", cookies[0].Name+"=nope")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong cookie: %d, want 401", resp.StatusCode)
	}
	if a, b := NewToken(), NewToken(); a == b || len(a) < 40 {
		t.Error("NewToken is not random enough")
	}
}

func TestListPaging(t *testing.T) { eachStore(t, testListPaging) }

func testListPaging(t *testing.T, b backend) {
	e := b.newEnv(t, Config{})
	base := time.Now().Add(-time.Hour)
	var xs []*bodytap.Exchange
	for i := range 250 {
		x := webtest.NewEx(t, "GET", fmt.Sprintf("http://api.test/items/%d", i), 200).At(base.Add(time.Duration(i) * time.Second))
		xs = append(xs, x.Exchange)
	}
	e.importAll(xs, false)

	rowRE := regexp.MustCompile(`<a class="row [^"]*" href="/x/([0-9A-Z]{26})"`)
	olderRE := regexp.MustCompile(`id="older" href="([^"]+)"`)
	var seen []string
	path := "/"
	for page := 0; ; page++ {
		resp, body := e.Get(path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			seen = append(seen, m[1])
		}
		if page == 0 && !strings.Contains(body, "250 exchanges") {
			t.Errorf("first page does not show the count")
		}
		if page == 0 && !strings.Contains(body, `data-stream="/api/stream?after=`+xs[249].ID.String()) {
			t.Errorf("first page does not stream from its newest row")
		}
		m := olderRE.FindStringSubmatch(body)
		if m == nil {
			break
		}
		path = html.UnescapeString(m[1])
		if page > 5 {
			t.Fatal("too many pages")
		}
	}
	if len(seen) != 250 {
		t.Fatalf("saw %d rows over the pages, want 250", len(seen))
	}
	for i, id := range seen {
		if want := xs[249-i].ID.String(); id != want {
			t.Fatalf("row %d is %s, want %s (newest first)", i, id, want)
		}
	}
}

func TestListFilter(t *testing.T) { eachStore(t, testListFilter) }

func testListFilter(t *testing.T, b backend) {
	e := b.newEnv(t, Config{})
	e.Record(
		webtest.NewEx(t, "GET", "http://api.test/a", 200),
		webtest.NewEx(t, "POST", "http://api.test/api/orders", 201),
		webtest.NewEx(t, "POST", "http://api.test/api/orders", 500),
	)
	_, body := e.Get("/?f=" + url.QueryEscape("~m POST & ~u /api & !~c 500"))
	if n := strings.Count(body, `<a class="row`); n != 1 {
		t.Errorf("filter: %d rows, want 1", n)
	}
	if !strings.Contains(body, `class="row s2"`) || !strings.Contains(body, "1 exchange matches") {
		t.Errorf("filter: wrong row or count:\n%s", body)
	}
	resp, body := e.Get("/?f=" + url.QueryEscape("~m ("))
	if resp.StatusCode != 200 || !strings.Contains(body, `id="filter-error"`) || strings.Contains(body, `<a class="row`) {
		t.Errorf("bad filter: %d, no one-line error shown:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `value="~m ("`) {
		t.Errorf("bad filter: the box does not keep the expression")
	}
}

func TestListStoreError(t *testing.T) {
	s, err := New(Config{Store: errStore{errors.New("disk on fire")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/?f=~m+GET", "/x/" + webtest.ID(time.Now()).String(), "/api/har", "/api/har?id=" + webtest.ID(time.Now()).String()} {
		rec := newRecorder()
		s.ServeHTTP(rec, newRequest(path))
		if rec.Code != 500 || !strings.Contains(rec.Body.String(), "disk on fire") && !strings.Contains(rec.Body.String(), "store error") {
			t.Errorf("%s: store error: %d %s", path, rec.Code, rec.Body)
		}
		if cd := rec.Header().Get("Content-Disposition"); cd != "" {
			t.Errorf("%s: an error is a download: %s", path, cd)
		}
	}
}

func TestDetail(t *testing.T) { eachStore(t, testDetail) }

func testDetail(t *testing.T, b backend) {
	e := b.newEnv(t, Config{})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"zeta":1,"alpha":[true,null,"x<y"],"big":12345678901234567890}`))
	zw.Close()
	x := webtest.NewEx(t, "POST", "http://api.test/orders?id=7", 201).
		ReqBody("application/x-www-form-urlencoded", []byte("a=1&b=it's")).
		RespBody("application/json", gz.Bytes()).
		RespHeader("Content-Encoding", "gzip")
	x.Route = "POST /orders"
	x.Err = errors.New("bodytap: client went away")
	e.Record(x)

	resp, body := e.Get("/x/" + x.ID.String())
	if resp.StatusCode != 200 {
		t.Fatalf("detail: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`http://api.test/orders?id=7`,
		`POST /orders`,                           // route
		`client went away`,                       // error
		`decoded here (gzip)`,                    // decoded
		`<span class="jk">&#34;zeta&#34;</span>`, // JSON keys in order, escaped
		`12345678901234567890`,                   // numbers kept as written
		`&#34;x&lt;y&#34;`,                       // strings escaped
		`--data-binary &#39;a=1&amp;b=it&#39;\&#39;&#39;s&#39;`, // curl
		`/x/` + x.ID.String() + `/body/response/raw`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("detail lacks %s", want)
		}
	}
	if strings.Index(body, "zeta") > strings.Index(body, "alpha") {
		t.Error("JSON members are not in their order")
	}

	// A lower-case ID redirects to the canonical address; a bad one is 404.
	resp, _ = e.Get("/x/" + strings.ToLower(x.ID.String()))
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/x/"+x.ID.String() {
		t.Errorf("lower-case ID: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/x/nope", "/x/" + webtest.ID(time.Now()).String()} {
		if resp, _ := e.Get(p); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestBodyKinds(t *testing.T) { eachStore(t, testBodyKinds) }

func testBodyKinds(t *testing.T, b backend) {
	e := b.newEnv(t, Config{})
	pngData := webtest.PNG(t)
	bin := []byte{0, 1, 2, 3, 0xff, 'A', 'B', 0x7f}
	big := []byte(`{"items":[` + strings.Repeat(`"abcdefghijklmnopqrstuvwxyz",`, 12000) + `"end"]}`)
	latin1 := []byte("caf\xe9")

	html := webtest.NewEx(t, "GET", "http://site.test/", 200).RespBody("text/html; charset=utf-8", []byte(`<html><script>alert(1)</script></html>`))
	img := webtest.NewEx(t, "GET", "http://site.test/a.png", 200).RespBody("image/png", pngData)
	svg := webtest.NewEx(t, "GET", "http://site.test/a.svg", 200).RespBody("image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`))
	hexx := webtest.NewEx(t, "GET", "http://site.test/bin", 200).RespBody("application/octet-stream", bin)
	large := webtest.NewEx(t, "GET", "http://site.test/big", 200).RespBody("application/json", big)
	text := webtest.NewEx(t, "GET", "http://site.test/latin", 200).RespBody("text/plain; charset=iso-8859-1", latin1)
	trunc := webtest.NewEx(t, "GET", "http://site.test/trunc", 200).RespBody("application/json", []byte(`{"a": "partial`))
	trunc.Response.Body.Truncated, trunc.Response.Body.Size = true, 5000
	trunc.Response.Body.Redacted = true
	bad := webtest.NewEx(t, "GET", "http://site.test/bad", 200).RespBody("application/json", []byte(`{"a": nope}`)).RespHeader("Content-Length", "123")
	withheld := webtest.NewEx(t, "GET", "http://site.test/withheld", 200)
	withheld.Response.Body = bodytap.Body{Size: 100, Withheld: true, Err: errors.New("cannot decode")}
	e.Record(html, img, svg, hexx, large, text, trunc, bad, withheld)

	check := func(x webtest.Ex, wants ...string) string {
		t.Helper()
		resp, body := e.Get("/x/" + x.ID.String())
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", x.Request.URL, resp.StatusCode)
		}
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q", x.Request.URL, w)
			}
		}
		return body
	}
	body := check(html, `&lt;script&gt;alert(1)&lt;/script&gt;`, `markup shown as source`, `charset: utf-8`)
	if strings.Contains(body, "<script>alert") {
		t.Error("HTML body not escaped")
	}
	check(img, `<img class="preview" id="img-response" src="/x/`+img.ID.String()+`/body/response/image"`)
	check(svg, `&lt;svg`, `onload=&#34;alert(1)&#34;`)
	check(hexx, `00000000  00 01 02 03 ff 41 42 7f`, `|.....AB.|`)
	check(large, `data-load="lazy-response"`, `/body/response/text?pretty=1`)
	check(text, `café`, `charset: iso-8859-1`)
	// Truncated JSON: indented as far as it goes, the cut marked; the two
	// marks distinct.
	check(trunc, `✂ truncated: 14 B of 4.88 KiB kept`, `■ redacted`, `JSON cut short`,
		"{\n  &#34;a&#34;: &#34;partial</pre>", `<p class="cut" id="cut-response">✂ The capture stops here`)
	check(bad, `not valid JSON: shown as text`, `{&#34;a&#34;: nope}`)
	check(trunc, `<dt>Request Content-Length</dt><dd>0</dd>`)
	check(bad, `<dt>Response Content-Length</dt><dd>123</dd>`)
	check(withheld, `withheld`, `cannot decode`)

	// The image is served only because its bytes are PNG; the SVG never.
	resp, data := e.Get("/x/" + img.ID.String() + "/body/response/image")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || data != string(pngData) {
		t.Errorf("png image: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, x := range []webtest.Ex{svg, html, hexx} {
		if resp, _ := e.Get("/x/" + x.ID.String() + "/body/response/image"); resp.StatusCode != 404 {
			t.Errorf("%s served as an image: %d", x.Request.URL, resp.StatusCode)
		}
	}

	// Lazy loading: the whole body, pretty-printed, as text/plain.
	resp, data = e.Get("/x/" + large.ID.String() + "/body/response/text?pretty=1")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(data, "\n  \"items\": [\n    \"abc") || !strings.Contains(data, `"end"`) {
		t.Errorf("lazy text: %d %s %.100q", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	resp, data = e.Get("/x/" + hexx.ID.String() + "/body/response/hex?offset=4")
	if resp.StatusCode != 200 || !strings.HasPrefix(data, "00000004  ff 41 42 7f") {
		t.Errorf("hex chunk: %d %q", resp.StatusCode, data)
	}
}

func TestRawDownload(t *testing.T) {
	e := newEnv(t, Config{})
	payload := []byte(`<html><meta http-equiv="refresh" content="0;url=/pwned"><script>alert(1)</script>`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(payload)
	zw.Close()
	x := webtest.NewEx(t, "GET", "http://site.test/", 200).RespBody("text/html", gz.Bytes()).RespHeader("Content-Encoding", "gzip")
	e.Record(x)
	for view, want := range map[string][]byte{"raw": gz.Bytes(), "decoded": payload} {
		resp, body := e.Get("/x/" + x.ID.String() + "/body/response/" + view)
		if resp.StatusCode != 200 || body != string(want) {
			t.Errorf("%s: %d, %q", view, resp.StatusCode, body)
		}
		h := resp.Header
		if ct := h.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("%s: Content-Type %q", view, ct)
		}
		if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
			t.Errorf("%s: Content-Disposition %q", view, cd)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", view)
		}
		if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
			t.Errorf("%s: CSP %q", view, csp)
		}
	}
	resp, _ := e.Get("/x/" + x.ID.String() + "/body/response/raw")
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, ".html.txt.gz") {
		t.Errorf("raw file name: %q", cd)
	}
	for _, p := range []string{"/body/elsewhere/raw", "/body/response/exec", "/body/request/nope"} {
		if resp, _ := e.Get("/x/" + x.ID.String() + p); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"", "plain", "it's", `a "b" $c $(touch /tmp/x) ` + "`id`", "new\nline", "'", "'''", `\`, "ünï", "-X", "&;|<>*?[]{}~#!"} {
		out, err := exec.Command(sh, "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellQuote(%q) = %s: sh prints %q, %v", s, shellQuote(s), out, err)
		}
	}
}

func TestCurl(t *testing.T) {
	x := webtest.NewEx(t, "PUT", "https://api.test/x?a=1&b=2", 200).
		ReqBody("application/json", []byte(`{"name":"o'brien"}`)).
		ReqHeader("Authorization", "Bearer [REDACTED]")
	x.Request.Header.Set("Content-Length", "18")
	cmd, note := curlCommand(x.Exchange)
	want := `curl -X PUT 'https://api.test/x?a=1&b=2' \
  -H 'Accept: */*' \
  -H 'Authorization: Bearer [REDACTED]' \
  -H 'Content-Type: application/json' \
  -H 'User-Agent: test/1.0' \
  --data-binary '{"name":"o'\''brien"}'`
	if cmd != want || note != "" {
		t.Errorf("curl:\n%s\nnote %q\nwant:\n%s", cmd, note, want)
	}
	y := webtest.NewEx(t, "POST", "http://api.test/up", 200).ReqBody("application/octet-stream", []byte{0, 1, 2})
	y.Request.Body.Truncated = true
	cmd, note = curlCommand(y.Exchange)
	if !strings.Contains(cmd, "--data-binary @request-body.bin") || !strings.Contains(note, "binary") || !strings.Contains(note, "truncated") {
		t.Errorf("binary curl: %s / %s", cmd, note)
	}
}

func TestHARExport(t *testing.T) { eachStore(t, testHARExport) }

func testHARExport(t *testing.T, be backend) {
	e := be.newEnv(t, Config{})
	a := webtest.NewEx(t, "GET", "http://api.test/a", 200).RespBody("application/json", []byte(`{"a":1}`))
	b := webtest.NewEx(t, "POST", "http://api.test/b", 500)
	c := webtest.NewEx(t, "POST", "http://api.test/c", 201)
	e.Record(a, b, c)

	for _, tc := range []struct {
		query string
		want  []bodytap.ID
	}{
		{"", []bodytap.ID{c.ID, b.ID, a.ID}},
		{"?f=" + url.QueryEscape("~m POST"), []bodytap.ID{c.ID, b.ID}},
		{"?id=" + a.ID.String(), []bodytap.ID{a.ID}},
	} {
		resp, body := e.Get("/api/har" + tc.query)
		if resp.StatusCode != 200 {
			t.Fatalf("har%s: %d %s", tc.query, resp.StatusCode, body)
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="bodytap-`) {
			t.Errorf("har%s: Content-Disposition %q", tc.query, cd)
		}
		log, err := har.Read(strings.NewReader(body))
		if err != nil {
			t.Fatalf("har%s: %v", tc.query, err)
		}
		var got []bodytap.ID
		for _, en := range log.Entries {
			id, _ := bodytap.ParseID(en.ID)
			got = append(got, id)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("har%s: entries %v, want %v", tc.query, got, tc.want)
		}
	}
	if resp, _ := e.Get("/api/har?f=" + url.QueryEscape("~bogus")); resp.StatusCode != 400 {
		t.Errorf("bad filter: %d", resp.StatusCode)
	}
}

func TestStream(t *testing.T) { eachStore(t, testStream) }

func testStream(t *testing.T, b backend) {
	e := b.newEnv(t, Config{})
	old := webtest.NewEx(t, "GET", "http://api.test/old", 200)
	missed := webtest.NewEx(t, "GET", "http://api.test/missed", 200) // stored after the page, before the stream
	e.Record(old, missed)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.Srv.URL+"/api/stream?f="+url.QueryEscape("~m GET")+"&after="+old.ID.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan row, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var r row
				if json.Unmarshal([]byte(data), &r) == nil {
					events <- r
				}
			}
		}
		close(events)
	}()
	next := func(within time.Duration) (row, bool) {
		select {
		case r, ok := <-events:
			return r, ok
		case <-time.After(within):
			return row{}, false
		}
	}
	if r, ok := next(2 * time.Second); !ok || r.ID != missed.ID.String() {
		t.Fatalf("backfill: %+v %v, want %s", r, ok, missed.ID)
	}
	// Record a POST the filter drops, and a GET that must arrive within
	// a second.
	post := webtest.NewEx(t, "POST", "http://api.test/post", 200)
	get := webtest.NewEx(t, "GET", "http://api.test/new?q=<b>", 404)
	start := time.Now()
	e.RecordAsync(post)
	e.RecordAsync(get)
	r, ok := next(time.Second)
	if !ok || r.ID != get.ID.String() {
		t.Fatalf("live: %+v %v, want %s", r, ok, get.ID)
	}
	t.Logf("live update after %v", time.Since(start))
	if r.Href != "/x/"+get.ID.String() || r.Status != "404" || r.Class != "s4" || r.Path != "/new?q=%3Cb%3E" && r.Path != "/new?q=<b>" {
		t.Errorf("row: %+v", r)
	}
	// Close ends the stream.
	e.viewer.Close()
	if _, ok := next(2 * time.Second); ok {
		t.Error("stream goes on after Close")
	}
}

func TestJSONTree(t *testing.T) {
	n, err := parseJSONTree([]byte(` {"b": [1, 2.50, {"c": null}], "a": "\u003cx\u003e", "e": {}, "f": []} `))
	if err != nil {
		t.Fatal(err)
	}
	if n.Kind != "o" || len(n.Children) != 4 || n.Children[0].Key != `"b"` || n.Children[1].Value != `"<x>"` ||
		n.Children[0].Children[1].Value != "2.50" || n.Children[2].Value != "{}" || !n.Children[3].Last || n.Summary != "4 keys" {
		t.Errorf("tree: %+v", n)
	}
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	if _, err := parseJSONTree([]byte(deep)); !errors.Is(err, errJSONTooBig) {
		t.Errorf("deep JSON: %v", err)
	}
	many := "[" + strings.Repeat("1,", maxJSONNodes) + "1]"
	if _, err := parseJSONTree([]byte(many)); !errors.Is(err, errJSONTooBig) {
		t.Errorf("large JSON: %v", err)
	}
	for _, bad := range []string{`{"a":1} {}`, `{"a":`, `[1,]`} {
		if _, err := parseJSONTree([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
}

func TestStatic(t *testing.T) {
	e := newEnv(t, Config{})
	_, page := e.Get("/")
	m := regexp.MustCompile(`src="(/static/app\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no versioned script in the page")
	}
	resp, body := e.Get(m[1])
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, "use strict") {
		t.Errorf("app.js: %d %v", resp.StatusCode, resp.Header)
	}
	// The script never hands a string to an HTML sink.
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc", "javascript:"} {
		if strings.Contains(body, sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
}

// TestStreamOtherWriter follows a store that another Store writes, as
// "bodytap ui" follows the file of a running "bodytap proxy".
func TestStreamOtherWriter(t *testing.T) { eachStore(t, testStreamOtherWriter) }

func testStreamOtherWriter(t *testing.T, b backend) {
	dsn := b.dsn(t)
	w, err := stores.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := stores.Open(context.Background(), dsn, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := New(Config{Store: r})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(v)
	defer srv.Close()
	defer v.Close()

	resp, err := http.Get(srv.URL + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ids := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				ids <- id
			}
		}
	}()
	// The stream subscribed before it sent its headers: no need to wait.
	x := webtest.NewEx(t, "GET", "http://api.test/elsewhere", 200)
	start := time.Now()
	w.Record(x.Exchange)
	select {
	case id := <-ids:
		if id != x.ID.String() {
			t.Fatalf("got %s, want %s", id, x.ID)
		}
		t.Logf("live update from the other writer after %v", time.Since(start))
	case <-time.After(time.Second):
		t.Fatal("no live update within a second")
	}
}
