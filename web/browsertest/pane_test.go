package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/web"
	"github.com/bodytap/bodytap/web/internal/webtest"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// wide emulates a window wide enough for the detail pane beside the list.
func (tb *tab) wide() {
	tb.t.Helper()
	tb.do(chromedp.EmulateViewport(1600, 900))
	tb.t.Cleanup(func() { chromedp.Do(tb.ctx, chromedp.EmulateReset()) })
}

// paneShows is true once the pane shows exchange id.
func paneShows(id string) string {
	return fmt.Sprintf(`document.querySelector('#pane #detail[data-id=%q]') !== null`, id)
}

// sseExchange is a stream of server-sent events with the times its
// chunks went out.
func sseExchange(t testing.TB) webtest.Ex {
	var body strings.Builder
	x := webtest.NewEx(t, "GET", "http://shop.local:8080/api/orders/1042/events", 200)
	x.TimeToHeaders, x.Duration = 2*time.Millisecond, 1800*time.Millisecond
	for i, ev := range []string{"event: status\ndata: {\"status\":\"paid\"}", "event: status\ndata: {\"status\":\"packed\"}", ": keep-alive", "event: status\ndata: {\"status\":\"shipped\"}"} {
		body.WriteString(ev + "\n\n")
		x.Response.Chunks = append(x.Response.Chunks, bodytap.Chunk{Offset: int64(body.Len()), At: time.Duration(i*400+50) * time.Millisecond})
	}
	x.RespBody("text/event-stream", []byte(body.String()))
	x.Response.Header.Set("Cache-Control", "no-cache")
	return x
}

// TestBrowserDetailPane checks the pane beside the list on a wide window:
// a click shows the exchange there with the list still in view, up/down
// and j/k move through the list and the pane follows, the address keeps
// the selection across a reload, and the rows stay links to pages that
// work alone.
func TestBrowserDetailPane(t *testing.T) {
	e := newEnv(t, web.Config{})
	xs := demoExchanges(t)
	sse := sseExchange(t).At(time.Now())
	e.Record(append(xs, sse)...)
	order := append([]string{sse.ID.String()}, demoOrder(xs)...)
	tb := newTab(t)
	tb.wide()
	tb.open(e, "/")

	tb.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows > a.row[data-id=%q]`, order[1]))))
	tb.mustWait(paneShows(order[1]), 5*time.Second)
	if p := eval[string](tb, `location.pathname + location.hash`); p != "/#"+order[1] {
		t.Errorf("address %q, want /#%s", p, order[1])
	}
	if !eval[bool](tb, `(() => {
		const row = document.querySelector("#rows > a.row").getBoundingClientRect();
		const pane = document.getElementById("pane").getBoundingClientRect();
		return row.width > 300 && row.right <= pane.left + 1 && pane.width > 600 && pane.right <= window.innerWidth + 1;
	})()`) {
		t.Error("the list and the pane are not side by side")
	}
	if !eval[bool](tb, `document.querySelector("#pane .reqline").textContent.includes("/api") || document.querySelector("#pane .reqline").textContent.length > 0`) {
		t.Error("the pane has no request line")
	}

	// The keyboard moves through the list; the pane follows.
	for _, k := range []struct {
		key  string
		want string
	}{{kb.ArrowDown, order[2]}, {"j", order[3]}, {"k", order[2]}, {kb.ArrowUp, order[1]}, {kb.ArrowUp, order[0]}} {
		tb.do(chromedp.KeyEvent(k.key))
		if err := tb.waitFor(paneShows(k.want)+` && document.activeElement.dataset.id === `+fmt.Sprintf("%q", k.want), 5*time.Second); err != nil {
			t.Fatalf("after %q: pane shows %q, focus on %q, want %s", k.key,
				eval[string](tb, `(document.querySelector("#pane #detail") || {dataset: {}}).dataset.id || ""`),
				eval[string](tb, `document.activeElement.dataset.id || ""`), k.want)
		}
	}
	if p := eval[string](tb, `location.hash`); p != "#"+order[0] {
		t.Errorf("address %q after moving, want #%s", p, order[0])
	}

	// The event stream: its chunks and each event's time, in the pane.
	if n := eval[int](tb, `document.querySelectorAll("#pane #sse-response .ev").length`); n != 4 {
		t.Errorf("the pane shows %d events, want 4", n)
	}
	if got := eval[[]string](tb, `Array.from(document.querySelectorAll("#pane #sse-response .at")).map(e => e.textContent)`); strings.Join(got, ",") != "50.0 ms,450 ms,850 ms,1.25 s" {
		t.Errorf("event times %q", got)
	}
	if n := eval[int](tb, `document.querySelectorAll("#pane table.chunks tbody tr").length`); n != 4 {
		t.Errorf("the chunk table has %d rows, want 4", n)
	}
	tb.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	tb.screenshot("screenshot-pane.png")

	// Find works in the pane.
	tb.do(chromedp.SendKeys(chromedp.ID("find-q"), "shipped"))
	tb.mustWait(`document.getElementById("find-count").textContent === "1 of 1" && document.querySelector("#pane mark.found.cur") !== null`, 3*time.Second)

	// A reload shows the selection again.
	tb.do(chromedp.Reload())
	tb.mustWait(`document.readyState === "complete" && `+paneShows(order[0])+` && document.querySelector("#rows > a.row.sel").dataset.id === `+fmt.Sprintf("%q", order[0]), 10*time.Second)

	// Escape closes the pane.
	tb.do(chromedp.Focus(chromedp.CSS(`#rows > a.row.sel`)), chromedp.KeyEvent(kb.Escape))
	tb.mustWait(`document.getElementById("pane") === null && location.hash === ""`, 3*time.Second)

	// The rows are still links to pages of their own.
	if h := eval[string](tb, fmt.Sprintf(`document.querySelector('#rows > a.row[data-id=%q]').getAttribute("href")`, order[2])); h != "/x/"+order[2] {
		t.Errorf("row href %q", h)
	}
	tb2 := newTab(t)
	tb2.wide()
	tb2.open(e, "/x/"+order[2])
	if !eval[bool](tb2, `document.querySelector("main#detail") !== null && document.getElementById("pane") === null`) {
		t.Error("/x/ID is not a page of its own")
	}

	// An exchange that is not on the list still shows from the address;
	// one that does not exist says so.
	tb.open(e, "/?f=~m+POST#"+sse.ID.String())
	tb.mustWait(paneShows(sse.ID.String()), 5*time.Second)
	missing := webtest.ID(time.Now().Add(time.Hour)).String()
	tb.open(e, "/#"+missing)
	tb.mustWait(`document.querySelector("#pane .absent") !== null && document.querySelector("#pane .absent").textContent.startsWith("No such exchange")`, 5*time.Second)
}
