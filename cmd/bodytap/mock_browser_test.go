package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/har"
)

// logoPNG is a 2×2 PNG image, for a binary body that a HAR file carries in
// base64.
var logoPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGM4IScnd0KOAUIBAB3SBBHfPB1bAAAAAElFTkSuQmCC")

// browserPaths are the pages the browser opens in browserApp.
var browserPaths = []string{"/", "/old", "/api/items?page=2&sort=name"}

// browserApp is a small web application as a browser uses it: a page sent
// gzip-compressed that loads a stylesheet, a script and an image, the
// script fetching JSON with a GET and a POST; a redirect to a second page;
// a JSON document opened directly. Every answer is the same each time, so
// that a HAR recorded once still describes it.
func browserApp() http.Handler {
	mux := http.NewServeMux()
	page := func(title, body string) string {
		return `<!doctype html>
<html><head><meta charset="utf-8"><title>` + title + `</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script></head>
<body><h1>` + title + `</h1><img src="/static/logo.png" alt="logo">` + body + `<pre id="out"></pre></body></html>
`
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, page("Shop", strings.Repeat("<p>Everything must go.</p>\n", 40)))
		zw.Close()
	})
	mux.HandleFunc("GET /old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/docs/page?lang=en", http.StatusFound)
	})
	mux.HandleFunc("GET /docs/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page("Docs ("+r.URL.Query().Get("lang")+")", "<p>Read me.</p>"))
	})
	mux.HandleFunc("GET /static/app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		io.WriteString(w, "body { font-family: sans-serif; }\nh1 { color: #c33; }\n")
	})
	mux.HandleFunc("GET /static/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		io.WriteString(w, `(async () => {
  const items = await (await fetch("/api/items?page=1&sort=name")).json();
  const order = await (await fetch("/api/orders", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({item: items.items[0].id, qty: 2}),
  })).json();
  document.getElementById("out").textContent = JSON.stringify({items, order});
})();
`)
	})
	mux.HandleFunc("GET /static/logo.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(logoPNG)
	})
	mux.HandleFunc("GET /api/items", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"page":%q,"items":[{"id":7,"name":"lamp","price":12.5},{"id":9,"name":"rug","price":40}]}`, r.URL.Query().Get("page"))
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"order":{"id":1001,"request":%s}}`, b)
	})
	return mux
}

// recordedHAR is a HAR file that TestMockPlaywrightHAR recorded, kept so
// that TestMockRecordedChromiumHAR checks the mock against a browser's HAR
// file even where no browser runs. go test -run TestMockPlaywrightHAR
// -update-har records it again.
const recordedHAR = "testdata/playwright/chromium.har"

var updateHAR = flag.Bool("update-har", false, "write the HAR file that TestMockPlaywrightHAR records to "+recordedHAR)

// seen is one response a browser received, as browse.js writes it.
type seen struct {
	Method      string
	URL         string
	Status      int
	ContentType string
	Body        []byte // from base64; nil for a redirect
}

// key is the response's request without scheme and host, which differ
// between the application and the mock.
func (s seen) key(t *testing.T) string {
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatalf("browse.js wrote the URL %q: %v", s.URL, err)
	}
	return s.Method + " " + u.RequestURI()
}

// playwright returns node and the directory of browse.js with Playwright
// installed in it, failing the test in CI when something is missing and
// skipping it elsewhere.
func playwright(t *testing.T) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs("testdata/playwright")
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	why := ""
	switch _, serr := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); {
	case err != nil:
		why = "node is not installed"
	case serr != nil:
		why = "playwright-core is not installed (npm ci --prefix cmd/bodytap/testdata/playwright)"
	case chromiumPath() == "":
		why = "chromium is not installed"
	}
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s, and CI is set: run .ci/setup", why)
		}
		t.Skipf("skipped: %s; run .ci/setup", why)
	}
	return node, dir
}

// chromiumPath is Debian's Chromium, or "".
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browse runs browse.js: a headless Chromium opens paths of base, and
// records a HAR file into harFile unless it is "". It returns what the
// browser received.
func browse(t *testing.T, base, harFile string, paths ...string) []seen {
	t.Helper()
	node, dir := playwright(t)
	out := filepath.Join(t.TempDir(), "seen.json")
	args := []string{"browse.js", base, out}
	if harFile != "" {
		args = append(args, "--har", harFile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append(args, paths...)...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "CHROMIUM="+chromiumPath())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node browse.js %s: %v\n%s", base, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []seen
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("browse.js output: %v\n%.500s", err, b)
	}
	return got
}

// fetch sends a request with body ("" for none) and reads the whole
// answer; a redirect is returned, not followed.
func fetch(t *testing.T, method, u, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return roundTrip(t, c, req)
}

// sameAsApp checks that what a browser received is what app sends: each
// response is fetched again from app, by Go's client, which undoes gzip
// as the browser does.
func sameAsApp(t *testing.T, app string, got []seen) {
	t.Helper()
	for _, s := range got {
		u, _ := url.Parse(s.URL)
		body := ""
		if s.Method == "POST" {
			body = `{"item":7,"qty":2}`
		}
		resp, want := fetch(t, s.Method, app+u.RequestURI(), body)
		if s.Status != resp.StatusCode || s.ContentType != resp.Header.Get("Content-Type") || (s.Body != nil && !bytes.Equal(s.Body, want)) {
			t.Errorf("%s: the browser got %d %q %q, the application sends %d %q %q",
				s.key(t), s.Status, s.ContentType, s.Body, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
}

// TestMockPlaywrightHAR records a HAR file with headless Chromium through
// Playwright while it uses browserApp, serves that file with the real
// 'bodytap mock --har', and has the browser use the mock the same way: it
// must receive the same responses, byte for byte.
func TestMockPlaywrightHAR(t *testing.T) {
	app := httptest.NewServer(browserApp())
	defer app.Close()
	harFile := filepath.Join(t.TempDir(), "chromium.har")
	orig := browse(t, app.URL, harFile, browserPaths...)
	sameAsApp(t, app.URL, orig)
	want := map[string]seen{}
	for _, s := range orig {
		want[s.key(t)] = s
	}
	for _, k := range []string{"GET /", "GET /old", "GET /docs/page?lang=en", "GET /static/logo.png", "GET /api/items?page=1&sort=name", "POST /api/orders"} {
		if _, ok := want[k]; !ok {
			t.Fatalf("the browser never received %s: %d responses", k, len(orig))
		}
	}
	checkPlaywrightHAR(t, harFile)
	if *updateHAR {
		b, err := os.ReadFile(harFile)
		if err == nil {
			err = os.WriteFile(recordedHAR, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	m, stderr := startMock(t, "--har", harFile, "--match-body")
	got := browse(t, m, "", browserPaths...)
	if len(got) != len(orig) {
		t.Errorf("from the mock the browser received %d responses, from the application %d", len(got), len(orig))
	}
	for _, g := range got {
		k := g.key(t)
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("%s: %d %q from the mock, never received from the application", k, g.Status, g.Body)
		case g.Status != w.Status || g.ContentType != w.ContentType || !bytes.Equal(g.Body, w.Body):
			t.Errorf("%s: %d %q %q from the mock, %d %q %q from the application", k, g.Status, g.ContentType, g.Body, w.Status, w.ContentType, w.Body)
		}
	}
	// Chromium asks for /favicon.ico by itself; Playwright neither shows
	// nor records it, so that it is the one miss allowed.
	for line := range strings.Lines(stderr.String()) {
		if strings.Contains(line, " miss ") && !strings.Contains(line, " miss GET /favicon.ico ") {
			t.Errorf("the mock missed a request: %s", line)
		}
	}
}

// checkPlaywrightHAR checks that harFile really is what Chromium records,
// with the traits the mock must cope with: a creator and browser naming
// Playwright and Chromium, a body stored decoded under a Content-Encoding
// header, a binary body in base64, a POST body.
func checkPlaywrightHAR(t *testing.T, harFile string) {
	t.Helper()
	b, err := os.ReadFile(harFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Creator struct{ Name string }
			Browser struct{ Name string }
			Entries []har.Entry
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the recorded HAR: %v", err)
	}
	l := doc.Log
	if l.Creator.Name != "Playwright" || l.Browser.Name != "chromium" {
		t.Errorf("the HAR was written by %q with %q, want Playwright with chromium", l.Creator.Name, l.Browser.Name)
	}
	var gzipped, base64ed, posted bool
	for _, e := range l.Entries {
		for _, h := range e.Response.Headers {
			gzipped = gzipped || (strings.EqualFold(h.Name, "Content-Encoding") && h.Value == "gzip" && strings.HasPrefix(e.Response.Content.Text, "<!doctype html>"))
		}
		base64ed = base64ed || e.Response.Content.Encoding == "base64"
		posted = posted || (e.Request.PostData != nil && e.Request.PostData.Text == `{"item":7,"qty":2}`)
	}
	if !gzipped || !base64ed || !posted {
		t.Errorf("the recorded HAR lacks a decoded gzip body (%v), a base64 body (%v) or the POST body (%v)", gzipped, base64ed, posted)
	}
}

// TestMockRecordedChromiumHAR serves the HAR file headless Chromium
// recorded (recordedHAR) with the real 'bodytap mock', and checks each
// entry against browserApp: the mock must answer what the application
// sends, byte for byte (gzip undone, as the browser recorded it), and the
// redirect whose body Chromium left out as a redirect.
func TestMockRecordedChromiumHAR(t *testing.T) {
	app := httptest.NewServer(browserApp())
	defer app.Close()
	b, err := os.ReadFile(recordedHAR)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct{ Entries []har.Entry }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	m, stderr := startMock(t, "--har", recordedHAR, "--match-body")
	var got []seen
	for _, e := range doc.Log.Entries {
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			t.Fatal(err)
		}
		body := ""
		if e.Request.PostData != nil {
			body = e.Request.PostData.Text
		}
		resp, b := fetch(t, e.Request.Method, m+u.RequestURI(), body)
		if resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s %s: Content-Encoding %q on a body Chromium stored decoded", e.Request.Method, u.RequestURI(), resp.Header.Get("Content-Encoding"))
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusFound && loc != "/docs/page?lang=en" {
			t.Errorf("%s: Location %q", u.RequestURI(), loc)
		}
		if resp.StatusCode == http.StatusFound {
			b = nil // Chromium kept no body: the browser compares none either
		}
		got = append(got, seen{Method: e.Request.Method, URL: m + u.RequestURI(), Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: b})
	}
	if len(got) < 10 {
		t.Fatalf("%s holds %d entries, want the pages, what they load and what they fetch", recordedHAR, len(got))
	}
	sameAsApp(t, app.URL, got)
	if strings.Contains(stderr.String(), " miss ") {
		t.Errorf("the mock missed requests:\n%s", stderr.String())
	}
}
