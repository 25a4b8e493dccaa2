package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 500)), 0o600)
	other := filepath.Join(dir, "other.db")
	{
		c := connector{dsn(other, false, nil)}
		db := sql.OpenDB(c)
		if _, err := db.Exec("CREATE TABLE t(x)"); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	newer := filepath.Join(dir, "newer.db")
	{
		s, err := Open(newer, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		db := sql.OpenDB(connector{dsn(newer, false, nil)})
		if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	for _, c := range []struct {
		path string
		opts Options
		want string
	}{
		{notDB, Options{}, "not a database"},
		{notDB, Options{ReadOnly: true}, "not a database"},
		{other, Options{}, "not a bodytap store"},
		{newer, Options{}, "schema version 99 is newer"},
		{newer, Options{ReadOnly: true}, "schema version 99 is newer"},
		{filepath.Join(dir, "missing.db"), Options{ReadOnly: true}, "no such file"},
		{empty, Options{ReadOnly: true}, "not a bodytap store"},
		{filepath.Join(dir, "no", "such", "dir.db"), Options{}, "open"},
	} {
		s, err := Open(c.path, c.opts)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s, %+v) succeeded", c.path, c.opts)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, c.path) {
			t.Errorf("Open(%s): %q, want it to name the file and say %q", c.path, msg, c.want)
		}
		if c.want == "no such file" && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%s): %v does not wrap fs.ErrNotExist", c.path, err)
		}
	}
}

func TestReadOnlyWhileWriting(t *testing.T) {
	w, path := openTest(t, Options{})
	g := newGen(11)
	for range 50 {
		w.Record(g.next())
	}
	flush(t, w)
	r := openAt(t, path, Options{ReadOnly: true})
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			w.Record(g.next())
			time.Sleep(100 * time.Microsecond)
		}
	}()
	deadline := time.Now().Add(300 * time.Millisecond)
	var last int64
	for time.Now().Before(deadline) {
		n, err := r.Count(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if n < last {
			t.Fatalf("count went from %d to %d", last, n)
		}
		last = n
		if _, err := r.List(ctx, Query{Limit: 20, Filter: mustParse(t, "~c 2xx")}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	flush(t, w)
	n, _ := r.Count(ctx, Query{})
	m, _ := w.Count(ctx, Query{})
	if n != m || n <= 50 {
		t.Errorf("reader counts %d, writer %d", n, m)
	}
	// A read-only store does not write.
	r.Record(g.next())
	if st := r.Stats(); st.Dropped != 1 {
		t.Errorf("Record on a read-only store: %+v", st)
	}
	if _, err := r.Import(ctx, seq2(nil, nil)); err == nil {
		t.Error("Import on a read-only store succeeded")
	}
	var qo int
	r.rdb.QueryRow("PRAGMA query_only").Scan(&qo)
	if qo != 1 {
		t.Error("readers are not query_only")
	}
}

func mustParse(t testing.TB, expr string) *filter.Filter {
	t.Helper()
	f, err := filter.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func seq2(xs []*bodytap.Exchange, err error) iter.Seq2[*bodytap.Exchange, error] {
	return func(yield func(*bodytap.Exchange, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

func TestImport(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	g := newGen(5)
	var xs []*bodytap.Exchange
	for range 20 {
		xs = append(xs, g.next())
	}
	// All or nothing.
	boom := errors.New("bad HAR entry")
	if n, err := s.Import(ctx, seq2(xs, boom)); err == nil || !errors.Is(err, boom) || n != 0 {
		t.Fatalf("Import with an error = %d, %v", n, err)
	}
	if n, _ := s.Count(ctx, Query{}); n != 0 {
		t.Fatalf("a failed Import left %d exchanges", n)
	}
	// Recorded ones and imported ones meet; IDs are kept; an ID
	// already stored is skipped; a zero ID gets one from Start.
	s.Record(xs[0])
	flush(t, s)
	noID := g.next()
	noID.ID = bodytap.ID{}
	n, err := s.Import(ctx, seq2(append(slices.Clone(xs), noID, nil), nil))
	if err != nil || n != 20 {
		t.Fatalf("Import = %d, %v; want 20", n, err)
	}
	if !noID.ID.IsZero() {
		t.Error("Import changed the exchange")
	}
	for _, x := range xs {
		got, err := s.Get(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameExchange(t, x, got)
	}
	all := scanAll(t, s, 21)
	if all[0].ID.Time() != noID.Start.Truncate(time.Millisecond) && !all[0].ID.Time().Equal(noID.Start.Truncate(time.Millisecond)) {
		t.Errorf("the exchange without ID got %s (time %v), start %v", all[0].ID, all[0].ID.Time(), noID.Start)
	}
	if n, _ := s.Import(ctx, seq2(xs, nil)); n != 0 {
		t.Errorf("importing again stored %d", n)
	}
	if st := s.Stats(); st.Stored != 21 {
		t.Errorf("Stats = %+v", st)
	}
	// A cancelled context stops it, and nothing is stored.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Import(cctx, seq2([]*bodytap.Exchange{g.next()}, nil)); !errors.Is(err, context.Canceled) {
		t.Errorf("Import with a cancelled context: %v", err)
	}
}

func TestCloseAndFlush(t *testing.T) {
	s, path := openTest(t, Options{})
	g := newGen(3)
	s.RecordBatch([]*bodytap.Exchange{g.next(), g.next(), g.next()})
	s.Record(g.next())
	flush(t, s)
	if st := s.Stats(); st.Stored != 4 || st.Backlog != 0 {
		t.Errorf("Stats after Flush = %+v: want 4 stored, none in the backlog", st)
	}
	// Close inserts what the log holds that the database does not.
	s.Record(g.next())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s.Record(g.next())
	if st := s.Stats(); st.Stored != 5 || st.Dropped != 1 {
		t.Errorf("Stats after Close = %+v", st)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}
	ch := s.Subscribe(context.Background(), nil)
	if _, ok := <-ch; ok {
		t.Error("Subscribe after Close: channel open")
	}
	s = openAt(t, path, Options{})
	if n, _ := s.Count(context.Background(), Query{}); n != 5 {
		t.Errorf("reopened store holds %d", n)
	}
	// Flush honours its context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with a cancelled context: %v", err)
	}
}

// TestRecordBatchLarge: a batch larger than maxBatch is written whole, in
// several transactions, nil exchanges skipped.
func TestRecordBatchLarge(t *testing.T) {
	s, _ := openTest(t, Options{NoFullText: true})
	g := newGen(5)
	xs := make([]*bodytap.Exchange, maxBatch*2+7)
	for i := range xs {
		if i != 3 {
			xs[i] = g.next()
		}
	}
	s.RecordBatch(xs)
	flush(t, s)
	if st := s.Stats(); st.Stored != int64(len(xs)-1) || st.Dropped != 0 || st.Errors != 0 {
		t.Errorf("Stats = %+v, want %d stored", st, len(xs)-1)
	}
}

func TestFailedBatch(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	g := newGen(9)
	s.Record(g.next())
	flush(t, s)
	// A full disk: the file may not grow, and has no free pages (those
	// of the indexes that migrations dropped) for the batch to take.
	var pages int64
	s.w.mu.Lock()
	if _, err := s.w.conn.ExecContext(ctx, "VACUUM"); err != nil {
		s.w.mu.Unlock()
		t.Fatal(err)
	}
	s.w.conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages)
	_, err := s.w.conn.ExecContext(ctx, "PRAGMA max_page_count = "+itoa(pages))
	s.w.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := templates(8, 4096)
	xs := make([]*bodytap.Exchange, 200)
	for i := range xs {
		x := *tmpl[i%8]
		x.Start = time.Now()
		x.ID = bodytap.NewID(x.Start)
		xs[i] = &x
	}
	s.RecordBatch(xs) // one transaction: all or nothing
	flush(t, s)
	st := s.Stats()
	if st.Errors == 0 || st.Stored != 1 {
		t.Fatalf("Stats with a full disk = %+v", st)
	}
	// The disk has room again: the store goes on.
	s.w.mu.Lock()
	s.w.conn.ExecContext(ctx, "PRAGMA max_page_count = 1073741823")
	s.w.mu.Unlock()
	x := g.next()
	s.Record(x)
	flush(t, s)
	if _, err := s.Get(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, Query{}); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	checkIntegrity(t, s)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCorruptFile damages a store file: Open fails with one line naming
// the file, or, when the damage is where Open does not look, queries fail
// with errors; nothing panics.
func TestCorruptFile(t *testing.T) {
	s, path := openTest(t, Options{})
	g := newGen(8)
	for range 500 {
		s.Record(g.next())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		at   int
	}{{"header", 0}, {"schema", 100}, {"middle", len(data) / 2}, {"end", len(data) - pageSize}} {
		bad := slices.Clone(data)
		for i := c.at; i < c.at+pageSize && i < len(bad); i++ {
			bad[i] = byte(i * 7)
		}
		p := filepath.Join(t.TempDir(), c.name+".db")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(p, Options{Logger: testLogger(t)})
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, p) || strings.Contains(msg, "\n") {
				t.Errorf("%s: Open: %q, want one line naming the file", c.name, msg)
			}
			t.Logf("%s: %v", c.name, err)
			continue
		}
		ctx := context.Background()
		var errs []error
		for x, err := range s.Scan(ctx, Query{}) {
			if err != nil {
				errs = append(errs, err)
				break
			}
			_ = x
		}
		_, err = s.List(ctx, Query{Filter: mustParse(t, "~b needle")})
		errs = append(errs, err)
		t.Logf("%s: opened; queries: %v", c.name, errors.Join(errs...))
		s.Close()
	}
}

// TestSearchStats: List, ListPage and Count are counted and timed; Get and
// writes are not searches.
func TestSearchStats(t *testing.T) {
	s, _ := openTest(t, Options{})
	g := newGen(7)
	s.RecordBatch([]*bodytap.Exchange{g.next(), g.next()})
	flush(t, s)
	ctx := context.Background()
	if _, err := s.List(ctx, Query{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Count(ctx, Query{}); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Searches != 2 || st.SearchTime <= 0 {
		t.Errorf("got %d searches in %v, want 2 in more than 0", st.Searches, st.SearchTime)
	}
}

// TestKeepsNothing checks the promise of ReusesExchanges: once
// RecordBatch has returned, the exchanges given to it can be scribbled
// over (as a Tap that reuses them does) and the store still holds what
// it was given, the records it keeps in memory for its goroutine (see
// writer.recent) included.
func TestKeepsNothing(t *testing.T) {
	s, _ := openTest(t, Options{})
	var sink bodytap.Sink = s
	if rs, ok := sink.(bodytap.ReusingSink); !ok || !rs.ReusesExchanges() {
		t.Fatal("the store does not promise to keep nothing of an exchange")
	}
	g := newGen(11)
	var want []*bodytap.Exchange
	for range 10 {
		xs := make([]*bodytap.Exchange, 50)
		for i := range xs {
			xs[i] = g.next()
			xs[i].Response.Body = textBody(g.text(200))
			want = append(want, xs[i].Clone())
		}
		s.RecordBatch(xs)
		for _, x := range xs {
			for _, b := range [][]byte{x.Request.Body.Bytes, x.Response.Body.Bytes} {
				for i := range b {
					b[i] = 'Z'
				}
			}
			for k := range x.Request.Header {
				x.Request.Header[k] = []string{"scribbled"}
			}
			clear(x.Response.Header)
			x.ID = bodytap.ID{}
			x.Request.URL.Path = "/scribbled"
		}
	}
	flush(t, s)
	for _, w := range want {
		got, err := s.Get(context.Background(), w.ID)
		if err != nil {
			t.Fatalf("Get %s: %v", w.ID, err)
		}
		sameExchange(t, w, got)
	}
}

// TestShrinkWhileInserting: while inserts go on, the writer lets its page
// cache go every shrinkEvery (it outgrows cache_size under a steady
// load), not only once inserts stop.
func TestShrinkWhileInserting(t *testing.T) {
	s, _ := openTest(t, Options{})
	g := newGen(3)
	xs := make([]*bodytap.Exchange, 50)
	for i := range xs {
		xs[i] = g.next()
	}
	s.RecordBatch(xs)
	flush(t, s)
	s.w.mu.Lock()
	first := s.w.lastShrink
	s.w.lastShrink = first.Add(-shrinkEvery) // as if shrinkEvery had passed
	s.w.mu.Unlock()
	for i := range xs {
		xs[i] = g.next()
	}
	s.RecordBatch(xs)
	flush(t, s)
	s.w.mu.Lock()
	second := s.w.lastShrink
	s.w.mu.Unlock()
	if first.IsZero() || !second.After(first) {
		t.Errorf("the writer let its page cache go at %v, then at %v: want once a commit inserted rows, and again after shrinkEvery", first, second)
	}
	scanAll(t, s, 2*len(xs))
}
