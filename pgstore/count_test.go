package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/store"
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
