package stores

import (
	"context"
	"errors"
	"iter"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/pgstore"
	"github.com/bodytap/bodytap/store"
)

// Store is a store of captured exchanges: *store.Store or
// *pgstore.Store. Its methods are safe for concurrent use, and have the
// semantics that package store documents for its Store.
type Store interface {
	// Record and RecordBatch store exchanges; see package store's
	// Writing section.
	bodytap.BatchSink

	// List returns the summaries of the exchanges q selects, newest
	// first.
	List(ctx context.Context, q store.Query) ([]store.Summary, error)

	// ListPage is List with the cursor of the next page (the ID to pass
	// as q.Before), or the zero ID when none is left.
	ListPage(ctx context.Context, q store.Query) ([]store.Summary, bodytap.ID, error)

	// Count counts the exchanges q selects, ignoring its Limit.
	Count(ctx context.Context, q store.Query) (int64, error)

	// Get returns one exchange, bodies included, or an error wrapping
	// store.ErrNotFound.
	Get(ctx context.Context, id bodytap.ID) (*bodytap.Exchange, error)

	// Scan yields the full exchanges q selects, newest first.
	Scan(ctx context.Context, q store.Query) iter.Seq2[*bodytap.Exchange, error]

	// Subscribe sends the summaries of new exchanges that match f (nil:
	// all), whoever writes them, until ctx is done or the store closes;
	// then it closes the channel.
	Subscribe(ctx context.Context, f *filter.Filter) <-chan store.Summary

	// Import stores exchanges read elsewhere in one transaction, keeping
	// their IDs and skipping those the store holds; it returns how many
	// it stored.
	Import(ctx context.Context, xs iter.Seq2[*bodytap.Exchange, error]) (int, error)

	// Flush returns when what Record was given before is committed.
	Flush(ctx context.Context) error

	// Stats reports counts since the store was opened.
	Stats() store.Stats

	// Close waits for a write in progress, ends the subscriptions and
	// closes the store.
	Close() error
}

var (
	_ Store = (*store.Store)(nil)
	_ Store = (*pgstore.Store)(nil)
)

// IsPostgres reports whether dsn names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Name returns dsn as a message may show it: a connection URL with its
// password masked (see pgstore.MaskURL), a file path as it is.
func Name(dsn string) string {
	if IsPostgres(dsn) {
		return pgstore.MaskURL(dsn)
	}
	return dsn
}

// Open opens the store that dsn names: the PostgreSQL database of a
// postgres:// or postgresql:// URL (user, password, host, database and
// parameters as pgx takes them), or else the local store in the file at
// that path, created if need be unless opts.ReadOnly. Of opts, the
// PostgreSQL store takes MaxAge, MaxCount, MaxBytes, ReadOnly and Logger,
// and has nothing to leave out for NoFullText. Errors never hold a
// password.
func Open(ctx context.Context, dsn string, opts store.Options) (Store, error) {
	if dsn == "" {
		return nil, errors.New("stores: open: no store named")
	}
	if IsPostgres(dsn) {
		s, err := pgstore.Open(ctx, dsn, pgstore.Options{
			MaxAge: opts.MaxAge, MaxCount: opts.MaxCount, MaxBytes: opts.MaxBytes,
			ReadOnly: opts.ReadOnly, Logger: opts.Logger,
		})
		if err != nil {
			return nil, err // not a nil *pgstore.Store in a Store
		}
		return s, nil
	}
	s, err := store.Open(dsn, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}
