package pgstore

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// checkCount checks that Count of the whole store, which sums the
// writers' counts, is the number of rows, and returns it.
func checkCount(t *testing.T, s *Store) int64 {
	t.Helper()
	ctx := context.Background()
	n, err := s.Count(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM exchanges").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Errorf("Count of the whole store %d, but %d rows", n, rows)
	}
	return n
}

// TestImportCounts: an import counts the exchanges it adds, not those
// the store held already.
func TestImportCounts(t *testing.T) {
	s, _ := openTest(t, Options{})
	at := time.Now().Add(-50 * time.Hour) // over three days
	var xs []*bodytap.Exchange
	for i := range 7 {
		xs = append(xs, tailExchange(i, "GET", "imported", at.Add(time.Duration(i)*8*time.Hour)))
	}
	s.RecordBatch(xs[:2])
	seq := func(yield func(*bodytap.Exchange, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	}
	n, err := s.Import(context.Background(), seq)
	if err != nil || n != 5 {
		t.Fatalf("Import: %d, %v; want the 5 the store did not hold", n, err)
	}
	if n := checkCount(t, s); n != 7 {
		t.Errorf("Count after the import: got %d, want 7", n)
	}
}

// queryCounter counts the statements that read the exchanges, and
// those of them that count.
type queryCounter struct{ n, counts atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "FROM exchanges") {
		c.n.Add(1)
		if strings.HasPrefix(d.SQL, "SELECT count(*)") {
			c.counts.Add(1)
		}
	}
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestCountOneQuery: the count of a filter that SQL decides but on lossy
// rows (a URL match, a method) is one query while no candidate is lossy;
// lossy candidates are decided in Go.
func TestCountOneQuery(t *testing.T) {
	s, u := openTest(t, Options{})
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	tr := &queryCounter{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	orig := s.pool
	s.pool = pool
	defer func() { s.pool = orig }()
	at := time.Now().Add(-time.Hour)
	var xs []*bodytap.Exchange
	for i := range 10 {
		x := tailExchange(i, "GET", "", at.Add(time.Duration(i)*time.Second))
		if i%3 == 0 {
			x.Request.URL.Path = fmt.Sprintf("/Orders/%d", i)
		}
		xs = append(xs, x)
	}
	lossy := tailExchange(10, "GET", "", at.Add(10*time.Second))
	lossy.Request.URL.Path, lossy.Request.URL.RawQuery = "/orders/10", "\xff"
	for _, step := range []struct {
		add     []*bodytap.Exchange
		queries int64 // reading the exchanges, at most
	}{{xs, 1}, {[]*bodytap.Exchange{lossy}, 3}} {
		s.RecordBatch(step.add)
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var stored []*bodytap.Exchange
		stored = append(stored, xs...)
		if step.queries > 1 {
			stored = append(stored, lossy)
		}
		for _, expr := range []string{"~u /orders/", "~m GET", `~u "/orders/\d+$"`, "~src 192"} {
			f, want := matchCount(t, expr, stored)
			before, counts := tr.n.Load(), tr.counts.Load()
			got, err := s.Count(ctx, store.Query{Filter: f})
			if err != nil || got != want {
				t.Errorf("Count(%s) of %d exchanges = %d, %v, want %d", expr, len(stored), got, err, want)
			}
			n, c := tr.n.Load()-before, tr.counts.Load()-counts
			if n > step.queries || c != 1 {
				t.Errorf("Count(%s) of %d exchanges read the exchanges in %d queries, %d of them counts, want at most %d, one count",
					expr, len(stored), n, c, step.queries)
			}
		}
	}
}

// matchCount parses expr and counts the exchanges of xs it matches in
// Go, which a store's Count must give too.
func matchCount(t *testing.T, expr string, xs []*bodytap.Exchange) (*filter.Filter, int64) {
	t.Helper()
	f, err := filter.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, x := range xs {
		if f.Match(x) {
			n++
		}
	}
	return f, n
}
