package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap/web"
	"github.com/bodytap/bodytap/web/internal/webtest"
)

// TestBrowserLiveCount checks that the count above the list follows the
// rows that arrive live.
func TestBrowserLiveCount(t *testing.T) {
	e := newEnv(t, web.Config{})
	for i := range 23 {
		e.Record(webtest.NewEx(t, "GET", fmt.Sprintf("http://api.test/n/%d", i), 200))
	}
	tb := newTab(t)
	tb.open(e, "/")
	tb.mustWait(`document.getElementById("live").dataset.state === "open"`, 5*time.Second)
	if got := eval[string](tb, `document.getElementById("total").textContent`); got != "23 exchanges" {
		t.Fatalf("count %q, want 23 exchanges", got)
	}
	e.RecordAsync(webtest.NewEx(t, "GET", "http://api.test/live", 200))
	tb.mustWait(`document.querySelectorAll("#rows > a.row").length === 24`, 5*time.Second)
	if got := eval[string](tb, `document.getElementById("total").textContent`); got != "24 exchanges" {
		t.Errorf("after a live row the count says %q, want 24 exchanges", got)
	}

	// With a filter, in its words.
	tb.open(e, "/?f=~u+/live")
	tb.mustWait(`document.getElementById("live").dataset.state === "open"`, 5*time.Second)
	e.RecordAsync(webtest.NewEx(t, "GET", "http://api.test/live/2", 200))
	tb.mustWait(`document.querySelectorAll("#rows > a.row").length === 2`, 5*time.Second)
	if got := eval[string](tb, `document.getElementById("total").textContent`); got != "2 exchanges match" {
		t.Errorf("filtered count %q, want 2 exchanges match", got)
	}
	tb.checkClean()
}

// TestBrowserMarks checks the two marks of the list, truncated and
// redacted, their legend, the Content-Length labels and a truncated JSON
// body, indented up to its cut.
func TestBrowserMarks(t *testing.T) {
	e := newEnv(t, web.Config{})
	trunc := webtest.NewEx(t, "GET", "http://api.test/truncated", 200).RespBody("application/json",
		[]byte(`{"users":[{"name":"ada","roles":["admin","dev"]},{"name":"grace","roles":["ad`))
	trunc.Response.Body.Truncated, trunc.Response.Body.Size = true, 50<<20
	trunc.Response.Header.Set("Content-Length", fmt.Sprint(50<<20))
	red := webtest.NewEx(t, "POST", "http://api.test/login", 200).ReqBody("application/json", []byte(`{"password":"[REDACTED]"}`))
	red.Request.Body.Redacted = true // the request body only
	both := webtest.NewEx(t, "POST", "http://api.test/both", 200).ReqBody("application/json", []byte(`{"password":"[REDACTED]"}`))
	both.Request.Body.Redacted = true
	both.Response.Body = trunc.Response.Body
	plain := webtest.NewEx(t, "GET", "http://api.test/plain", 200)
	e.Record(trunc, red, both, plain)

	tb := newTab(t)
	tb.open(e, "/")
	mark := func(id string) string {
		return eval[string](tb, fmt.Sprintf(`getComputedStyle(document.querySelector('#rows > a.row[data-id=%q] .c-url'), "::before").content`, id))
	}
	for _, tc := range []struct {
		name string
		ex   webtest.Ex
		want string
	}{
		{"truncated", trunc, `"✂ "`},
		{"redacted request", red, `"■ "`},
		{"both", both, `"✂■ "`},
		{"neither", plain, "none"},
	} {
		if got := mark(tc.ex.ID.String()); got != tc.want {
			t.Errorf("%s: the row's mark is %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := eval[string](tb, `document.getElementById("legend").textContent`); got != "✂ a body truncated ■ a body redacted" {
		t.Errorf("legend %q", got)
	}
	tb.screenshot("marks-list.png")

	tb.open(e, "/x/"+trunc.ID.String())
	overview := eval[string](tb, `document.querySelector(".overview dl").textContent`)
	for _, want := range []string{"Request Content-Length0", "Response Content-Length52428800 (50.0 MiB)"} {
		if !contains(overview, want) {
			t.Errorf("overview %q lacks %q", overview, want)
		}
	}
	text := eval[string](tb, `document.getElementById("text-response").textContent`)
	if want := "{\n  \"users\": [\n    {\n      \"name\": \"ada\","; !contains(text, want) {
		t.Errorf("truncated JSON not indented:\n%s", text)
	}
	if !eval[bool](tb, `document.getElementById("cut-response").textContent.includes("stops here")`) {
		t.Error("the cut is not marked")
	}
	tb.screenshot("marks-truncated-json.png")
	tb.checkClean()
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
