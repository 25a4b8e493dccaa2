package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/pgstore"
	"github.com/bodytap/bodytap/store"
)

// A backend is the store that proxy, collect, ls, show, tail, export
// and replay write and read: the local store (a SQLite file) or a shared
// PostgreSQL one (--db postgres://...). It is what those commands call,
// no more; ui and import need the local store itself.
type backend interface {
	bodytap.BatchSink
	List(ctx context.Context, q store.Query) ([]store.Summary, error)
	Count(ctx context.Context, q store.Query) (int64, error)
	Get(ctx context.Context, id bodytap.ID) (*bodytap.Exchange, error)
	Scan(ctx context.Context, q store.Query) iter.Seq2[*bodytap.Exchange, error]
	Subscribe(ctx context.Context, f *filter.Filter) <-chan store.Summary
	Flush(ctx context.Context) error
	Stats() store.Stats
	Close() error
}

var (
	_ backend = (*store.Store)(nil)
	_ backend = pgBackend{}
)

// pgBackend is a PostgreSQL store as a backend: its counters in the
// local store's terms (it counts no deletions or searches).
type pgBackend struct{ *pgstore.Store }

func (b pgBackend) Stats() store.Stats {
	s := b.Store.Stats()
	return store.Stats{Stored: s.Stored, Dropped: s.Dropped, Errors: s.Errors}
}

// isPostgres reports whether --db names a PostgreSQL database rather
// than a file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// dbName is --db as messages show it: a connection URL with its password
// masked, lest it end up in a terminal's scrollback or a log.
func dbName(db string) string {
	if isPostgres(db) {
		return pgstore.MaskURL(db)
	}
	return db
}

// openStore opens the store that db names, a file or a postgres:// URL,
// for a command. Of opts, a PostgreSQL store takes ReadOnly, MaxAge and
// Logger; it refuses MaxCount and MaxBytes rather than ignore them.
func openStore(ctx context.Context, db string, opts store.Options) (backend, error) {
	if !isPostgres(db) {
		s, err := openLocal(db, opts)
		if err != nil {
			return nil, err // not a nil *store.Store in a backend
		}
		return s, nil
	}
	if opts.MaxCount > 0 || opts.MaxBytes > 0 {
		return nil, usagef("--db %s: a PostgreSQL store keeps exchanges by age only (--keep-for), not by --keep-count or --keep-bytes", dbName(db))
	}
	s, err := pgstore.Open(ctx, db, pgstore.Options{ReadOnly: opts.ReadOnly, MaxAge: opts.MaxAge, Logger: opts.Logger})
	if err != nil {
		// pgstore's error names the masked URL too: say it once.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		} else {
			err = errors.New(strings.TrimPrefix(err.Error(), "pgstore: open "+dbName(db)+": "))
		}
		return nil, fmt.Errorf("--db %s: %s", dbName(db), joinLines(err.Error()))
	}
	return pgBackend{s}, nil
}

// joinLines makes pgx's error, one line per address tried, one line,
// saying each distinct line once.
func joinLines(s string) string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" && !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return strings.Join(out, " ")
}

// localOnly refuses a PostgreSQL --db for a command that works only with
// the local store, naming what a PostgreSQL store lacks for it.
func localOnly(cmd, db, lacks string) error {
	if !isPostgres(db) {
		return nil
	}
	return usagef("--db %s: %s works with a local store (a SQLite file) only; a PostgreSQL store has no %s yet", dbName(db), cmd, lacks)
}
