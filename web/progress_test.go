package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/web/internal/webtest"
)

// slowSource is a real store whose ListPage takes delay longer, after
// the search: a search of a large store.
type slowSource struct {
	Source
	delay time.Duration
}

func (s slowSource) ListPage(ctx context.Context, q store.Query) ([]store.Summary, bodytap.ID, error) {
	sums, next, err := s.Source.ListPage(ctx, q)
	time.Sleep(s.delay)
	return sums, next, err
}

// TestListProgress: when a search takes longer than progressAfter, the
// list page shows at once and says how far the search has gone (from
// the store's Query.Progress), then the rows; a quick one is rendered
// as before, without it.
func TestListProgress(t *testing.T) {
	e := &testEnv{Env: webtest.Open(t, storeOptions)}
	var xs []webtest.Ex
	for i := range 60 {
		body := fmt.Sprintf(`{"n": %d, "word": "hay"}`, i)
		if i%3 == 0 {
			body = fmt.Sprintf(`{"n": %d, "word": "needle"}`, i)
		}
		xs = append(xs, webtest.NewEx(t, "GET", fmt.Sprintf("http://api.test/items/%d", i), 200).RespBody("application/json", []byte(body)))
	}
	e.Record(xs...)
	v, err := New(Config{Store: slowSource{e.Store, 2 * progressEvery}, Logger: webtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	v.progressAfter = 10 * time.Millisecond
	e.viewer = v
	e.Serve(v, v.Close)

	resp, page := e.Get("/?f=" + url.QueryEscape("~b needle"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{`id="progress"`, "Searching… 100%: 60 of 60 exchanges", "Searched in"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	if n := strings.Count(page, "data-id="); n != 20 {
		t.Errorf("%d rows, want 20", n)
	}
	if i, j := strings.Index(page, `id="progress"`), strings.Index(page, "data-id="); i > j {
		t.Error("the progress comes after the rows")
	}

	quick := newEnv(t, Config{})
	quick.Record(xs...)
	_, page = quick.Get("/?f=" + url.QueryEscape("~b needle"))
	if strings.Contains(page, `id="progress"`) || strings.Count(page, "data-id=") != 20 {
		t.Errorf("a quick search shows progress, or not its 20 rows:\n%s", page)
	}
}
