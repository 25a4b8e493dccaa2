package browsertest

import (
	"testing"
	"time"

	"github.com/bodytap/bodytap/web"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserFindInBody checks the detail page's search of the bodies:
// the matches, next and previous, folded JSON opening to show a match,
// and the text left as it was when the search is cleared.
func TestBrowserFindInBody(t *testing.T) {
	e := newEnv(t, web.Config{})
	xs := demoExchanges(t)
	e.Record(xs...)
	tb := newTab(t)
	order := findEx(t, xs, "/api/orders")
	tb.open(e, "/x/"+order.ID.String())
	before := eval[string](tb, `document.getElementById("body-response").textContent`)

	tb.do(chromedp.Click(chromedp.CSS(`#body-response button[data-fold="0"]`)))
	tb.do(chromedp.KeyEvent("/"))
	tb.mustWait(`document.activeElement.id === "find-q"`, 2*time.Second)
	// (chromedp sends the "/" as a separate char event, which the page's
	// keydown handler cannot cancel as a browser's keydown does: clear it.)
	tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("find-q").value = ""`), chromedp.SendKeys(chromedp.ID("find-q"), "89.00"))
	if err := tb.waitFor(`document.getElementById("find-count").textContent === "1 of 2"`, 2*time.Second); err != nil {
		t.Fatalf("count %q, value %q", eval[string](tb, `document.getElementById("find-count").textContent`), eval[string](tb, `document.getElementById("find-q").value`))
	}
	if !eval[bool](tb, `(function () {
		const m = document.querySelector("mark.found.cur");
		for (let d = m.closest("details"); d; d = d.parentElement.closest("details")) { if (!d.open) return false; }
		return m.textContent === "89.00" && m.getBoundingClientRect().height > 0;
	})()`) {
		t.Error("the current match is not shown: its folded JSON did not open")
	}
	tb.do(chromedp.KeyEvent(kb.Enter))
	if got := eval[string](tb, `document.getElementById("find-count").textContent`); got != "2 of 2" {
		t.Errorf("after Enter: %q, want 2 of 2", got)
	}
	tb.do(chromedp.Click(chromedp.ID("find-next")))
	if got := eval[string](tb, `document.getElementById("find-count").textContent`); got != "1 of 2" {
		t.Errorf("next from the last: %q, want 1 of 2 (it wraps)", got)
	}
	tb.do(chromedp.Click(chromedp.ID("find-prev")))
	if got := eval[string](tb, `document.getElementById("find-count").textContent`); got != "2 of 2" {
		t.Errorf("previous from the first: %q, want 2 of 2", got)
	}
	tb.screenshot("find-in-body.png")

	// Case is ignored; the request body is searched too.
	tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("find-q").value = ""`), chromedp.SendKeys(chromedp.ID("find-q"), "SPRINGFIELD"))
	tb.mustWait(`document.getElementById("find-count").textContent === "1 of 1" && document.querySelector("#body-request mark.cur") !== null`, 2*time.Second)
	tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("find-q").value = ""`), chromedp.SendKeys(chromedp.ID("find-q"), "nothing like it"))
	tb.mustWait(`document.getElementById("find-count").textContent === "no matches"`, 2*time.Second)

	// Escape clears: no marks, the text as it was.
	tb.do(chromedp.KeyEvent(kb.Escape))
	if n := eval[int](tb, `document.querySelectorAll("mark.found").length`); n != 0 {
		t.Errorf("%d marks left", n)
	}
	if after := eval[string](tb, `document.getElementById("body-response").textContent`); after != before {
		t.Error("the search changed the body's text")
	}
	if !eval[bool](tb, `location.pathname.startsWith("/x/")`) {
		t.Error("Escape in the search box left the page")
	}
	tb.checkClean()
}
