package browsertest

import (
	"testing"
	"time"

	"github.com/bodytap/bodytap/web"
	"github.com/bodytap/bodytap/web/internal/webtest"
	"github.com/chromedp/chromedp"
)

// TestBrowserFilterReference checks the "Filter syntax" panel: a
// reference with headings and tables, not preformatted text, whose
// examples fill the filter box.
func TestBrowserFilterReference(t *testing.T) {
	e := newEnv(t, web.Config{})
	e.Record(webtest.NewEx(t, "POST", "http://api.test/api/orders", 500))
	tb := newTab(t)
	tb.open(e, "/")
	tb.do(chromedp.Click(chromedp.CSS(`#help > summary`)))
	tb.mustWait(`document.getElementById("help").open`, 2*time.Second)
	if n := eval[int](tb, `document.querySelectorAll("#help pre").length`); n != 0 {
		t.Errorf("the reference has %d pre elements", n)
	}
	if n := eval[int](tb, `document.querySelectorAll("#help h3").length`); n != 7 {
		t.Errorf("%d section headings, want 7", n)
	}
	if got := eval[string](tb, `Array.from(document.querySelectorAll("#help .ops th code")).find(c => c.textContent === "~m regex").closest("tr").querySelector("td").textContent`); got != "the request method (ignoring case)" {
		t.Errorf("the ~m row says %q", got)
	}
	if n := eval[int](tb, `document.querySelectorAll("#help .ext").length`); n < 5 {
		t.Errorf("%d operators marked as bodytap's, want the extensions", n)
	}
	tb.screenshot("filter-reference.png")

	// An example fills the box, without leaving the page; Enter applies it.
	const ex = "~m POST & ~u /api & !~c 200"
	tb.do(chromedp.Click(chromedp.CSS(`#help a.example[data-example="` + ex + `"]`)))
	if got := eval[string](tb, `document.getElementById("filter").value`); got != ex {
		t.Errorf("the box holds %q after a click on the example, want %q", got, ex)
	}
	if !eval[bool](tb, `document.activeElement.id === "filter" && location.search === ""`) {
		t.Error("the click should focus the box and stay on the page")
	}
	tb.do(chromedp.KeyEvent("\r"))
	tb.waitPage("f=")
	if n := eval[int](tb, `document.querySelectorAll("#rows > a.row").length`); n != 1 {
		t.Errorf("the example's filter shows %d rows, want 1", n)
	}
	tb.checkClean()
}
