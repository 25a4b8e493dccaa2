package store

import (
	"context"
	"testing"
	"time"
)

// TestRecordWait: with RecordWait, a queue far too small for a burst
// makes Record wait for the writer instead of dropping.
func TestRecordWait(t *testing.T) {
	s, _ := openTest(t, Options{QueueBytes: 16 << 10, RecordWait: 10 * time.Second, BatchSize: 8})
	g := newGen(7)
	const n = 500
	for range n {
		s.Record(g.next())
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Dropped != 0 || st.Stored != n {
		t.Fatalf("stats %+v: want %d stored, none dropped", st, n)
	}
}

// TestRecordNoWait: without RecordWait the same burst drops, and counts
// it (the bound holds).
func TestRecordNoWait(t *testing.T) {
	s, _ := openTest(t, Options{QueueBytes: 16 << 10, BatchSize: 8})
	g := newGen(7)
	const n = 500
	for range n {
		s.Record(g.next())
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Dropped == 0 || st.Stored+st.Dropped != n {
		t.Fatalf("stats %+v: want drops, all counted", st)
	}
}
