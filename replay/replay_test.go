package replay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// recorded is a captured GET of path that was answered with a JSON body.
func recorded(t *testing.T, path, body string) *bodytap.Exchange {
	t.Helper()
	u, err := url.Parse("http://recorded.test" + path)
	if err != nil {
		t.Fatal(err)
	}
	x := &bodytap.Exchange{Start: time.Unix(1, 0)}
	x.ID = bodytap.NewID(x.Start)
	x.Request = bodytap.Request{Method: "GET", URL: u, Host: u.Host, Header: http.Header{}, Body: bodytap.Body{EOF: true}}
	x.Response = bodytap.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}}
	x.Response.Body = bodytap.Body{Bytes: []byte(body), Size: int64(len(body)), EOF: true}
	return x
}

// TestRun replays to a real server whose answers carry noise, among them
// an array whose length changes from one answer to the next.
func TestRun(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/feed":
			// 2, then 3, then 2... events: the length is noise.
			events := strings.Repeat(`{"id":1},`, 2+int(n.Add(1)%2))
			fmt.Fprintf(w, `{"plan":"pro","events":[%s]}`, strings.TrimSuffix(events, ","))
		case "/big":
			fmt.Fprint(w, `{"a":"`+strings.Repeat("x", 100)+`"}`)
		}
	}))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)

	feed := recorded(t, "/feed", `{"plan":"free","events":[{"id":1},{"id":1},{"id":1},{"id":1},{"id":1}]}`)
	truncated := func(kept string) *bodytap.Exchange {
		x := recorded(t, "/big", kept)
		x.Response.Body.Size, x.Response.Body.Truncated = 109, true
		return x
	}
	xs := []*bodytap.Exchange{feed, truncated(`{"a":"xxxx`), truncated(`{"a":"xxyx`)}
	res, err := Run(context.Background(), &Config{Target: target, DetectNoise: true}, xs)
	if err != nil {
		t.Fatal(err)
	}

	if f := res[0]; f.Outcome != Changed || len(f.Diffs) != 1 || f.Diffs[0].String() != `$.plan: "free" -> "pro"` {
		t.Errorf("/feed: %s %v, want only $.plan changed", f.Outcome, f.Diffs)
	}
	if !slices.Equal(res[0].Noise, []string{"$.events[*]"}) {
		t.Errorf("/feed noise %q, want $.events[*]: the array's length is noise", res[0].Noise)
	}
	const notCompared = "the body past the part kept at capture (10 of 109 bytes kept)"
	if b := res[1]; b.Outcome != Same || b.NotCompared != notCompared {
		t.Errorf("/big, same start: %s %v, not compared %q; want same, %q", b.Outcome, b.Diffs, b.NotCompared, notCompared)
	}
	if b := res[2]; b.Outcome != Changed || len(b.Diffs) != 1 || b.Diffs[0].Where != "body at byte 8" {
		t.Errorf("/big, other start: %s %v; want the difference at byte 8", b.Outcome, b.Diffs)
	}
}

func TestNoisePath(t *testing.T) {
	p := mustPath(t, "$.a[2].b")
	for _, tc := range []struct {
		d    Diff
		want string
	}{
		{Diff{Where: "$.a[2].b", Path: p, Recorded: "1", Got: "2"}, "$.a[2].b"},
		{Diff{Where: "$.a[2]", Path: p[:2], Recorded: `{"b":1}`}, "$.a[*]"},
		{Diff{Where: "$.a[2]", Path: p[:2], Got: `{"b":1}`}, "$.a[*]"},
		{Diff{Where: "$.a[2].b", Path: p, Got: "1"}, "$.a[2].b"}, // a key only one has
		{Diff{Where: "header X-Id", Recorded: "1", Got: "2"}, "header X-Id"},
	} {
		if _, got := noisePath(tc.d); got != tc.want {
			t.Errorf("noisePath(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
