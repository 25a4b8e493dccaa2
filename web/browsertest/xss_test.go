package browsertest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/web"
	"github.com/bodytap/bodytap/web/internal/webtest"
	"github.com/chromedp/chromedp"
)

// xssPayloads set window.__xss, open a dialog or request /pwned when they
// run. PWNED stands for the test server's /pwned address.
var xssPayloads = []string{
	`<script>window.__xss=1</script>`,
	`<script>alert(1)</script>`,
	`<img src=x onerror="window.__xss=1">`,
	`<img src="PWNED?img">`,
	`"><svg onload="window.__xss=1">`,
	`'><svg/onload=alert(2)>`,
	`</pre></code></td><script>window.__xss=1</script>`,
	`</textarea></title><img src=x onerror=window.__xss=1>`,
	`javascript:window.__xss=1`,
	`<iframe src="PWNED?iframe"></iframe>`,
	`<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>`,
	`<meta http-equiv="refresh" content="0;url=PWNED?meta">`,
	`<base href="PWNED/">`,
	`<link rel=stylesheet href="PWNED?css">`,
	`<a href="javascript:window.__xss=1" id=clickme>click</a>`,
	`<details open ontoggle="window.__xss=1">`,
	`{{.}}{{template "x"}}`,
	"\u2028\u2029<script>window.__xss=1</script>",
}

// xssExchanges returns exchanges that carry the payloads everywhere an
// exchange holds text: path, query, host, headers (names and values),
// bodies of every type, route and error.
func xssExchanges(t *testing.T, pwned string) []webtest.Ex {
	p := func(s string) string { return strings.ReplaceAll(s, "PWNED", pwned) }
	all := p(strings.Join(xssPayloads, "\n"))
	var xs []webtest.Ex
	for i, raw := range xssPayloads {
		payload := p(raw)
		x := webtest.NewEx(t, "GET", "http://evil.test/", 200)
		x.Request.URL = &url.URL{Scheme: "http", Host: "evil.test", Path: "/" + payload, RawQuery: "q=" + payload}
		x.Request.Host = "evil.test" + payload
		x.Request.RemoteAddr = payload
		x.Request.Proto = payload
		x.Request.Header = http.Header{
			"X-Evil":            {payload},
			"X-Evil-" + payload: {"name"},
			"Referer":           {payload},
			"Content-Type":      {"text/html"},
			"Cookie":            {"a=" + payload},
			http.CanonicalHeaderKey(p(`x"><img src=PWNED?hdr>`)): {"1"},
		}
		x.Request.Body.Bytes = []byte(all)
		x.Request.Body.Size = int64(len(all))
		x.Route = payload
		x.Err = errors.New(payload)
		x.Response.Status = []int{200, 302, 404, 500, 0}[i%5]
		x.Response.Header = http.Header{
			"Location":     {"javascript:window.__xss=1"},
			"Content-Type": {[]string{"text/html", `text/html"><script>window.__xss=1</script>`, "image/svg+xml", "application/json", "text/plain; charset=" + payload}[i%5]},
			"Refresh":      {"0;url=" + pwned + "?refresh-header"},
			"Set-Cookie":   {payload},
			"Link":         {"<" + pwned + "?link>; rel=preload; as=script"},
		}
		switch i % 5 {
		case 2:
			x.Response.Body.Bytes = []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=1"><script>window.__xss=1</script>` + payload + `</svg>`)
		case 3:
			js := fmt.Sprintf(`{%q: %q, "nested": {"a": [%q]}, "url": "javascript:window.__xss=1"}`, payload, payload, payload)
			x.Response.Body.Bytes = []byte(js)
		default:
			x.Response.Body.Bytes = []byte("<!doctype html><html><head>" + all + "</head><body>" + all + "</body></html>")
		}
		x.Response.Body.Size = int64(len(x.Response.Body.Bytes))
		x.Response.Trailer = http.Header{"X-Trailer": {payload}}
		xs = append(xs, x)
	}
	// A body that claims to be an image but holds markup.
	fake := webtest.NewEx(t, "GET", "http://evil.test/fake.png", 200).RespBody("image/png", []byte(p(`<html><script>window.__xss=1</script><img src="PWNED?fakepng"></html>`)))
	// A method and a URL that are nothing like HTTP.
	odd := webtest.NewEx(t, "GET", "http://evil.test/", 200)
	odd.Request.Method = p(`<img src="PWNED?method">`)
	odd.Request.URL = &url.URL{Scheme: "javascript", Opaque: "window.__xss=1"}
	// A body larger than the page shows, loaded on demand.
	big := webtest.NewEx(t, "GET", "http://evil.test/big", 200).RespBody("text/html", []byte(strings.Repeat(all, (webtest.LazyLimit/len(all))+2)))
	return append(xs, fake, odd, big)
}

func TestBrowserXSS(t *testing.T) {
	e := newEnv(t, web.Config{})
	pwned := e.Srv.URL + "/pwned"
	xs := xssExchanges(t, pwned)
	e.Record(xs...)
	tb := newTab(t)

	// audit checks the page's DOM for anything a payload could have made,
	// then that no payload ran.
	audit := func(where string) {
		t.Helper()
		bad := eval[[]string](tb, `(() => {
			const bad = [];
			for (const el of document.querySelectorAll("*")) {
				for (const a of el.attributes) {
					if (a.name.startsWith("on")) bad.push(el.tagName + " has " + a.name);
					if (["href", "src", "action", "formaction", "srcdoc", "data"].includes(a.name) &&
						!(a.value.startsWith("/") && !a.value.startsWith("//"))) bad.push(el.tagName + " " + a.name + "=" + a.value);
				}
			}
			for (const el of document.querySelectorAll("script")) {
				if (!/^\/static\/app\.js\?v=[0-9a-f]+$/.test(el.getAttribute("src") || "")) bad.push("script " + el.outerHTML.slice(0, 80));
			}
			for (const sel of ["iframe", "frame", "object", "embed", "svg", "base", "form:not(.search)", "textarea", "details[ontoggle]", "meta[http-equiv]", "link:not([rel=stylesheet]):not([rel=icon])"]) {
				for (const el of document.querySelectorAll(sel)) bad.push("element " + el.outerHTML.slice(0, 80));
			}
			for (const el of document.querySelectorAll("img")) {
				if (!/^\/x\/[0-9A-Z]{26}\/body\/(request|response)\/image$/.test(el.getAttribute("src"))) bad.push("img " + el.getAttribute("src"));
			}
			if (window.__xss !== undefined) bad.push("window.__xss = " + window.__xss);
			return bad;
		})()`)
		for _, b := range bad {
			t.Errorf("%s: %s", where, b)
		}
		if got := e.pwnedRequests(); len(got) > 0 {
			t.Fatalf("%s: payloads reached the server: %v", where, got)
		}
	}

	tb.open(e, "/")
	if n := eval[int](tb, `document.querySelectorAll("#rows > a.row").length`); n != len(xs) {
		t.Fatalf("list shows %d rows, want %d", n, len(xs))
	}
	audit("list")
	// The payloads are on the page, as text.
	if !eval[bool](tb, `document.body.textContent.includes("<script>window.__xss=1</script>")`) {
		t.Error("the payloads are not shown as text in the list")
	}
	tb.screenshot("xss-list.png")

	// The same payloads through the live stream.
	live := xssExchanges(t, pwned)[:3]
	tb.mustWait(`document.getElementById("live").dataset.state === "open"`, 5*time.Second)
	e.Record(live...)
	tb.mustWait(fmt.Sprintf(`document.querySelectorAll("#rows > a.row").length === %d`, len(xs)+len(live)), 5*time.Second)
	audit("list after live updates")

	// A filter made of a payload.
	tb.open(e, "/?f="+url.QueryEscape(`~u "<script>window.__xss=1</script>" | ~b "<img src=x onerror=window.__xss=1>"`))
	audit("filtered list")
	tb.open(e, "/?f="+url.QueryEscape(`<script>window.__xss=1</script>(`))
	audit("bad filter")

	for i, x := range xs {
		where := fmt.Sprintf("exchange %d (%s)", i, x.ID)
		tb.open(e, "/x/"+x.ID.String())
		// Use what the page offers: unfold, load, copy.
		tb.do(chromedp.Evaluate[chromedp.Void](`(() => {
			for (const d of document.querySelectorAll("details")) d.open = true;
			for (const b of document.querySelectorAll("button[data-fold='1']")) b.click();
			for (const a of document.querySelectorAll("a[data-load], a[data-append]")) a.click();
		})()`))
		if x.Request.URL.Path == "/big" {
			tb.mustWait(`!document.getElementById("lazy-response").hidden`, 5*time.Second)
		}
		if i == 0 {
			tb.screenshot("xss-detail.png")
		}
		audit(where)
	}

	// The same pages in the pane beside the list, on a wide window.
	tb.wide()
	tb.open(e, "/")
	for i, x := range xs {
		where := fmt.Sprintf("exchange %d (%s) in the pane", i, x.ID)
		tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('#rows > a.row[data-id=%q]').click()`, x.ID.String())))
		tb.mustWait(paneShows(x.ID.String()), 5*time.Second)
		tb.do(chromedp.Evaluate[chromedp.Void](`(() => {
			for (const d of document.querySelectorAll("#pane details")) d.open = true;
			for (const a of document.querySelectorAll("#pane a[data-load], #pane a[data-append]")) a.click();
		})()`))
		if x.Request.URL.Path == "/big" {
			tb.mustWait(`!document.getElementById("lazy-response").hidden`, 5*time.Second)
		}
		audit(where)
	}
	tb.do(chromedp.EmulateReset())

	// A captured <meta http-equiv=refresh> never moves the viewer: stay
	// on such a page a while and check that it is still there.
	target := xs[11] // the meta refresh payload
	if !strings.Contains(xssPayloads[11], "refresh") {
		t.Fatal("payload 11 is not the meta refresh")
	}
	tb.open(e, "/x/"+target.ID.String())
	time.Sleep(1500 * time.Millisecond)
	if loc := eval[string](tb, `location.pathname`); loc != "/x/"+target.ID.String() {
		t.Errorf("the page moved to %s", loc)
	}
	audit("meta refresh page after 1.5 s")

	// The bodies' own addresses: none renders as a document that can run
	// anything. Text comes as text/plain; raw bytes are downloads (denied
	// here), leaving the page where it was.
	html := xs[0]
	tb.open(e, "/x/"+html.ID.String()+"/body/response/text")
	if ct := eval[string](tb, `document.contentType`); ct != "text/plain" {
		t.Errorf("body text served as %s", ct)
	}
	if eval[bool](tb, `window.__xss !== undefined || document.querySelector("script, img, svg, iframe, meta[http-equiv]") !== null`) {
		t.Error("body text rendered as HTML")
	}
	for _, v := range []string{"raw", "decoded"} {
		tb.open(e, "/x/"+html.ID.String())
		tb.do(chromedp.Evaluate[chromedp.Void](`location.href = "/x/` + html.ID.String() + `/body/response/` + v + `"`))
		time.Sleep(500 * time.Millisecond)
		if loc := eval[string](tb, `location.pathname`); loc != "/x/"+html.ID.String() {
			t.Errorf("following the %s body link left the page for %s: it was not a download", v, loc)
		}
		audit(v + " body link")
	}
	for _, x := range xs[len(xs)-3:] { // the fake PNG among them
		resp, _ := e.Get("/x/" + x.ID.String() + "/body/response/image")
		if resp.StatusCode != 404 {
			t.Errorf("%s served as an image: %d", x.Request.URL, resp.StatusCode)
		}
	}
	if got := e.pwnedRequests(); len(got) > 0 {
		t.Fatalf("payloads reached the server: %v", got)
	}
}
