package pgstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/store"
)

// receive reads n summaries from ch, failing after timeout.
func receive(t *testing.T, ch <-chan store.Summary, n int, timeout time.Duration) []store.Summary {
	t.Helper()
	var got []store.Summary
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

// expectNone fails if ch yields a summary within d.
func expectNone(t *testing.T, ch <-chan store.Summary, d time.Duration) {
	t.Helper()
	select {
	case s, ok := <-ch:
		if ok {
			t.Fatalf("got %s %s, want nothing more", s.Method, s.URL)
		}
	case <-time.After(d):
	}
}

// tailExchange returns an exchange of method at time at, whose response
// body holds body.
func tailExchange(i int, method, body string, at time.Time) *bodytap.Exchange {
	x := &bodytap.Exchange{ID: bodytap.NewID(at), Start: at, Duration: time.Millisecond}
	x.Request.Method = method
	x.Request.Host = "example.com"
	x.Request.URL = mustURL(fmt.Sprintf("http://example.com/items/%d", i))
	x.Response.Status = 200
	x.Response.Body = bodytap.Body{Bytes: []byte(body), Size: int64(len(body)), EOF: true}
	return x
}

// TestSubscribe writes with one Store and subscribes with another, as two
// processes would: every matching exchange committed after Subscribe
// comes once, in commit order (not ID order), the body condition decided
// in Go; more than a page at once; nothing committed before.
func TestSubscribe(t *testing.T) {
	w, u := openTest(t, Options{})
	r, err := Open(context.Background(), u, Options{ReadOnly: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	base := time.Now().Add(-time.Hour)
	w.RecordBatch([]*bodytap.Exchange{tailExchange(0, "POST", "needle", base)}) // before: not sent
	f, err := filter.Parse("~m POST & ~b needle")
	if err != nil {
		t.Fatal(err)
	}
	posts := r.Subscribe(ctx, f)
	all := r.Subscribe(ctx, nil)

	var want []bodytap.ID
	total := 0
	i := 1
	// The third batch's IDs are older than the first two's: commit order
	// is what counts. The last is more than a page.
	for _, b := range []struct {
		n  int
		at time.Time
	}{{10, base.Add(time.Minute)}, {10, base.Add(2 * time.Minute)}, {10, base.Add(30 * time.Second)}, {2 * candidatePage, base.Add(3 * time.Minute)}} {
		var xs []*bodytap.Exchange
		for j := range b.n {
			method, body := "GET", "hay"
			if i%2 == 0 {
				method = "POST"
			}
			if i%3 == 0 {
				body = "a needle"
			}
			x := tailExchange(i, method, body, b.at.Add(time.Duration(j)*time.Millisecond))
			if method == "POST" && body == "a needle" {
				want = append(want, x.ID)
			}
			xs = append(xs, x)
			i++
		}
		w.RecordBatch(xs)
		total += len(xs)
	}
	if st := w.Stats(); st.Stored != int64(total)+1 || st.Errors != 0 {
		t.Fatalf("writer stats %+v, want %d stored", st, total+1)
	}
	got := receive(t, posts, len(want), 10*time.Second)
	if ids := sumIDs(got); !slices.Equal(ids, want) {
		t.Errorf("filtered subscription: got %d summaries, want %d in commit order; first difference at %d", len(ids), len(want), firstDiff(ids, want))
	}
	if got := receive(t, all, total, 10*time.Second); got[0].URL != "http://example.com/items/1" {
		t.Errorf("first summary: got %s, want the first one committed after Subscribe", got[0].URL)
	}
	expectNone(t, posts, 300*time.Millisecond)
	expectNone(t, all, 0)

	// Cancelling ctx closes the channel; so does Close, for another one.
	cancel()
	for range posts {
		t.Fatal("summary after the cancel")
	}
	other := r.Subscribe(context.Background(), nil)
	r.Close()
	for range other {
		t.Fatal("summary after Close")
	}
	if _, ok := <-r.Subscribe(context.Background(), nil); ok {
		t.Error("Subscribe on a closed store: got a summary, want a closed channel")
	}
}

// TestSubscribeReconnects kills the listening connection: the
// subscription reconnects and then finds what was written meanwhile.
func TestSubscribeReconnects(t *testing.T) {
	w, _ := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := w.Subscribe(ctx, nil)
	at := time.Now()
	w.Record(tailExchange(1, "GET", "", at))
	receive(t, sub, 1, 5*time.Second)

	var killed bool
	err := w.pool.QueryRow(ctx, `SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&killed)
	if err != nil || !killed {
		t.Fatalf("terminate the listening connection: %v, %v", killed, err)
	}
	w.Record(tailExchange(2, "GET", "", at.Add(time.Millisecond)))
	if got := receive(t, sub, 1, 5*time.Second); got[0].URL != "http://example.com/items/2" {
		t.Errorf("after the reconnection: got %s, want /items/2", got[0].URL)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestSubscribeConcurrentWriters has three Stores write at once, so that
// transactions commit in another order than they began: the subscription
// gets every exchange once, each writer's in the order it wrote them.
func TestSubscribeConcurrentWriters(t *testing.T) {
	w0, u := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := w0.Subscribe(ctx, nil)
	const writers, batches, size = 3, 20, 5
	want := make([][]bodytap.ID, writers)
	done := make(chan struct{})
	for k := range writers {
		w := w0
		if k > 0 {
			var err error
			if w, err = Open(ctx, u, Options{Logger: w0.log}); err != nil {
				t.Fatal(err)
			}
			defer w.Close()
		}
		at := time.Now().Add(time.Duration(k) * time.Hour)
		var xs [][]*bodytap.Exchange
		for b := range batches {
			var batch []*bodytap.Exchange
			for j := range size {
				x := tailExchange(k*1000+b*size+j, "GET", "", at.Add(time.Duration(b*size+j)*time.Millisecond))
				want[k] = append(want[k], x.ID)
				batch = append(batch, x)
			}
			xs = append(xs, batch)
		}
		go func() {
			defer func() { done <- struct{}{} }()
			for _, batch := range xs {
				w.RecordBatch(batch)
			}
		}()
	}
	for range writers {
		<-done
	}
	got := receive(t, sub, writers*batches*size, 10*time.Second)
	byWriter := make([][]bodytap.ID, writers)
	for _, s := range got {
		k := slices.IndexFunc(want, func(ids []bodytap.ID) bool { return slices.Contains(ids, s.ID) })
		if k < 0 {
			t.Fatalf("got %s, which no writer wrote", s.ID)
		}
		byWriter[k] = append(byWriter[k], s.ID)
	}
	for k := range writers {
		if !slices.Equal(byWriter[k], want[k]) {
			t.Errorf("writer %d: got %d summaries, want %d in the order written; first difference at %d", k, len(byWriter[k]), len(want[k]), firstDiff(byWriter[k], want[k]))
		}
	}
	expectNone(t, sub, 200*time.Millisecond)
}

// TestUpgradeToVersion2 opens a store that version 1 of the schema holds,
// rows and partitions included: Open migrates it, the old rows keep no
// transaction and stay listed, and a subscription sees only new rows.
func TestUpgradeToVersion2(t *testing.T) {
	u := pgtest.DB(t)
	ctx := context.Background()
	s := upgraded(t, u, 1, func(old *Store) { old.Record(tailExchange(1, "GET", "", time.Now())) })
	sub := s.Subscribe(ctx, nil)
	s.Record(tailExchange(2, "GET", "", time.Now()))
	if got := receive(t, sub, 1, 5*time.Second); got[0].URL != "http://example.com/items/2" {
		t.Errorf("subscription: got %s, want /items/2", got[0].URL)
	}
	expectNone(t, sub, 200*time.Millisecond)
	if n, err := s.Count(ctx, store.Query{}); err != nil || n != 2 {
		t.Errorf("Count: got %d, %v; want 2", n, err)
	}
}

// upgraded makes the database at u a store of schema version v, as a
// writer of that version would, with what write records through it, then
// returns a Store of this version opened on it (migrated), closed at the
// end of the test.
func upgraded(t *testing.T, u string, v int, write func(*Store)) *Store {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	all := migrations
	migrations, schemaVersion = all[:v], v
	old, err := Open(context.Background(), u, Options{Logger: log})
	if err == nil {
		write(old)
		old.Close()
	}
	migrations, schemaVersion = all, len(all)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), u, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var got int
	if err := s.pool.QueryRow(context.Background(), "SELECT version FROM schema_version").Scan(&got); err != nil || got != len(all) {
		t.Fatalf("schema version after Open: got %d (%v), want %d", got, err, len(all))
	}
	return s
}
