package pgstore

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/store"
)

// recordDays records perDay exchanges on each of days days before now,
// with bodies of bodySize random bytes, and returns their IDs oldest
// first.
func recordDays(t *testing.T, s *Store, now time.Time, days, perDay, bodySize int) []bodytap.ID {
	t.Helper()
	var xs []*bodytap.Exchange
	for d := days - 1; d >= 0; d-- {
		for i := range perDay {
			x := exchangetest.Full(t)
			x.Start = now.Add(-time.Duration(d)*24*time.Hour - time.Duration(perDay-i)*time.Minute)
			x.ID = bodytap.NewID(x.Start)
			x.Response.Body = bodytap.Body{Bytes: make([]byte, bodySize), Size: int64(bodySize), EOF: true}
			rand.Read(x.Response.Body.Bytes) // incompressible
			xs = append(xs, x)
		}
	}
	s.RecordBatch(xs)
	if st := s.Stats(); st.Stored != int64(len(xs)) {
		t.Fatalf("stored %d of %d: %+v", st.Stored, len(xs), st)
	}
	ids := make([]bodytap.ID, len(xs))
	for i, x := range xs {
		ids[i] = x.ID
	}
	return ids
}

// kept lists the IDs the store holds, oldest first, and checks that
// every exchange kept has its bodies and no bodies are left without one.
func kept(t *testing.T, s *Store) []bodytap.ID {
	t.Helper()
	ctx := context.Background()
	sums, err := s.List(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var bodies int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM bodies").Scan(&bodies); err != nil {
		t.Fatal(err)
	}
	if bodies != len(sums) {
		t.Errorf("%d exchanges kept but %d bodies", len(sums), bodies)
	}
	checkCount(t, s)
	ids := make([]bodytap.ID, len(sums))
	for i, sum := range sums {
		ids[len(sums)-1-i] = sum.ID
	}
	return ids
}

// totalSize is what MaxBytes bounds.
func totalSize(t *testing.T, s *Store) int64 {
	t.Helper()
	days, err := partitions(context.Background(), s.pool)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, d := range days {
		size, err := s.daySize(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		n += size
	}
	return n
}

func TestRetentionCount(t *testing.T) {
	now := time.Now().UTC()
	r, u := openTest(t, Options{})
	ids := recordDays(t, r, now, 3, 200, 100)
	ctx := context.Background()
	before, err := partitions(ctx, r.pool)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, u, Options{MaxCount: 250, Logger: r.log})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := kept(t, s), ids[len(ids)-250:]; !slices.Equal(got, want) {
		t.Errorf("kept %d exchanges from %s, want the newest 250, from %s", len(got), got[0], want[0])
	}
	if st := s.Stats(); st.Deleted != 350 {
		t.Errorf("Stats().Deleted = %d, want 350", st.Deleted)
	}
	after, err := partitions(ctx, s.pool)
	if err != nil {
		t.Fatal(err)
	}
	if oldest := idDay(ids[0][:]); !slices.Contains(before, oldest) || slices.Contains(after, oldest) {
		t.Errorf("the oldest day's partition (day %d) was not dropped: partitions %v, then %v", oldest, before, after)
	}
	// Within the bound, Prune deletes nothing; the writer prunes on its
	// own after a write.
	if err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Deleted != 350 || len(kept(t, s)) != 250 {
		t.Errorf("a second Prune: %+v", st)
	}
	x := exchangetest.Full(t)
	x.ID = bodytap.NewID(now)
	s.Record(x)
	if got := kept(t, s); len(got) != 250 || got[len(got)-1] != x.ID {
		t.Errorf("after a write the store holds %d exchanges, the newest %s; want 250, the newest %s", len(got), got[len(got)-1], x.ID)
	}
}

func TestRetentionBytes(t *testing.T) {
	now := time.Now().UTC()
	s, u := openTest(t, Options{})
	ids := recordDays(t, s, now, 3, 300, 4096)
	total := totalSize(t, s)
	budget := total / 2
	ctx := context.Background()
	w, err := Open(ctx, u, Options{MaxBytes: budget, Logger: s.log})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	size := totalSize(t, s)
	got := kept(t, s)
	t.Logf("%d bytes for %d exchanges over 3 days; with MaxBytes %d: %d bytes, %d exchanges", total, len(ids), budget, size, len(got))
	if size > budget {
		t.Errorf("%d bytes after Prune, over MaxBytes %d", size, budget)
	}
	if len(got) == 0 || len(got) >= len(ids) {
		t.Fatalf("kept %d of %d exchanges", len(got), len(ids))
	}
	if want := ids[len(ids)-len(got):]; !slices.Equal(got, want) {
		t.Errorf("kept %d exchanges from %s, want the newest, from %s", len(got), got[0], want[0])
	}
	// Half of what three full days took leaves the newest day and a part
	// of the day before: the fixed costs of a partition are small.
	if len(got) < 300 || len(got) > 600 {
		t.Errorf("kept %d exchanges, want between 300 and 600", len(got))
	}
	if st := w.Stats(); st.Deleted != int64(len(ids)-len(got)) {
		t.Errorf("Stats().Deleted = %d, want %d", st.Deleted, len(ids)-len(got))
	}
}
