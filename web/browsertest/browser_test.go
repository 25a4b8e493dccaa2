package browsertest

// The tests in this file drive a real headless Chromium (Debian package
// chromium) through chromedp. One browser serves the whole package; each
// test opens its own tab. Without a browser they skip, except in CI (the
// CI variable is set), where they fail.
//
// Set BODYTAP_SCREENSHOT_DIR to keep the screenshots they take; those in
// web/docs/ were made so, from web/browsertest: BODYTAP_SCREENSHOT_DIR=../docs
// go test -run Browser . (a relative directory is taken from the package's).

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap/web"
	"github.com/bodytap/bodytap/web/internal/webtest"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chrome is the browser the tests share, started by the first that needs
// it and stopped by TestMain.
var chrome struct {
	once   sync.Once
	ctx    context.Context
	cancel []context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, cancel := range chrome.cancel {
		cancel()
	}
	os.Exit(code)
}

// findChromium returns the path of the browser: $BODYTAP_CHROMIUM, or the
// first of the usual names on $PATH and in /usr/bin.
func findChromium() string {
	if p := os.Getenv("BODYTAP_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := "/usr/bin/" + name; fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// browserContext returns the shared browser, starting it if needed.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	chrome.once.Do(func() {
		path := findChromium()
		if path == "" {
			chrome.err = errors.New("no Chromium found: install the Debian package chromium (apt-get install chromium) or set BODYTAP_CHROMIUM")
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.WindowSize(1280, 800),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.Flag("force-color-profile", "srgb"),
			chromedp.Flag("lang", "en-US"),
		)
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		chrome.cancel = []context.CancelFunc{cancelBrowser, cancelAlloc}
		if err := chromedp.Do(bctx); err != nil {
			chrome.err = fmt.Errorf("start %s: %w", path, err)
			return
		}
		// Downloads go nowhere: the tests only check that bodies are
		// served as downloads.
		if _, err := chromedp.CallBrowser(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorDeny}); err != nil {
			chrome.err = err
			return
		}
		chrome.ctx = bctx
	})
	if chrome.err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests: %v", chrome.err)
		}
		t.Skipf("browser tests skipped: %v", chrome.err)
	}
	return chrome.ctx
}

// tab is a browser tab for one test. It records what must never happen
// in the viewer: a JavaScript dialog, an exception, and a violation of the
// Content-Security-Policy (which would mean that markup from a capture
// reached the page, even if the policy then stopped it).
type tab struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	dialogs    []string
	exceptions []string
	violations []string
}

// reportScript runs in every document before its own scripts.
const reportScript = `document.addEventListener("securitypolicyviolation", function (e) {
	window.__bodytapReport([e.violatedDirective, e.blockedURI, e.sample || "", e.sourceFile || ""].join(" | "));
});`

func newTab(t *testing.T) *tab {
	t.Helper()
	bctx := browserContext(t)
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, string(ev.Type)+": "+ev.Message)
			tb.mu.Unlock()
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		case *runtime.EventExceptionThrown:
			tb.mu.Lock()
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			tb.exceptions = append(tb.exceptions, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber))
			tb.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	tb.do(
		chromedp.ExposeFunc("__bodytapReport", func(_ context.Context, s string) (chromedp.Void, error) {
			tb.mu.Lock()
			tb.violations = append(tb.violations, s)
			tb.mu.Unlock()
			return chromedp.Void{}, nil
		}),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: reportScript})
			return err
		}),
	)
	t.Cleanup(tb.checkClean)
	return tb
}

// do runs actions, failing the test on error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is true, for at most d. It
// goes on through navigations, which end the page it evaluates in.
func (tb *tab) waitFor(expr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("still false")
			}
			return fmt.Errorf("after %v: %w", d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mustWait is waitFor that fails the test.
func (tb *tab) mustWait(expr string, d time.Duration) {
	tb.t.Helper()
	if err := tb.waitFor(expr, d); err != nil {
		tb.t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// open navigates to a path of the viewer and waits for the page to load.
func (tb *tab) open(e *testEnv, path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(e.Srv.URL + path))
	tb.mustWait(`document.readyState === "complete"`, 10*time.Second)
}

// waitPage waits for a navigation to a URL that contains want.
func (tb *tab) waitPage(want string) {
	tb.t.Helper()
	tb.mustWait(fmt.Sprintf(`location.href.includes(%q) && document.readyState === "complete"`, want), 10*time.Second)
}

// screenshot saves a PNG of the viewport in the test's temporary directory
// and, when BODYTAP_SCREENSHOT_DIR is set and the name starts with
// "screenshot", there too.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	dirs := []string{tb.t.TempDir()}
	if d := os.Getenv("BODYTAP_SCREENSHOT_DIR"); d != "" && strings.HasPrefix(name, "screenshot") {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			tb.t.Fatal(err)
		}
		tb.t.Logf("screenshot: %s", p)
	}
}

// checkClean fails the test if a dialog opened, a script threw, or the
// page violated its Content-Security-Policy.
func (tb *tab) checkClean() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, d := range tb.dialogs {
		tb.t.Errorf("a JavaScript dialog opened: %s", d)
	}
	for _, x := range tb.exceptions {
		tb.t.Errorf("JavaScript exception: %s", x)
	}
	for _, v := range tb.violations {
		tb.t.Errorf("Content-Security-Policy violation: %s", v)
	}
}

// noOverflow is true when the page is no wider than the window.
const noOverflow = `document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth`

func TestBrowserListFilterDetail(t *testing.T) {
	e := newEnv(t, web.Config{})
	xs := demoExchanges(t)
	e.Record(xs...)
	order := demoOrder(xs)
	tb := newTab(t)

	// The list: every exchange, newest first, each row a link.
	tb.open(e, "/")
	if n := eval[int](tb, `document.querySelectorAll("#rows > a.row[href^='/x/']").length`); n != len(xs) {
		t.Fatalf("list shows %d rows, want %d", n, len(xs))
	}
	if first := eval[string](tb, `document.querySelector("#rows > a.row").dataset.id`); first != xs[len(xs)-1].ID.String() {
		t.Errorf("first row %s, want the newest %s", first, xs[len(xs)-1].ID)
	}
	tb.mustWait(`document.getElementById("live").dataset.state === "open"`, 5*time.Second)
	tb.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	tb.screenshot("screenshot.png")

	// Filter: type into the box and submit with Enter.
	tb.do(
		chromedp.Click(chromedp.ID("filter")),
		chromedp.SendKeys(chromedp.ID("filter"), "~m POST & ~u /api/orders\n"),
	)
	tb.waitPage("f=")
	want := 0
	for _, x := range xs {
		if x.Request.Method == "POST" && strings.Contains(x.Request.URL.String(), "/api/orders") {
			want++
		}
	}
	if n := eval[int](tb, `document.querySelectorAll("#rows > a.row").length`); n != want || want == 0 {
		t.Fatalf("filtered list shows %d rows, want %d", n, want)
	}
	if v := eval[string](tb, `document.getElementById("filter").value`); v != "~m POST & ~u /api/orders" {
		t.Errorf("filter box holds %q", v)
	}

	// A bad filter shows its error in one line.
	tb.open(e, "/?f="+url.QueryEscape("~c (("))
	if msg := eval[string](tb, `document.getElementById("filter-error").textContent`); msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("filter error %q", msg)
	}

	// Keyboard: "/" focuses the box, ArrowDown moves into the list,
	// j/k and the arrows move through it, Enter opens the row.
	tb.open(e, "/")
	tb.do(chromedp.KeyEvent("/"))
	tb.mustWait(`document.activeElement.id === "filter"`, 2*time.Second)
	tb.do(chromedp.KeyEvent(kb.ArrowDown))
	tb.do(chromedp.KeyEvent("j"))
	tb.do(chromedp.KeyEvent(kb.ArrowDown))
	tb.do(chromedp.KeyEvent("k"))
	focused := eval[string](tb, `document.activeElement.dataset.id || ""`)
	if focused != order[1] {
		t.Fatalf("after down, j, down, k the focus is on %q, want the second row %s", focused, order[1])
	}
	tb.do(chromedp.KeyEvent(kb.Enter))
	tb.waitPage("/x/" + focused)

	// The detail page of a JSON exchange: pretty, foldable JSON.
	detail := findEx(t, xs, "/api/orders")
	tb.open(e, "/x/"+detail.ID.String())
	if keys := eval[[]string](tb, `Array.from(document.querySelectorAll("#json-response .jk")).slice(0, 3).map(e => e.textContent)`); strings.Join(keys, ",") != `"id","status","customer"` {
		t.Errorf("JSON keys %v", keys)
	}
	if n := eval[int](tb, `document.querySelectorAll("#json-response details.j[open]").length`); n < 2 {
		t.Errorf("%d open JSON nodes", n)
	}
	if !eval[bool](tb, `getComputedStyle(document.querySelector("#json-response .vs")).color !== getComputedStyle(document.querySelector("#json-response .jk")).color`) {
		t.Error("JSON strings and keys are not coloured apart")
	}
	tb.do(chromedp.Click(chromedp.CSS(`#body-response button[data-fold="0"]`)))
	if n := eval[int](tb, `document.querySelectorAll("#json-response details.j[open]").length`); n != 0 {
		t.Errorf("collapse all left %d nodes open", n)
	}
	tb.do(chromedp.Click(chromedp.CSS(`#body-response button[data-fold="1"]`)))
	if !eval[bool](tb, `!document.getElementById("copy-curl").hidden && document.getElementById("curl").textContent.startsWith("curl -X POST")`) {
		t.Error("no copy-as-curl button or command")
	}
	if !eval[bool](tb, `document.getElementById("status").classList.contains("s2")`) {
		t.Error("status not coloured as 2xx")
	}
	if txt := eval[string](tb, `document.getElementById("tth").textContent + " / " + document.getElementById("total-time").textContent`); txt != "4.20 ms / 18.5 ms" {
		t.Errorf("timings %q", txt)
	}
	tb.screenshot("screenshot-detail.png")

	// The deep link survives a reload and works in a fresh tab.
	tb.do(chromedp.Reload())
	tb.mustWait(`document.readyState === "complete" && document.querySelector("#json-response .jk") !== null`, 10*time.Second)
	tb2 := newTab(t)
	tb2.open(e, "/x/"+detail.ID.String())
	if u := eval[string](tb2, `document.getElementById("url").textContent`); u != detail.Request.URL.String() {
		t.Errorf("deep link shows %q", u)
	}
	// Escape goes back to the list.
	tb.do(chromedp.KeyEvent(kb.Escape))
	tb.mustWait(`location.pathname === "/" && document.readyState === "complete"`, 10*time.Second)
}

func TestBrowserLive(t *testing.T) {
	e := newEnv(t, web.Config{})
	e.Record(webtest.NewEx(t, "GET", "http://api.test/first", 200))
	tb := newTab(t)
	tb.open(e, "/")
	tb.mustWait(`document.getElementById("live").dataset.state === "open"`, 5*time.Second)

	// A new capture shows within a second.
	x := webtest.NewEx(t, "POST", "http://api.test/live", 503)
	start := time.Now()
	e.RecordAsync(x)
	sel := fmt.Sprintf(`document.querySelector('#rows > a.row[data-id=%q]')`, x.ID.String())
	if err := tb.waitFor(sel+` !== null`, time.Second); err != nil {
		t.Fatalf("the new exchange did not show within a second: %v", err)
	}
	t.Logf("live update shown %v after Record", time.Since(start))
	if !eval[bool](tb, sel+`.classList.contains("s5") && `+sel+`.getAttribute("href") === "/x/`+x.ID.String()+`" && document.querySelector("#rows > a.row") === `+sel) {
		t.Error("the live row is not a 5xx link at the top")
	}

	// Paused, new captures wait; resumed, they show.
	tb.do(chromedp.Click(chromedp.ID("pause")))
	y := webtest.NewEx(t, "GET", "http://api.test/while-paused", 200)
	e.Record(y)
	tb.mustWait(`document.getElementById("live-text").textContent === "paused · 1 new"`, 2*time.Second)
	ysel := fmt.Sprintf(`document.querySelector('#rows > a.row[data-id=%q]')`, y.ID.String())
	if eval[bool](tb, ysel+` !== null`) {
		t.Fatal("a row was added while paused")
	}
	tb.do(chromedp.Click(chromedp.ID("pause")))
	tb.mustWait(ysel+` !== null`, time.Second)
	if st := eval[string](tb, `document.getElementById("live").dataset.state`); st != "open" {
		t.Errorf("live state %q after resume", st)
	}
	// The row opens its exchange.
	tb.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows > a.row[data-id=%q]`, x.ID.String()))))
	tb.waitPage("/x/" + x.ID.String())
}

func TestBrowserMobile(t *testing.T) {
	e := newEnv(t, web.Config{})
	xs := demoExchanges(t)
	e.Record(xs...)
	tb := newTab(t)
	tb.do(chromedp.EmulateViewport(375, 700, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	t.Cleanup(func() { chromedp.Do(tb.ctx, chromedp.EmulateReset()) })

	tb.open(e, "/")
	if !eval[bool](tb, noOverflow) {
		t.Errorf("list overflows a 375 px window: %d px wide", eval[int](tb, `document.documentElement.scrollWidth`))
	}
	// Method, path and status stay visible; the less important go.
	for _, c := range []string{"c-method", "c-url", "c-status", "c-dur"} {
		if !eval[bool](tb, fmt.Sprintf(`document.querySelector("#rows > a.row .%s").getBoundingClientRect().width > 10`, c)) {
			t.Errorf("column %s hidden on a narrow window", c)
		}
	}
	if !eval[bool](tb, `getComputedStyle(document.querySelector("#rows > a.row .c-type")).display === "none"`) {
		t.Error("type column still shown on a narrow window")
	}
	if !eval[bool](tb, `document.querySelector("#rows > a.row").getBoundingClientRect().right <= window.innerWidth`) {
		t.Error("rows wider than the window")
	}
	tb.screenshot("screenshot-mobile.png")

	for _, path := range []string{"/x/" + findEx(t, xs, "/api/orders").ID.String(), "/x/" + findEx(t, xs, "/img/logo.png").ID.String(), "/x/" + findEx(t, xs, "/download/report.bin").ID.String()} {
		tb.open(e, path)
		if !eval[bool](tb, noOverflow) {
			t.Errorf("%s overflows a 375 px window: %d px wide", path, eval[int](tb, `document.documentElement.scrollWidth`))
		}
	}
}

func TestBrowserBodies(t *testing.T) {
	e := newEnv(t, web.Config{})
	xs := demoExchanges(t)
	e.Record(xs...)
	tb := newTab(t)

	// A large body loads on demand, as text.
	big := findEx(t, xs, "/api/export")
	tb.open(e, "/x/"+big.ID.String())
	if !eval[bool](tb, `document.getElementById("lazy-response").hidden`) {
		t.Error("large body shown before it was asked for")
	}
	tb.do(chromedp.Click(chromedp.CSS(`a[data-load="lazy-response"]`)))
	tb.mustWait(`!document.getElementById("lazy-response").hidden && document.getElementById("lazy-response").textContent.includes('"row": 2999')`, 5*time.Second)

	// Binary: a hex dump, more on demand.
	bin := findEx(t, xs, "/download/report.bin")
	tb.open(e, "/x/"+bin.ID.String())
	before := eval[int](tb, `document.getElementById("hex-response").textContent.split("\n").length`)
	tb.do(chromedp.Click(chromedp.CSS(`a[data-append="hex-response"]`)))
	tb.mustWait(fmt.Sprintf(`document.getElementById("hex-response").textContent.split("\n").length > %d`, before), 5*time.Second)

	// An image is previewed.
	img := findEx(t, xs, "/img/logo.png")
	tb.open(e, "/x/"+img.ID.String())
	tb.mustWait(`document.getElementById("img-response").complete && document.getElementById("img-response").naturalWidth === 8`, 5*time.Second)
}
