package store

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchrow"
)

// Import stores exchanges read elsewhere (a HAR file) in one transaction:
// all of them, or none on error. It returns how many it stored.
//
// Exchanges keep their IDs. One whose ID the store holds already is
// skipped, not replaced, and not counted, so that importing a file twice
// stores it once. One with the zero ID gets an ID from its Start, as
// bodytap's own are made (as package har does for entries it reads). The
// exchanges are not changed. Retention applies to the result, which may
// delete imported exchanges at once if they are older than MaxAge or
// than what MaxCount or MaxBytes leave room for.
//
// Import waits until the database has what the log held (see Flush),
// and RecordBatch waits for Import. Its exchanges go to the log and the
// database in its transaction.
func (s *Store) Import(ctx context.Context, xs iter.Seq2[*bodytap.Exchange, error]) (int, error) {
	if s.w == nil {
		return 0, errors.New("store: import: store is read-only")
	}
	// The log gets the imported records after every other: appends wait
	// until the database has what the log held before.
	s.w.logMu.Lock()
	defer s.w.logMu.Unlock()
	if s.w.logClosed {
		return 0, errors.New("store: import: store is closed")
	}
	if err := s.Flush(ctx); err != nil {
		return 0, fmt.Errorf("store: import: %w", err)
	}
	n, _, err := s.w.importAll(ctx, xs)
	if err != nil {
		return 0, fmt.Errorf("store: import: %w", err)
	}
	s.notifyCommit()
	return int(n), nil
}

var errClosed = errors.New("store closed")

func (w *writer) importAll(ctx context.Context, xs iter.Seq2[*bodytap.Exchange, error]) (stored, deleted int64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, 0, errClosed
	}
	t, err := w.begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			t.rollback()
		}
	}()
	for x, err := range xs {
		if err != nil {
			return 0, 0, err
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		if x == nil {
			continue
		}
		x = exchrow.Identified(x)
		r, err := newRow(x)
		if err != nil {
			return 0, 0, err
		}
		if _, err := t.insert(r); err != nil {
			return 0, 0, err
		}
	}
	if err := t.makeRoom(0); err != nil {
		return 0, 0, err
	}
	if err := t.retain(); err != nil {
		return 0, 0, err
	}
	if err := t.commit(); err != nil {
		return 0, 0, err
	}
	return t.added, t.deleted, nil
}
