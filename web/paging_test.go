package web

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/web/internal/webtest"
)

// TestListScanLimit checks a filter that the store decides in Go, one
// candidate at a time: a page stops after maxScan candidates and links on
// from where it stopped, and following the links finds every match.
func TestListScanLimit(t *testing.T) { eachStore(t, testListScanLimit) }

func testListScanLimit(t *testing.T, b backend) {
	e := b.newEnv(t, Config{})
	e.viewer.maxScan = 60
	base := time.Now().Add(-time.Hour)
	var xs []*bodytap.Exchange
	for i := range 250 {
		x := webtest.NewEx(t, "GET", fmt.Sprintf("http://api.test/items/%d", i), 200).At(base.Add(time.Duration(i) * time.Second))
		if i < 5 {
			x.Response.Header.Set("X-Rare", "yes")
		}
		xs = append(xs, x.Exchange)
	}
	e.importAll(xs, false)
	rowRE := regexp.MustCompile(`<a class="row [^"]*" href="/x/([0-9A-Z]{26})"`)
	olderRE := regexp.MustCompile(`id="older" href="([^"]+)"`)
	path := "/?f=" + url.QueryEscape(`~hs "^X-Rare: yes$"`)
	found, stopped := 0, 0
	for range 20 {
		_, body := e.Get(path)
		found += len(rowRE.FindAllString(body, -1))
		if strings.Contains(body, `id="stopped"`) {
			stopped++
		}
		m := olderRE.FindStringSubmatch(body)
		if m == nil {
			break
		}
		path = html.UnescapeString(m[1])
	}
	if found != 5 || stopped == 0 {
		t.Errorf("found %d matches (want 5), %d pages stopped at the scan limit (want some)", found, stopped)
	}
}

// TestPaging100k stores 100,000 exchanges and times the first page of the
// list, a deep page (keyset paging: it costs what the first does), a
// filtered page and an exchange's page, on each store.
func TestPaging100k(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("slow with -short or -race: storing 100,000 exchanges takes minutes under the race detector")
	}
	eachStore(t, testPaging100k)
}

func testPaging100k(t *testing.T, b backend) {
	const n = 100_000
	e := b.newEnv(t, Config{})
	base := time.Now().Add(-48 * time.Hour)
	methods := []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	xs := make([]*bodytap.Exchange, n)
	for i := range xs {
		x := webtest.NewEx(t, methods[i%len(methods)], fmt.Sprintf("http://api%d.test/items/%d?page=%d", i%7, i, i%13), []int{200, 201, 304, 404, 500}[i%5]).
			At(base.Add(time.Duration(i)*time.Second)).
			RespBody("application/json", fmt.Appendf(nil, `{"id":%d,"name":"item %d"}`, i, i))
		xs[i] = x.Exchange
	}
	start := time.Now()
	e.importAll(xs, true)
	t.Logf("stored %d exchanges in %v", n, time.Since(start).Round(time.Millisecond))

	// timeGet fetches a page three times and logs the best time; with
	// limit > 0 it fails the test past it, with none it fetches it once.
	timeGet := func(name, path string, limit time.Duration) string {
		t.Helper()
		var body string
		best := time.Hour
		tries := 3
		if limit == 0 {
			tries = 1
		}
		for range tries {
			start := time.Now()
			var resp *http.Response
			resp, body = e.Get(path)
			if d := time.Since(start); d < best {
				best = d
			}
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
		}
		t.Logf("%-34s %8v  %s", name, best.Round(10*time.Microsecond), path)
		if limit > 0 && best > limit {
			t.Errorf("%s took %v", name, best)
		}
		return body
	}
	// The pages that SQL answers from its indexes: a few milliseconds
	// each, the deep ones too. The limit leaves room for slow machines
	// and the race detector. Body searches depend on the store's
	// full-text index and are only logged.
	const limit = 500 * time.Millisecond
	rows := regexp.MustCompile(`<a class="row `)
	body := timeGet("first page", "/", limit)
	if got := len(rows.FindAllString(body, -1)); got != pageSize || !strings.Contains(body, "100,000 exchanges") {
		t.Errorf("first page: %d rows", got)
	}
	deep := xs[1000].ID // 99,000 exchanges are newer
	body = timeGet("page 990 (before the 99,001st)", "/?before="+deep.String(), limit)
	if got := len(rows.FindAllString(body, -1)); got != pageSize || !strings.Contains(body, "/x/"+xs[999].ID.String()) {
		t.Errorf("deep page: %d rows", got)
	}
	timeGet("last page", "/?before="+xs[50].ID.String(), limit)
	timeGet("filter ~m POST & ~c 5xx", "/?f="+url.QueryEscape("~m POST & ~c 5xx"), limit)
	timeGet("filter ~m POST, deep", "/?f="+url.QueryEscape("~m POST")+"&before="+deep.String(), limit)
	timeGet("filter ~d api3 & ~u page=7", "/?f="+url.QueryEscape("~d api3 & ~u page=7"), limit)
	timeGet(`filter ~bs "item 4242"`, "/?f="+url.QueryEscape(`~bs "item 4242"`), 0)
	timeGet(`filter ~hs "^X-None"`, "/?f="+url.QueryEscape(`~hs "^X-None"`), 0)
	timeGet(`filter ~bs "item 4242\b" (regex)`, "/?f="+url.QueryEscape(`~bs "item 4242\b"`), 0)
	timeGet("exchange page", "/x/"+xs[n/2].ID.String(), limit)
}
