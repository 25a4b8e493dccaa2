package pgstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestSpoolEncoding: rows come back from a spool file as they went in,
// nil bodies included; a changed or cut file is refused.
func TestSpoolEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var rows []*row
	for i := range 50 {
		x := exchangetest.Random(r)
		if i == 0 {
			x = exchangetest.Full(t)
		}
		rw, err := newRow(x)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rw)
	}
	b := encodeRows(rows)
	got, err := decodeRows(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatal("decoded rows differ from the encoded ones")
	}
	if got, err := decodeRows(encodeRows(nil)); err != nil || len(got) != 0 {
		t.Errorf("empty batch: got %d rows, %v", len(got), err)
	}
	bad := append([]byte(nil), b...)
	bad[len(bad)/2] ^= 1
	for name, b := range map[string][]byte{"flipped bit": bad, "cut": b[:len(b)-1], "empty": nil} {
		if _, err := decodeRows(b); !errors.Is(err, errSpoolCorrupt) {
			t.Errorf("%s: got %v, want errSpoolCorrupt", name, err)
		}
	}
}

// countIDs returns how many of the IDs of xs the database holds, and how
// many rows it holds in all.
func countIDs(t *testing.T, s *Store, xs []*bodytap.Exchange) (found, total int) {
	t.Helper()
	ids := make([][]byte, len(xs))
	for i, x := range xs {
		ids[i] = x.ID[:]
	}
	err := s.pool.QueryRow(context.Background(),
		"SELECT (SELECT count(*) FROM exchanges WHERE id = ANY($1)), (SELECT count(*) FROM exchanges), (SELECT count(*) FROM bodies)", ids).
		Scan(&found, &total, new(int))
	if err != nil {
		t.Fatal(err)
	}
	return found, total
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within %v: %s", d, what)
		}
	}
}

// settle waits for the replayer's first pass, which runs when the store
// opens and ends the away state if it finds the database there: a test
// that sets that state itself does so after it.
func settle(t *testing.T, s *Store) {
	t.Helper()
	select {
	case <-s.firstPass:
	case <-time.After(10 * time.Second):
		t.Fatal("the replayer's first pass did not end within 10s")
	}
}

// TestSpoolRestart stops PostgreSQL while a writer keeps writing, starts
// it again, and finds every exchange stored once: what was written while
// the server was away went to the spool and was replayed.
func TestSpoolRestart(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, Options{SpoolDir: dir})
	c, err := pgtest.Current()
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		written []*bodytap.Exchange
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			var batch []*bodytap.Exchange
			for j := range 50 {
				batch = append(batch, tailExchange(i*50+j, "POST", strings.Repeat("body ", 40), time.Now()))
			}
			s.RecordBatch(batch)
			mu.Lock()
			written = append(written, batch...)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	progress := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return len(written) >= n }
	}
	waitFor(t, "writes before the restart", 10*time.Second, progress(500))
	if err := c.Restart(ctx, 1500*time.Millisecond); err != nil {
		cancel()
		t.Fatal(err)
	}
	mu.Lock()
	n := len(written)
	mu.Unlock()
	waitFor(t, "writes after the restart", 20*time.Second, progress(n+500))
	cancel()
	<-done

	if sp := s.SpoolStats(); sp.Spooled == 0 {
		t.Fatalf("nothing spooled while the server was stopped: %+v", sp)
	}
	waitFor(t, "the spool replayed", 20*time.Second, func() bool { return s.Flush(context.Background()) == nil })
	st, sp := s.Stats(), s.SpoolStats()
	if sp.Replayed != sp.Spooled || sp.Dropped != 0 || sp.Bytes != 0 || sp.Away || st.Dropped != 0 || st.Errors != 0 || st.Stored != int64(len(written)) {
		t.Errorf("stats %+v, %+v: want %d stored, all spooled replayed, none dropped", st, sp, len(written))
	}
	found, total := countIDs(t, s, written)
	if found != len(written) || total != len(written) {
		t.Errorf("database holds %d of the %d exchanges written, %d rows in all", found, len(written), total)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("spool not empty: %v", left)
	}
	t.Logf("%d exchanges, %d of them spooled", len(written), sp.Spooled)
}

// TestSpoolReplay: a batch that was committed and also spooled (its
// commit unacknowledged) is stored once; a spool past its bound drops and
// counts; Flush replays the spool; a spool that a process left behind,
// the next store replays, without doubling what was stored already.
func TestSpoolReplay(t *testing.T) {
	dir := t.TempDir()
	s, u := openTest(t, Options{SpoolDir: dir})
	at := time.Now()
	var xs []*bodytap.Exchange
	var rows []*row
	for i := range 60 {
		body := strings.Repeat("x", 100)
		if i == 25 {
			body = "a spooled zebracorn " + body
		}
		xs = append(xs, tailExchange(i, "GET", body, at.Add(time.Duration(i)*time.Millisecond)))
		r, err := newRow(xs[i])
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	// Room for the first two batches spooled, not the third.
	s.spoolMax = int64(len(encodeRows(rows[:20])) + len(encodeRows(rows[20:30])) + len(encodeRows(rows[30:40]))/2)
	s.RecordBatch(xs[:10])

	// The database away: batches go to the spool, up to its bound.
	settle(t, s)
	s.away.Store(true)
	s.RecordBatch(xs[:20]) // 10 of them stored already
	s.RecordBatch(xs[20:30])
	for i := 30; i < 60; i += 10 {
		s.RecordBatch(xs[i : i+10])
	}
	sp := s.SpoolStats()
	if sp.Spooled != 30 || sp.Dropped != 30 || s.Stats().Dropped != 30 || sp.Bytes > s.spoolMax {
		t.Fatalf("stats %+v, %+v: want 30 exchanges spooled within the bound of %d bytes, and 30 dropped", s.Stats(), sp, s.spoolMax)
	}
	// A copy of the spool, as a process that died would leave it.
	left := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(left, filepath.Base(f)), b, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	spooled := int(sp.Spooled)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, sp := s.Stats(), s.SpoolStats(); sp.Replayed != int64(spooled) || sp.Bytes != 0 || st.Stored != int64(10+spooled) {
		t.Errorf("after Flush: stats %+v, %+v: want the %d spooled replayed", st, sp, spooled)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("spool not empty after Flush: %v", files)
	}
	// The skip index holds the replayed bodies.
	f, err := filter.Parse("~bs zebracorn")
	if err != nil {
		t.Fatal(err)
	}
	if sums, err := s.List(context.Background(), store.Query{Filter: f}); err != nil || len(sums) != 1 || sums[0].ID != xs[25].ID {
		t.Errorf("body search after the replay: got %d exchanges (%v), want the one replayed", len(sums), err)
	}

	// Another store finds the left spool and replays it: stored already,
	// nothing doubles.
	s2, err := Open(context.Background(), u, Options{SpoolDir: left, Logger: s.log})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	waitFor(t, "the left spool replayed", 10*time.Second, func() bool { return s2.SpoolStats().Replayed == int64(spooled) })
	found, total := countIDs(t, s2, xs[:spooled])
	if found != spooled || total != spooled {
		t.Errorf("database holds %d of the %d exchanges stored or spooled, %d rows in all", found, spooled, total)
	}
	checkCount(t, s2)
	// The bodies of a replayed exchange are those written.
	got, err := s2.Get(context.Background(), xs[25].ID)
	if err != nil {
		t.Fatal(err)
	}
	exchangetest.Same(t, got, xs[25])
	var xids int
	if err := s2.pool.QueryRow(context.Background(), "SELECT count(DISTINCT xid) FROM exchanges").Scan(&xids); err != nil {
		t.Fatal(err)
	}
	if xids < 2 {
		t.Errorf("replayed rows have no transaction of their own (%d distinct xid)", xids)
	}
}

// TestSpoolBadBatch: a spooled batch that the database refuses for what
// it holds is set aside as *.bad, counted, and does not block the rest.
func TestSpoolBadBatch(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, Options{SpoolDir: dir})
	good, err := newRow(tailExchange(1, "GET", "ok", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := newRow(tailExchange(2, "GET", "not ok", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	bad.method = "G\x00T" // which text cannot hold
	settle(t, s)
	s.away.Store(true)
	s.handle([]*row{bad})
	s.handle([]*row{good})
	s.kick()
	waitFor(t, "the good batch replayed", 10*time.Second, func() bool { return s.SpoolStats().Replayed == 1 })
	if st := s.Stats(); st.Errors != 1 {
		t.Errorf("stats %+v, want 1 error", st)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.bad")); len(files) != 1 {
		t.Errorf("got %v, want one file set aside", files)
	}
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM exchanges").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d rows (%v), want 1", n, err)
	}
}

// TestSpoolPoisoned: a batch whose replay keeps failing without a word
// from a server that answers is set aside after maxReplayFails tries; a
// server's error never sets it aside (it may be a full disk).
func TestSpoolPoisoned(t *testing.T) {
	s, _ := openTest(t, Options{SpoolDir: t.TempDir()})
	ctx := context.Background()
	for i := 1; i <= maxReplayFails; i++ {
		if got, want := s.poisoned(ctx, "a", errors.New("cannot encode")), i == maxReplayFails; got != want {
			t.Errorf("failure %d: poisoned = %v, want %v", i, got, want)
		}
	}
	for range 2 * maxReplayFails {
		if s.poisoned(ctx, "b", &pgconn.PgError{Code: "53100"}) {
			t.Fatal("a server's error set a batch aside")
		}
	}
}
