package store

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// fileBytes returns the size of the database file, and of its WAL and
// the segments of its log.
func fileBytes(t testing.TB, path string) (db, wal int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	db = fi.Size()
	if fi, err := os.Stat(path + "-wal"); err == nil {
		wal = fi.Size()
	}
	segs, err := listSegments(logDir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		wal += s.size
	}
	return db, wal
}

func TestRetentionBytes(t *testing.T) {
	budget, batch, fts := int64(6<<20), 200, true
	if raceEnabled {
		budget, batch, fts = 4<<20, 100, false
	}
	// Chunks of 64 exchanges: the skip index is sealed often and its
	// filters deleted with the exchanges.
	defer smallChunks(6)()
	s, path := openTest(t, Options{MaxBytes: budget, NoFullText: !fts})
	tmpl := templates(64, 1024)
	// One batch: its bodies and 1 KiB a row for the rest.
	batchBytes := int64(batch) * (1024 + 2*1024)
	t0 := time.Now().Add(-time.Hour)
	var written int64
	var maxSeen int64
	for written < 5*budget {
		xs := make([]*bodytap.Exchange, batch)
		for i := range batch {
			x := *tmpl[i%len(tmpl)]
			x.Start = t0.Add(time.Duration(written) * time.Microsecond)
			x.ID = bodytap.NewID(x.Start)
			written += 1024 + int64(len(x.Request.Body.Bytes)+len(x.Response.Body.Bytes))
			xs[i] = &x
		}
		s.RecordBatch(xs)
		if fts && (written/batchBytes)%4 == 0 {
			buildAll(t, s)
		}
		db, wal := fileBytes(t, path)
		maxSeen = max(maxSeen, db+wal)
		if testing.Verbose() {
			var pages, free int64
			s.rdb.QueryRow("PRAGMA page_count").Scan(&pages)
			s.rdb.QueryRow("PRAGMA freelist_count").Scan(&free)
			t.Logf("written %8d: db %8d wal %8d total %8d  pages %d free %d", written, db, wal, db+wal, pages, free)
		}
		// The backlog in the log, up to maxBacklog and a batch,
		// comes on top until the database has it.
		if over := budget + 2*batchBytes + maxBacklog(budget); db+wal > over {
			t.Fatalf("after %d bytes: file %d + WAL and log %d = %d bytes, budget %d + two batches %d + backlog %d", written, db, wal, db+wal, budget, batchBytes, maxBacklog(budget))
		}
	}
	// Stats and Count from the same moment: what the log holds is in.
	flush(t, s)
	st := s.Stats()
	n, err := s.Count(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d bytes in %d exchanges; kept %d; deleted %d; file+WAL at most %d bytes (budget %d)",
		written, st.Stored, n, st.Deleted, maxSeen, budget)
	if st.Deleted == 0 || n < 200 {
		t.Errorf("kept %d exchanges, deleted %d: want the budget used", n, st.Deleted)
	}
	if st.Stored-st.Deleted != n {
		t.Errorf("stored %d - deleted %d != %d counted", st.Stored, st.Deleted, n)
	}
	// Oldest went first: what is left is the newest.
	sums, err := s.List(context.Background(), Query{Limit: 1})
	if err != nil || len(sums) != 1 {
		t.Fatal(sums, err)
	}
	checkIntegrity(t, s)
}

func checkIntegrity(t testing.TB, s *Store) {
	t.Helper()
	var res string
	if err := s.rdb.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check: %q, %v", res, err)
	}
	var orphans int
	s.rdb.QueryRow("SELECT count(*) FROM bodies WHERE rid NOT IN (SELECT rid FROM exchanges)").Scan(&orphans)
	if orphans != 0 {
		t.Errorf("%d bodies without exchange", orphans)
	}
}

func TestRetentionCount(t *testing.T) {
	s, _ := openTest(t, Options{MaxCount: 100})
	g := newGen(7)
	var xs []*bodytap.Exchange
	for range 250 {
		x := g.next()
		xs = append(xs, x)
		s.Record(x)
	}
	flush(t, s)
	all := scanAll(t, s, 100)
	for i, x := range all {
		if x.ID != xs[249-i].ID {
			t.Fatalf("kept %s at %d, want the newest 100", x.ID, i)
		}
	}
	if st := s.Stats(); st.Deleted != 150 {
		t.Errorf("Deleted = %d, want 150", st.Deleted)
	}
	n, _ := s.Count(context.Background(), Query{})
	if n != 100 {
		t.Errorf("Count = %d", n)
	}
	checkIntegrity(t, s)
}

func TestRetentionAge(t *testing.T) {
	s, _ := openTest(t, Options{MaxAge: 2 * time.Second})
	now := time.Now()
	var kept, expiring []bodytap.ID
	for i := range 30 {
		x := newGen(uint64(i)).next()
		switch {
		case i < 10: // fresh
			x.Start = now.Add(-time.Duration(i) * time.Millisecond)
		case i < 20: // 1.5 s old: they expire while the store is idle
			x.Start = now.Add(-1500*time.Millisecond - time.Duration(i)*time.Millisecond)
		default: // expired already
			x.Start = now.Add(-time.Hour - time.Duration(i)*time.Second)
		}
		x.ID = bodytap.NewID(x.Start)
		if i < 10 {
			kept = append(kept, x.ID)
		} else if i < 20 {
			expiring = append(expiring, x.ID)
		}
		s.Record(x)
	}
	flush(t, s)
	all := scanAll(t, s, 20)
	if all[19].ID != expiring[len(expiring)-1] {
		t.Errorf("oldest kept is %s, want %s", all[19].ID, expiring[len(expiring)-1])
	}
	// Nothing more is written: the writer enforces MaxAge on its own.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := s.Count(context.Background(), Query{})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(time.Now().Format("05.000"), n)
		if n == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d exchanges left, want 10", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, x := range scanAll(t, s, 10) {
		if x.ID != kept[i] {
			t.Errorf("kept %s, want %s", x.ID, kept[i])
		}
	}
	if st := s.Stats(); st.Deleted != 20 {
		t.Errorf("Deleted = %d, want 20", st.Deleted)
	}
	checkIntegrity(t, s)
}
