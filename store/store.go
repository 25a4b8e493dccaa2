// Package store keeps captured exchanges in an embedded SQLite file: it is
// a bodytap.Sink, answers filtered queries newest first with paging,
// follows new exchanges live, and enforces retention by age, count and
// bytes.
//
//	s, err := store.Open("bodytap.db", store.Options{MaxBytes: 1 << 30})
//	tap := bodytap.New(bodytap.Config{Sink: s})
//	...
//	tap.Close()
//	s.Close()
//
// # Writing
//
// Record queues an exchange and returns: it never waits for the disk. A
// single writer goroutine takes the queue in batches (Options.BatchSize,
// or what has waited Options.FlushInterval) and writes each batch in one
// transaction with prepared statements. The queue is bounded by
// Options.QueueBytes, counting each exchange as its two body copies plus
// a fixed 1 KiB; past it Record drops exchanges, counts them in
// Stats.Dropped and logs at most once a second. A batch that fails (a
// full disk, say) is lost, counted in Stats.Errors and logged; the store
// goes on with the next one. Flush waits until what was recorded is
// committed; Close flushes and closes.
//
// # Crash safety
//
// The file is in WAL mode with synchronous=NORMAL. A committed batch
// survives the process dying at any moment, kill -9 included: the next
// Open finds the file intact, with every batch committed before the
// crash, and loses only the batches that were queued or being written.
// What NORMAL gives up is durability against the machine losing power
// or the kernel crashing: then the last transactions before it may be
// lost too (never the file's integrity; SQLite syncs the WAL before each
// checkpoint). FULL would sync on every commit, for a guarantee a
// capture log rarely needs, at a cost in throughput.
//
// # Schema
//
// The file's schema has a version (PRAGMA user_version) and an
// application ID; Open migrates an older schema in one transaction and
// refuses a newer one, and a file that is not SQLite, or SQLite but not
// a store, with a one-line error naming it. Version 1 has:
//
//   - exchanges: one row per exchange with the columns that lists show and
//     filters test: the ID (its 16 bytes, which sort by time), start,
//     method, host, host without port, path, URL, client address, status,
//     duration, time to headers, body sizes, Content-Types, route, error
//     text and flags (hijacked, truncated, redacted, withheld, asset,
//     websocket). Its rowid counts commits and is never reused. Indexes
//     on the ID; on (method, ID), (host without port, ID), (status, ID),
//     (response Content-Type, ID), (route, ID), which an equality reads
//     newest first; on the exchanges with an error; and on path,
//     duration and the larger body size, each after a segment number
//     (the rowid divided by 16384), so that inserts, whose values there
//     come in no order, touch only the newest segment's part of them (a
//     query seeks each segment).
//   - bodies: the rest, read only by Get and Scan: the exchange in its
//     JSON form (see package jsonl) without the body
//     copies, and the two copies as blobs.
//   - bodies_fts: an FTS5 index of the trigrams of the body copies that
//     are text.
//   - terms: the distinct methods, hosts, routes and Content-Types, so
//     that a regular expression on one of them becomes a list of values
//     that its index serves.
//   - state: the row count, how far the full-text index has got.
//
// Get returns an exchange as Record was given it: every field, with
// headers, trailers and informational responses, body copies byte for
// byte (binary ones too), empty and nil told apart, and errors as errors
// with the same text (those made from bodytap's sentinel errors wrap them
// again). Start comes back in UTC, without a monotonic reading; a body's
// spilled part (Body.Open) is not stored, only Body.Bytes; and strings
// (headers, URL, error texts) that are not valid UTF-8 come back with
// U+FFFD for the bad bytes, as in the JSON form.
//
// # Queries
//
// Lists are newest first, by ID, and page by a cursor (Query.Before: the
// last ID of the page before), never by an offset, so that a page deep
// down costs what the first one does. Since and Until select by Start,
// finding the range by the time in the IDs, which is Start to the
// millisecond for every ID bodytap and package har make: an imported
// exchange whose ID says another time may be missed by them (and
// retention goes by the ID's time too). A filter compiles to SQL wherever
// SQL can decide it exactly as filter.Filter.Match does:
//
//   - ~m, ~d, ~route, ~t, ~tq, ~ts: their regular expression runs on the
//     distinct values in terms, and the filter becomes an IN list that the
//     column's index serves (or, past 4096 distinct values, a match of
//     each row's value);
//   - ~c, ~dur, ~size, ~sizeq, ~sizes: comparisons, indexed;
//   - ~path: a range of the path index by the glob's literal prefix, then
//     the glob;
//   - ~u, ~src, ~dst: the regular expression on each row's column;
//   - ~b, ~bq, ~bs: the full-text index keeps the rows whose text holds
//     every trigram of the literal strings that a match must contain
//     (binary, compressed and very large bodies are always kept), then
//     the regular expression runs on the copies;
//   - ~a, ~websocket, ~e, ~q, ~s, ~all, ~http: flags and columns;
//   - !, &, |: as themselves.
//
// Regular expressions run in Go, called from SQL, after SQL has looked
// for the literal strings a match must contain (instr, LIKE). Only the
// header matches (~h, ~hq, ~hs) are left to Go: SQL selects candidates by
// the rest of the filter, and each is decoded and matched with
// filter.Filter.Match. Such a query reads candidates a page at a time
// until it has its page; Query.MaxScan bounds that work, and ListPage
// says where to go on.
//
// A page newest first should walk the ID index and stop after its rows,
// unless a condition is rare enough that reading its rows by its own
// index and sorting them costs less. The planner cannot tell (ranges and
// lists have no statistics that say so), so the store counts, up to a
// bound, the rows a range or a list matches (a status class, a duration,
// a path prefix, several hosts) before it builds the query: the rarest
// such condition under the bound drives the query with its index; the
// others are kept from theirs. On a million exchanges a page costs under
// a millisecond unfiltered, at any depth, and a few milliseconds with
// indexed conditions; a condition that no index serves (a regular
// expression on the URL) reads every row when it matches none, about a
// second per million.
//
// Count is exact; without a filter it reads a counter, with one it counts
// what the indexes select (milliseconds to a few hundred milliseconds per
// million exchanges) or scans.
//
// The full-text index is built behind the writer, when it has no batch
// due, a few hundred exchanges at a time: trigram indexing costs more
// than writing an exchange (the writer indexes some 5,000 exchanges with
// 2 KiB of text a second, against some 20,000 written), so under a
// sustained load the index lags, and catches up when the load drops.
// Queries are exact either way: rows not indexed yet are searched by
// reading them.
//
// # Live tail
//
// Subscribe follows the exchanges committed after it, in commit order: by
// this process (it looks after each commit) and by another process
// writing the same file (it looks every 250 ms). See Store.Subscribe.
//
// # Retention
//
// MaxAge, MaxCount and MaxBytes delete the oldest exchanges (by ID) in
// the transaction of each batch; the writer also removes expired
// exchanges when idle. For MaxBytes the file is the database file and
// its WAL: before each batch the writer counts the pages in use (pages
// less free pages, which later writes reuse, times the page size) and
// deletes the oldest exchanges until they, the batch and room for the
// WAL fit in the budget. The WAL is kept small (journal_size_limit and
// wal_autocheckpoint from the budget) and counted at the most it can
// take, about four times a batch: for a small budget that room is a
// large part of it. So the file never grows past MaxBytes by more than
// one batch. Freed pages are reused, not returned: a file that was
// larger before (MaxBytes lowered) keeps its size until VACUUM.
//
// # Reading while another process writes
//
// Options.ReadOnly opens the file read-only (mode=ro, query_only), for a
// CLI that reads what a running proxy writes: WAL mode lets readers and
// the writer work at once, and Subscribe on a read-only store follows the
// writer.
//
// # Driver
//
// The store uses modernc.org/sqlite, SQLite translated to Go. It needs no
// cgo: "go install" works on any machine without a C toolchain, and the
// program cross-compiles like any Go program. mattn/go-sqlite3 needs cgo
// (and a C compiler wherever bodytap is built); ncruces/go-sqlite3 runs
// SQLite compiled to WebAssembly in a Go runtime for it. The price of the
// translation is some speed: the store's inserts alone (its schema,
// pragmas and statements through database/sql, 1 KiB bodies) cost about
// 1.2 to 1.3 times the CPU with modernc that they do with mattn (measured
// at 23–36 against 21–29 µs an exchange on a shared two-core machine),
// and the whole ingest, encoding included, commits over 20,000 exchanges
// a second there (BenchmarkIngest). Version v1.59.0 is pinned: later ones
// require Go 1.26.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
)

// ErrNotFound is returned by Get for an ID the store does not hold.
var ErrNotFound = errors.New("store: exchange not found")

// Options configure a Store. The zero value is usable.
type Options struct {
	// BatchSize is the most exchanges written in one transaction
	// (default DefaultBatchSize).
	BatchSize int
	// FlushInterval is the longest a recorded exchange waits before it
	// is written (default DefaultFlushInterval).
	FlushInterval time.Duration
	// QueueBytes bounds the bytes of exchanges waiting to be written,
	// counted as their body copies and 1 KiB each; Record drops (and
	// counts) past it (default DefaultQueueBytes), unless RecordWait
	// lets it wait.
	QueueBytes int64
	// RecordWait is how long Record may wait for room in a full queue
	// before it drops. Zero never waits. A Tap calls Record from its
	// delivery goroutine, so waiting there slows delivery, not requests,
	// until the Tap's own queue fills (see bodytap.Config.QueueWait);
	// the capturing proxy sets both, so that overload slows it down
	// instead of losing captures.
	RecordWait time.Duration

	// Retention: 0 means no limit. See the package documentation.
	MaxAge   time.Duration // older exchanges are deleted
	MaxCount int64         // the most exchanges kept
	MaxBytes int64         // budget for the database file and its WAL

	// ReadOnly opens an existing store for queries only (the CLI reading
	// a file that a running proxy writes).
	ReadOnly bool

	// NoFullText leaves bodies out of the full-text index: body filters
	// (~b, ~bq, ~bs) then read every candidate's bodies.
	NoFullText bool

	// Logger receives what goes wrong that no call returns: dropped
	// exchanges, failed batches. Nil means slog.Default().
	Logger *slog.Logger
}

// Stats counts what a Store did.
type Stats struct {
	Stored  int64 // exchanges committed
	Dropped int64 // exchanges dropped: queue full, or store closed or read-only
	Deleted int64 // exchanges removed by retention
	Errors  int64 // failed batches, and exchanges that could not be encoded
}

// Query selects exchanges. Results come newest first.
type Query struct {
	Filter *filter.Filter // nil: all
	Since  time.Time      // zero: no lower bound (inclusive)
	Until  time.Time      // zero: no upper bound (exclusive)
	Before bodytap.ID     // paging: only exchanges older than this ID
	After  bodytap.ID     // only exchanges newer than this ID
	Limit  int            // 0: no limit

	// MaxScan bounds the work of List and ListPage when parts of Filter
	// are left to Go to decide: they stop after decoding this many
	// candidates (0: no bound). See Store.ListPage.
	MaxScan int
}

// Summary is the row of a list: what the CLI's table and the viewer's list
// show, without bodies.
type Summary struct {
	ID            bodytap.ID
	Start         time.Time
	Method        string
	URL           string // absolute
	Host          string // Request.Host, with the port it may have
	Path          string // Request.URL.Path
	Status        int
	Duration      time.Duration
	TimeToHeaders time.Duration
	ReqSize       int64  // Request.Body.Size
	RespSize      int64  // Response.Body.Size
	ContentType   string // response Content-Type (the first, if several)
	Route         string
	Error         string
	Hijacked      bool
	Truncated     bool // either body's copy is partial
	Redacted      bool // either body was redacted
}

// Defaults for the zero fields of Options.
const (
	DefaultBatchSize     = 1000
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultQueueBytes    = 256 << 20
)

// pollInterval is how often Subscribe looks for exchanges that another
// process stored.
const pollInterval = 250 * time.Millisecond

// Store is an open store. Its methods are safe for concurrent use.
type Store struct {
	path string
	opts Options
	log  *slog.Logger

	rdb *sql.DB // queries: read-only connections
	w   *writer // nil when ReadOnly

	mu       sync.Mutex
	queue    []*row
	queued   int64         // cost of the rows queued or being written
	oldest   time.Time     // when the first row in queue was queued
	enq      uint64        // rows queued since Open
	taken    uint64        // rows taken from the queue by the writer
	done     uint64        // rows taken and written (or lost)
	flushTo  uint64        // the writer is to write rows up to this count now
	progress chan struct{} // closed and replaced when done grows
	closed   bool
	wake     chan struct{} // tells the writer to look at the queue

	// commit is closed and replaced after each commit, so that
	// subscribers look for new rows at once.
	commitMu sync.Mutex
	commit   chan struct{}

	quit       chan struct{} // closed by Close after the writer stopped
	writerDone chan struct{}
	subs       sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error

	stored, dropped, deleted, errors atomic.Int64
	lastDropLog                      atomic.Int64 // Unix nanoseconds
	droppedSinceLog                  atomic.Int64
}

// Open opens (creating it if needed, unless ReadOnly) the store at path.
//
// A file that is not a SQLite database, is damaged, or holds a schema
// newer than this program knows fails with a one-line error that names
// it.
func Open(path string, opts Options) (*Store, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = DefaultQueueBytes
	}
	s := &Store{
		path:       path,
		opts:       opts,
		log:        opts.Logger,
		progress:   make(chan struct{}),
		wake:       make(chan struct{}, 1),
		commit:     make(chan struct{}),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.open(); err != nil {
		if s.w != nil {
			s.w.close()
		}
		if s.rdb != nil {
			s.rdb.Close()
		}
		return nil, fmt.Errorf("store: open %s: %s", path, oneLine(err))
	}
	if s.w != nil {
		go s.run()
	} else {
		close(s.writerDone)
	}
	return s, nil
}

// oneLine returns the text of err on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (s *Store) open() error {
	abs, err := filepath.Abs(s.path)
	if err != nil {
		return err
	}
	if s.opts.ReadOnly {
		if _, err := os.Stat(abs); err != nil {
			return err
		}
	}
	ctx := context.Background()
	if !s.opts.ReadOnly {
		if s.w, err = openWriter(ctx, abs, &s.opts); err != nil {
			return err
		}
	}
	s.rdb = sql.OpenDB(connector{dsn(abs, s.opts.ReadOnly, readerPragmas)})
	s.rdb.SetMaxOpenConns(4)
	s.rdb.SetMaxIdleConns(4)
	version, app, err := readVersion(ctx, s.rdb)
	if err != nil {
		return err
	}
	if err := checkVersion(ctx, s.rdb, version, app); err != nil {
		return err
	}
	switch {
	case version == 0:
		return errors.New("not a bodytap store (an empty database)")
	case version < schemaVersion:
		return fmt.Errorf("schema version %d is older than this program's (%d): open it once read-write to upgrade it", version, schemaVersion)
	}
	return nil
}

// Pragmas of the connections that read.
var readerPragmas = []string{
	"busy_timeout(10000)",
	"query_only(1)",
	"temp_store(MEMORY)",
	"cache_size(-16384)", // KiB
	"mmap_size(268435456)",
}

// dsn returns the URI that opens the database file at the absolute path
// abs with pragmas.
func dsn(abs string, readOnly bool, pragmas []string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '?', '#', '%':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	q := url.Values{}
	if readOnly {
		q.Set("mode", "ro")
	}
	q["_pragma"] = pragmas
	b.WriteString("?")
	b.WriteString(q.Encode())
	return b.String()
}

// Record implements bodytap.Sink: it queues x to be written in the next
// batch, never waiting for the disk. It encodes x in the caller's
// goroutine (the Tap's delivery goroutine: some microseconds of CPU), and
// keeps its body copies, unchanged, until they are written. When the
// queue already holds Options.QueueBytes, and after Close (or on a
// read-only store), it drops x and counts it in Stats.Dropped; with
// Options.RecordWait it first waits that long for room.
func (s *Store) Record(x *bodytap.Exchange) {
	if x == nil {
		return
	}
	c := cost(x)
	var deadline *time.Timer
	s.mu.Lock()
	for !s.closed && s.w != nil && s.queued+c > s.opts.QueueBytes && s.queued > 0 && s.opts.RecordWait > 0 {
		// Full: wait for the writer to finish a batch, up to RecordWait.
		progress := s.progress
		s.mu.Unlock()
		if deadline == nil {
			deadline = time.NewTimer(s.opts.RecordWait)
			defer deadline.Stop()
		}
		select {
		case <-progress:
		case <-deadline.C:
			s.drop()
			return
		}
		s.mu.Lock()
	}
	if s.closed || s.w == nil || s.queued+c > s.opts.QueueBytes {
		s.mu.Unlock()
		s.drop()
		return
	}
	s.queued += c // taken now, so that concurrent Records see it
	s.mu.Unlock()

	r, err := newRow(x)

	s.mu.Lock()
	if err != nil || s.closed {
		s.queued -= c
		s.mu.Unlock()
		if err != nil {
			s.errors.Add(1)
			s.log.Error("bodytap store: exchange not stored", "path", s.path, "err", err)
		} else {
			s.drop()
		}
		return
	}
	r.at = time.Now()
	if len(s.queue) == 0 {
		s.oldest = r.at
	}
	s.queue = append(s.queue, r)
	s.enq++
	if n := len(s.queue); n == 1 || n == s.opts.BatchSize {
		s.signal()
	}
	s.mu.Unlock()
}

// signal wakes the writer.
func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// drop counts a dropped exchange and logs drops at most once a second.
func (s *Store) drop() {
	s.dropped.Add(1)
	s.droppedSinceLog.Add(1)
	now := time.Now().UnixNano()
	last := s.lastDropLog.Load()
	if now-last < int64(time.Second) || !s.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	n := s.droppedSinceLog.Swap(0)
	s.log.Warn("bodytap store: exchanges dropped (queue full, or store closed or read-only)",
		"path", s.path, "dropped", n, "total_dropped", s.dropped.Load())
}

// Flush waits until every exchange recorded before the call is committed
// (or, if its batch failed, lost and counted in Stats.Errors). It returns
// ctx.Err() if ctx is done first.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.enq
	for s.done < target {
		s.flushTo = max(s.flushTo, target)
		ch := s.progress
		s.signal()
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.writerDone:
			s.mu.Lock()
			if s.done < target {
				s.mu.Unlock()
				return errors.New("store: closed")
			}
			s.mu.Unlock()
			return nil
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
	return nil
}

// Close writes what is queued, stops the writer and closes the database.
// Subscriptions end. Closing again does nothing and returns the result of
// the first Close.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.signal()
		s.mu.Unlock()
		<-s.writerDone
		if n := s.droppedSinceLog.Swap(0); n > 0 {
			s.log.Warn("bodytap store: exchanges dropped (queue full, or store closed or read-only)",
				"path", s.path, "dropped", n, "total_dropped", s.dropped.Load())
		}
		close(s.quit)
		s.subs.Wait()
		var errs []error
		if s.w != nil {
			errs = append(errs, s.w.close())
		}
		errs = append(errs, s.rdb.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("store: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// Stats reports counts since Open.
func (s *Store) Stats() Stats {
	return Stats{
		Stored:  s.stored.Load(),
		Dropped: s.dropped.Load(),
		Deleted: s.deleted.Load(),
		Errors:  s.errors.Load(),
	}
}

// notifyCommit wakes the subscribers.
func (s *Store) notifyCommit() {
	s.commitMu.Lock()
	close(s.commit)
	s.commit = make(chan struct{})
	s.commitMu.Unlock()
}

func (s *Store) commitChan() <-chan struct{} {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.commit
}
