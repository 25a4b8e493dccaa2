package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// receive reads n summaries from ch, failing after timeout.
func receive(t *testing.T, ch <-chan Summary, n int, timeout time.Duration) []Summary {
	t.Helper()
	var got []Summary
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case s, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d summaries, want %d", len(got), n)
			}
			got = append(got, s)
		case <-deadline:
			t.Fatalf("got %d summaries in %v, want %d", len(got), timeout, n)
		}
	}
	return got
}

func TestSubscribe(t *testing.T) {
	s, path := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := newGen(21)
	s.Record(g.next()) // before: not sent
	flush(t, s)

	all := s.Subscribe(ctx, nil)
	posts := s.Subscribe(ctx, mustParse(t, "~m POST"))
	auth := s.Subscribe(ctx, mustParse(t, "~hq Authorization")) // decided in Go

	// Another process: a read-only store on the same file sees what
	// this one writes by polling.
	ro := openAt(t, path, Options{ReadOnly: true})
	remote := ro.Subscribe(ctx, mustParse(t, "~m POST"))

	var xs []*bodytap.Exchange
	var wantPosts, wantAuth []bodytap.ID
	for range 300 {
		x := g.next()
		xs = append(xs, x)
		if x.Request.Method == "POST" {
			wantPosts = append(wantPosts, x.ID)
		}
		if x.Request.Header.Get("Authorization") != "" {
			wantAuth = append(wantAuth, x.ID)
		}
	}
	// A long request: it started first (smallest ID) but commits last.
	long := g.next()
	long.Start = base.Add(-time.Hour)
	long.ID = bodytap.NewID(long.Start)
	start := time.Now()
	// In batches, as a Tap delivers them (each Record is a transaction).
	for c := range slices.Chunk(xs, 64) {
		s.RecordBatch(c)
	}
	flush(t, s)
	s.Record(long)

	got := receive(t, all, 301, 5*time.Second)
	for i, x := range xs {
		if got[i].ID != x.ID {
			t.Fatalf("summary %d: %s, want %s", i, got[i].ID, x.ID)
		}
	}
	if got[300].ID != long.ID {
		t.Errorf("the long request's summary did not come last")
	}
	// Prompt, not fast: the bound only catches summaries held back (by a
	// poll interval, say); the race detector slows everything tenfold.
	limit := 2 * time.Second
	if raceEnabled {
		limit = 10 * time.Second
	}
	if d := time.Since(start); d > limit {
		t.Errorf("summaries took %v", d)
	}
	checkIDs(t, "POST", receive(t, posts, len(wantPosts), 5*time.Second), wantPosts)
	checkIDs(t, "Authorization", receive(t, auth, len(wantAuth), 5*time.Second), wantAuth)
	checkIDs(t, "read-only POST", receive(t, remote, len(wantPosts), 5*time.Second), wantPosts)

	// Ending the context closes the channel; so does Close.
	cancel()
	for range all {
	}
	for range remote {
	}
	ch := s.Subscribe(context.Background(), nil)
	s.Close()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("a summary after Close")
		}
	case <-time.After(5 * time.Second):
		t.Error("Close did not close the channel")
	}
}

func checkIDs(t *testing.T, name string, got []Summary, want []bodytap.ID) {
	t.Helper()
	for i := range want {
		if got[i].ID != want[i] {
			t.Errorf("%s: summary %d is %s, want %s", name, i, got[i].ID, want[i])
			return
		}
	}
}

// TestSlowSubscriber checks that a subscriber that does not read neither
// holds up the writer nor loses summaries.
func TestSlowSubscriber(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	ch := s.Subscribe(ctx, nil)
	g := newGen(4)
	n := 2000
	if raceEnabled {
		n = 500
	}
	start := time.Now()
	var ids []bodytap.ID
	var batch []*bodytap.Exchange
	for i := range n {
		x := g.next()
		ids = append(ids, x.ID)
		batch = append(batch, x)
		if len(batch) == 64 || i == n-1 {
			s.RecordBatch(batch) // as a Tap delivers them
			batch = batch[:0]
		}
	}
	flush(t, s)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("writing with a stalled subscriber took %v", d)
	}
	if st := s.Stats(); st.Stored != int64(n) {
		t.Fatalf("Stats = %+v", st)
	}
	got := receive(t, ch, n, 10*time.Second)
	checkIDs(t, "slow", got, ids)
}
