// Package store keeps captured exchanges in an embedded SQLite file: it is
// a bodytap.Sink, answers filtered queries newest first with paging,
// follows new exchanges live, and enforces retention by age, count and
// bytes.
package store

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
)

// ErrNotFound is returned by Get for an ID the store does not hold.
var ErrNotFound = errors.New("store: exchange not found")

// Options configure a Store. The zero value is usable.
type Options struct {
	// BatchSize is the most exchanges written in one transaction.
	BatchSize int
	// FlushInterval is the longest a recorded exchange waits before it
	// is written.
	FlushInterval time.Duration
	// QueueBytes bounds the bytes of exchanges waiting to be written;
	// Record drops (and counts) past it.
	QueueBytes int64

	// Retention: 0 means no limit.
	MaxAge   time.Duration
	MaxCount int64
	MaxBytes int64 // budget for the database file(s)

	// ReadOnly opens an existing store for queries only (the CLI reading
	// a file that a running proxy writes).
	ReadOnly bool

	Logger *slog.Logger
}

// Stats counts what a Store did.
type Stats struct {
	Stored  int64 // exchanges committed
	Dropped int64 // exchanges dropped because the queue was full
	Deleted int64 // exchanges removed by retention
	Errors  int64 // failed batches
}

// Query selects exchanges. Results come newest first.
type Query struct {
	Filter *filter.Filter // nil: all
	Since  time.Time      // zero: no lower bound (inclusive)
	Until  time.Time      // zero: no upper bound (exclusive)
	Before bodytap.ID     // paging: only exchanges older than this ID
	After  bodytap.ID     // only exchanges newer than this ID
	Limit  int            // 0: no limit
}

// Summary is the row of a list: what the CLI's table and the viewer's list
// show, without bodies.
type Summary struct {
	ID            bodytap.ID
	Start         time.Time
	Method        string
	URL           string // absolute
	Host          string
	Path          string
	Status        int
	Duration      time.Duration
	TimeToHeaders time.Duration
	ReqSize       int64  // Request.Body.Size
	RespSize      int64  // Response.Body.Size
	ContentType   string // response Content-Type
	Route         string
	Error         string
	Hijacked      bool
	Truncated     bool // either body's copy is partial
	Redacted      bool // either body was redacted
}

// Store is an open store. Its methods are safe for concurrent use.
type Store struct{}

// Open opens (creating it if needed, unless ReadOnly) the store at path.
func Open(path string, opts Options) (*Store, error) {
	return nil, errors.New("store: not implemented yet")
}

// Record implements bodytap.Sink: it queues x to be written in the next
// batch, never blocking for long.
func (s *Store) Record(x *bodytap.Exchange) {}

// Flush waits until every exchange recorded before the call is committed.
func (s *Store) Flush(ctx context.Context) error { return nil }

// Close flushes and closes the store.
func (s *Store) Close() error { return nil }

// Stats reports counts since Open.
func (s *Store) Stats() Stats { return Stats{} }

// List returns the summaries of the exchanges q selects, newest first.
func (s *Store) List(ctx context.Context, q Query) ([]Summary, error) { return nil, nil }

// Count counts the exchanges q selects (ignoring Limit).
func (s *Store) Count(ctx context.Context, q Query) (int64, error) { return 0, nil }

// Get returns one exchange, bodies included.
func (s *Store) Get(ctx context.Context, id bodytap.ID) (*bodytap.Exchange, error) {
	return nil, ErrNotFound
}

// Scan yields the full exchanges q selects, newest first, in constant
// memory.
func (s *Store) Scan(ctx context.Context, q Query) iter.Seq2[*bodytap.Exchange, error] {
	return func(func(*bodytap.Exchange, error) bool) {}
}

// Subscribe sends the summaries of new exchanges that match f (nil: all)
// as they are stored — by this process or by another one writing the same
// file — until ctx is done or the store is closed; then it closes the
// channel.
func (s *Store) Subscribe(ctx context.Context, f *filter.Filter) <-chan Summary { return nil }

// Import stores exchanges read elsewhere (a HAR file) in one transaction:
// all of them, or none on error. It returns how many it stored.
func (s *Store) Import(ctx context.Context, xs iter.Seq2[*bodytap.Exchange, error]) (int, error) {
	return 0, errors.New("store: not implemented yet")
}
