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
// A Store is a bodytap.BatchSink. RecordBatch encodes the exchanges it
// is given (in the caller's goroutine: the Tap's delivery goroutine) and
// appends them to the store's log, a directory of segment files next to
// the database (NAME-log/00000001.seg, ...), in compressed blocks with a
// checksum each; when their blocks are written, it returns. That is the
// write the store acknowledges. The store's goroutine reads what was
// appended behind it and inserts each exchange's row into the database
// (the columns that lists show and filters test, and where the log holds
// the rest), in transactions of at most maxBatch exchanges; queries see
// an exchange once its row is committed, and Flush waits for that. Under
// load the transactions grow by themselves, since what was appended
// during one is the next.
//
// Appending an exchange with 1 KiB bodies (encoding, compressing and
// writing it) costs about 12 CPU-µs, inserting its row about as much, and
// its skip indexes 5 (BenchmarkIngest): the store's goroutine inserts
// while a second one fills the skip indexes of the same rows, and takes
// the records just appended from memory (up to 4 MiB of them) rather
// than reading them back, so that a process that does little else stores
// exchanges on all of two CPUs. While exchanges keep coming and the rest
// of the process needs the CPUs (a quarter of them or more, over a
// quarter of a second, not counting the store's own work, which counts
// as the CPU time it took), the store's goroutine spends only a
// twentieth of its time inserting, so that the CPU goes to the requests
// they come from; when exchanges come faster than it
// inserts them, they wait in the log, on disk, not in memory, and
// queries and Subscribe see them later: Stats.Backlog and Stats.BacklogBytes say how many, and the
// store logs a line every 5 seconds while more than 1000 wait. Past 1 GiB
// of them (a sixteenth of MaxBytes, if set), RecordBatch waits for the
// database. The Tap's queue (bodytap.Config.QueueLen, QueueBytes,
// QueueWait) only holds what RecordBatch has not taken yet. A batch that
// cannot be appended (a full disk, say) is lost, counted in Stats.Errors
// and logged, as is one whose transaction fails; the store goes on with
// the next one. Close waits for the database to have everything the log
// holds.
//
// # Crash safety
//
// A block of the log is written before RecordBatch returns, and the
// database records, in each transaction, how far into the log its rows
// go. Open keeps what the log holds past that point (every block that is
// whole and whose checksum matches) and inserts it behind, and cuts off
// the rest: a block torn by a process that died while writing it. So
// when the process dies at any moment, kill -9 included, the store loses
// only the exchanges whose RecordBatch had not returned: those in the
// Tap's queue (bounded by its QueueLen and QueueBytes) and the batch
// being appended (what the Tap took from its queue at once). Open reads
// the log's
// tail once (its checksums) and does not wait for the inserts, which go
// on behind it.
//
// The database file is in WAL mode with synchronous=NORMAL, and the log
// is not synced after each block either: what they give up is durability
// against the machine losing power or the kernel crashing. Then the last
// transactions and blocks may be lost (never the file's integrity; SQLite
// syncs the WAL before each checkpoint, and a full segment is synced
// before the next begins). A segment found shorter than the rows say is
// cut to its last whole block at Open, and the rows of the exchanges it
// lost are deleted, with a warning. A block damaged on disk fails the
// reads of its exchanges (Get, body searches) with an error that says
// so; the others read as before.
//
// # Schema
//
// The file's schema has a version (PRAGMA user_version) and an
// application ID; Open migrates an older schema in one transaction and
// refuses a newer one, and a file that is not SQLite, or SQLite but not
// a store, with a one-line error naming it. Version 5 has:
//
//   - exchanges: one row per exchange with the columns that lists show and
//     filters test: the ID (its 16 bytes, which sort by time), start,
//     method, host, host without port, path, URL, client address, status,
//     duration, time to headers, body sizes, Content-Types, route, error
//     text and flags (hijacked, truncated, redacted, withheld, asset,
//     websocket). Its rowid counts commits and is never reused: the
//     writer gives it and keeps the last one given in state (up to
//     version 4, AUTOINCREMENT, which cost each insert a write of
//     sqlite_sequence). Indexes on the ID, and on path after a segment
//     number (the rowid divided by 16384), so that inserts, whose paths
//     come in no order, touch only the newest segment's part of it (a
//     query seeks each segment). Filters on method, host, status,
//     Content-Types, route and errors go through the keys of chunks
//     (chunk_keys, below); up to version 4 each had an index, which
//     together cost the writer half of its time in SQLite. Filters on
//     duration and sizes test the rows as a page reads them: their
//     indexes (up to version 3) cost each insert more than they saved
//     the rare query.
//   - the log (not a table): the rest, read only by Get, Scan and body
//     searches: the exchange in its JSON form (see package jsonl) without
//     the body copies, and the two copies; exchanges.loc says where.
//   - bodies: the same, as rows, for the exchanges stored by version 2
//     and before.
//   - blooms: the skip index of body searches: for each chunk of 1024
//     exchanges (by rowid; 4096 in files made before version 5), a Bloom
//     filter of the trigrams of their bodies (see below), and the hash
//     its bits were set with: version 4 sets two bits of one word per
//     trigram, where the filters of version 3 files, which stay as they
//     are, set three bits anywhere.
//   - chunk_keys: for each chunk, a Bloom filter of 512 bytes of the
//     values its exchanges have of method, host, route, Content-Types and
//     status, and whether one failed; chunk_pairs: one of 2 KiB of the
//     pairs of method and host, method and status, host and status.
//   - terms: the distinct methods, hosts, routes and Content-Types, so
//     that a regular expression on one of them becomes a list of values
//     that its index serves.
//   - state: the row count, the last rowid given, the chunk size, how
//     far the writer has built the filters of chunks that lacked one, how
//     far into the log the rows go.
//
// Opening a version 4 file read-write converts it at once: AUTOINCREMENT
// comes off the table's definition (the rows stay as they are), six
// indexes are dropped, and the writer builds the keys of every chunk
// from the rows' columns (no bodies: about a second per million
// exchanges, once); its chunks keep their size. Version 3 and before
// are converted to version 4 first, as below.
//
// Version 2 kept every exchange's stored form in bodies, written in the
// transaction of its row: storing 2 KiB of bodies as rows cost the
// writer more than the row itself. Opening a version 2 file read-write
// converts it, at once (a column and three states are added): its
// exchanges stay in bodies, new ones go to the log; read-only, it is
// read as it is. Version 1 had a trigram full-text index (FTS5) instead
// of blooms, maintained behind the writer. Opening a version 1 file
// read-write converts it (the index is dropped; the writer builds the
// filters of its chunks when idle); read-only, it is read as it is, body
// searches reading every body.
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
//     distinct values in terms, and the filter becomes an IN list, whose
//     values the keys of chunks hold (or, past 4096 distinct values, a
//     match of each row's value);
//   - ~c, ~dur, ~size, ~sizeq, ~sizes: comparisons; ~c's values are
//     keys of chunks;
//   - ~path: a range of the path index by the glob's literal prefix, then
//     the glob;
//   - ~u, ~src, ~dst: the regular expression on each row's column;
//   - ~b, ~bq, ~bs: the skip index leaves out the chunks of exchanges
//     whose filter lacks a trigram of the literal strings that a match
//     must contain (chunks with binary, compressed or very large bodies,
//     the newest chunk, and chunks whose filter is not built yet are
//     read), then the regular expression runs on the copies of the rest;
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
// unless a condition is rare enough that reading its rows some other way
// and sorting them costs less. For a path prefix, the planner cannot
// tell (ranges have no statistics that say so), so the store counts, up
// to a bound, the rows it matches before it builds the query, and uses
// the path index only if they are few. For the columns that the keys of
// chunks serve, a conjunct of the filter whose values are missing from
// at least half of the chunks runs chunk by chunk, as a body search does
// (below), reading only the chunks whose keys may hold them; a value
// that more chunks hold is found as soon by walking the ID index. On a
// million exchanges a page costs under a millisecond unfiltered, at any
// depth, and a few milliseconds with such conditions; a condition that
// neither serves (a regular expression on the URL) reads every row when
// it matches none, about a second per million.
//
// Count is exact; without a filter it reads a counter, with one it counts
// what the path index or the keys of chunks select, or scans: a filter on
// a value that most chunks hold (~c 5xx) reads every row, about half a
// second per million exchanges (up to version 4 its index counted it in
// milliseconds).
//
// # Body search
//
// Bodies are not indexed word by word: a full-text index (version 1 had
// an FTS5 trigram index) cost the writer more than storing the exchange,
// and under load it lagged by as much. Instead the writer keeps, for the
// chunk of 1024 exchanges it is filling, a Bloom filter of the trigrams
// of their bodies (16 KiB, ASCII case folded; a few hundred nanoseconds
// per KiB of body), and stores it in the transaction that begins the next
// chunk. A body search reads every chunk's filter (16 MiB per million
// exchanges), and reads the bodies only of the chunks that may hold the
// trigrams of the literal strings it needs; a search with no literal of
// three bytes reads them all. A filter is lost when the process stops
// mid-chunk: the writer rebuilds it from the bodies when it seals the
// chunk.
//
// A query with a body match (that SQL and the skip index decide
// exactly: not with a header match) runs chunk by chunk, newest first,
// on every CPU (at most four workers, eight chunks ahead of the caller):
// SQL selects the rows of a chunk by the rest of the filter, the body
// matches of the filter's conjuncts are decided in Go on the blocks of
// the log (each read and decoded once, the literal strings of the
// expression looked for by their rarest byte before it runs), and the
// summaries are read of the rows kept only. Matches come in ID order as
// soon as no older chunk can hold a newer one, so List's first page
// comes once the newest chunks hold it and Scan streams; a search that
// matches nothing costs one read of the chunks that may match; and
// Query.Progress says how far a search is (ls and the viewer show it
// once a search takes a second).

// # Live tail
//
// Subscribe follows the exchanges committed after it, in commit order: by
// this process (it looks after each commit) and by another process
// writing the same file (it looks every 250 ms). See Store.Subscribe.
//
// # Retention
//
// MaxAge, MaxCount and MaxBytes delete the oldest exchanges (by ID) in
// the transaction that inserts each batch; the writer also removes
// expired exchanges when idle. A segment of the log is removed once no
// exchange in it is left (segments are cut at a sixteenth of MaxBytes,
// at most 64 MiB, so that the one retention cannot remove yet is a small
// part of the budget). For MaxBytes the files are the database file, its
// WAL and the segments: before each batch the writer counts the pages in
// use (pages less free pages, which later writes reuse, times the page
// size) and the segments that hold exchanges or the backlog, and deletes
// the oldest exchanges until they, the batch and room for the WAL fit in
// the budget. The WAL is kept small (journal_size_limit and
// wal_autocheckpoint from the budget) and counted at the most it can
// take, about four times a batch's rows. So the files never grow past
// MaxBytes by more than one batch and the backlog (at most a sixteenth of
// MaxBytes and a batch). Freed pages are
// reused, not returned: a file that was larger before (MaxBytes lowered)
// keeps its size until VACUUM.
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
// and the whole ingest, encoding and log included, takes about 46 CPU-µs
// an exchange there, about 21,000 exchanges a second with the append and
// the inserts on two cores (BenchmarkIngest; the release that stored
// bodies as rows took 59 µs, 13,000 a second, in the same run). Version
// v1.59.0 is pinned: later ones require Go 1.26.
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
	// Retention: 0 means no limit. See the package documentation.
	MaxAge   time.Duration // older exchanges are deleted
	MaxCount int64         // the most exchanges kept
	MaxBytes int64         // budget for the database file and its WAL

	// ReadOnly opens an existing store for queries only (the CLI reading
	// a file that a running proxy writes).
	ReadOnly bool

	// NoFullText leaves out the skip index of body searches (see Body
	// search in the package documentation): body filters (~b, ~bq, ~bs)
	// then read every candidate's bodies.
	NoFullText bool

	// Logger receives what goes wrong that no call returns: dropped
	// exchanges, failed batches. Nil means slog.Default().
	Logger *slog.Logger
}

// Stats counts what a Store did.
type Stats struct {
	Stored  int64 // exchanges committed
	Dropped int64 // exchanges given after Close, or to a read-only store
	Deleted int64 // exchanges removed by retention
	Errors  int64 // failed batches, and exchanges that could not be encoded

	// Backlog is how many exchanges the log holds that are not in the
	// database yet (queries do not see them): what waits on disk when
	// the store cannot insert them as fast as they come. BacklogBytes
	// is the size of their records in the log.
	Backlog      int64
	BacklogBytes int64

	// Searches counts the calls of List, ListPage and Count, those that
	// failed included, and SearchTime is the time they took in all:
	// what the viewer's list and its searches cost.
	Searches   int64
	SearchTime time.Duration
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

	// Progress, if not nil, hears how far a search that reads bodies
	// (see Body search in the package documentation) has gone: the
	// exchanges it has gone through, read or ruled out by the skip
	// index, and how many it has to, newest first. List, ListPage,
	// Count and Scan call it from the goroutine that called them, as
	// the search goes, and with scanned == total when it has gone
	// through them all (a page that fills up stops before); a search
	// that reads no bodies does not call it.
	Progress func(scanned, total int64)
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

// maxBatch is the most exchanges written in one transaction: a larger
// batch is written in several, so that a transaction, and what MaxBytes
// may be overshot by, stays bounded.
const maxBatch = 1000

// pollInterval is how often Subscribe looks for exchanges that another
// process stored.
const pollInterval = 250 * time.Millisecond

// Store is an open store. Its methods are safe for concurrent use.
type Store struct {
	path string
	opts Options
	log  *slog.Logger

	rdb *sql.DB    // queries: read-only connections
	w   *writer    // nil when ReadOnly
	lr  *logReader // nil for a file of a version before the log

	mu     sync.Mutex // guards closed
	closed bool
	wake   chan struct{} // tells the maintenance goroutine to look again

	// commit is closed and replaced after each commit, so that
	// subscribers look for new rows at once.
	commitMu sync.Mutex
	commit   chan struct{}

	// The store's goroutine yields to the process while exchanges come
	// (see indexShareLoad), unless someone waits for it: hurry counts
	// them, and hurryCh wakes it.
	lastAppend atomic.Int64 // Unix nanoseconds
	hurry      atomic.Int32
	hurryCh    chan struct{}
	// The store's own work, which busy does not count as the process's:
	// CPU time (see ownTime) spent in RecordBatch and inserting since
	// busy last looked, and the meter of the rest (used by the store's
	// goroutine only).
	ownNanos atomic.Int64
	load     loadMeter

	quit       chan struct{} // closed by Close after the writer stopped
	writerDone chan struct{}
	subs       sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error

	stored, dropped, deleted, errors atomic.Int64
	searches, searchNanos            atomic.Int64
	lastDropLog                      atomic.Int64 // Unix nanoseconds
	droppedSinceLog                  atomic.Int64
}

// Open opens (creating it if needed, unless ReadOnly) the store at path.
//
// A file that is not a SQLite database, is damaged, or holds a schema
// newer than this program knows fails with an error that names it and
// wraps the cause.
func Open(path string, opts Options) (*Store, error) {
	s := &Store{
		path:       path,
		opts:       opts,
		log:        opts.Logger,
		wake:       make(chan struct{}, 1),
		hurryCh:    make(chan struct{}, 1),
		commit:     make(chan struct{}),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		load:       loadMeter{load: othersLoad},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.opts.Logger = s.log
	if err := s.open(); err != nil {
		if s.w != nil {
			s.w.close()
		}
		if s.rdb != nil {
			s.rdb.Close()
		}
		s.lr.close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if s.w != nil {
		s.load.prime(time.Now())
		go s.run()
	} else {
		close(s.writerDone)
	}
	return s, nil
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
	s.lr = newLogReader(logDir(abs))
	if !s.opts.ReadOnly {
		if s.w, err = openWriter(ctx, abs, &s.opts, s.lr, &s.stored, &s.deleted); err != nil {
			return err
		}
	}
	s.rdb = sql.OpenDB(connector{dsn(abs, s.opts.ReadOnly, readerPragmas)})
	s.rdb.SetMaxOpenConns(4)
	s.rdb.SetMaxIdleConns(4)
	// Each keeps its page cache: an idle one goes.
	s.rdb.SetConnMaxIdleTime(30 * time.Second)
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
	case version < schemaVersion && version >= 1 && s.opts.ReadOnly:
		// The tables of version 1 are those of version 2 with a
		// full-text index instead of the skip index: read-only, body
		// searches read every body. Those of version 2 are those of
		// version 3 without the log: every exchange is in bodies.
		// Those of version 3 have filters of one hash and two more
		// indexes. Opening them read-write converts them.
		if version < logVersion {
			s.lr.close()
			s.lr = nil
		}
	case version < schemaVersion:
		return fmt.Errorf("schema version %d is older than this program's (%d): open it once read-write to upgrade it", version, schemaVersion)
	}
	return nil
}

// Pragmas of the connections that read. Their page caches are small and
// nothing is mapped: a reader's pages come from the operating system's
// file cache, which the system may take back, where a page cache (or
// mapped pages, counted in the process's RSS) of tens of MiB per
// connection made a proxy of a few MiB of heap show hundreds of MiB
// resident and keep them.
var readerPragmas = []string{
	"busy_timeout(10000)",
	"query_only(1)",
	"temp_store(MEMORY)",
	"cache_size(-2048)", // KiB
	"mmap_size(0)",
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

var _ bodytap.BatchSink = (*Store)(nil)

var _ bodytap.ReusingSink = (*Store)(nil)

// ReusesExchanges reports true: RecordBatch copies what it stores of an
// exchange into the log's block before it returns and keeps nothing of
// the exchange's own memory, so a Tap may reuse it (see
// bodytap.ReusingSink).
func (s *Store) ReusesExchanges() bool { return true }

// Record implements bodytap.Sink: it writes x, as a batch of one (see
// RecordBatch): one transaction per call, so code that writes many
// exchanges itself should hand them to RecordBatch together. A Tap
// delivers batches on its own.
func (s *Store) Record(x *bodytap.Exchange) {
	s.RecordBatch([]*bodytap.Exchange{x})
}

// RecordBatch implements bodytap.BatchSink: it appends xs to the log
// (see Writing in the package documentation) and returns when the log's
// blocks are written; the store's goroutine then inserts them into the
// database, in transactions of at most maxBatch exchanges, after which
// queries see them (Flush waits for that). A batch that cannot be
// written is lost, counted in Stats.Errors. It encodes the exchanges in
// the caller's goroutine (the Tap's delivery goroutine) and does not
// keep xs. After Close, and on a read-only store, it drops the exchanges
// and counts them in Stats.Dropped. Nil exchanges are skipped.
func (s *Store) RecordBatch(xs []*bodytap.Exchange) {
	if s.isClosed() || s.w == nil {
		s.drop(len(xs))
		return
	}
	s.ownNanos.Add(int64(ownTime(func() { s.recordBatch(xs) })))
}

// recordBatch does RecordBatch's work.
func (s *Store) recordBatch(xs []*bodytap.Exchange) {
	rows := make([]*row, 0, len(xs))
	for _, x := range xs {
		if x == nil {
			continue
		}
		r, err := newRow(x)
		if err != nil {
			s.errors.Add(1)
			s.log.Error("bodytap store: exchange not stored", "path", s.path, "err", err)
			continue
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return
	}
	s.waitBacklog()
	s.lastAppend.Store(time.Now().UnixNano())
	switch err := s.w.appendRows(rows); {
	case errors.Is(err, errClosed):
		s.drop(len(rows))
		return
	case err != nil:
		s.errors.Add(1)
		s.log.Error("bodytap store: batch lost", "path", s.path, "exchanges", len(rows), "err", err)
		return
	}
	s.signal()
}

// waitBacklog waits while the backlog is larger than maxBacklog allows.
func (s *Store) waitBacklog() {
	limit := maxBacklog(s.opts.MaxBytes)
	if s.w.backlogBytes() <= limit {
		return
	}
	defer s.hurryUp()()
	for {
		commit := s.commitChan()
		if s.w.backlogBytes() <= limit {
			return
		}
		select {
		case <-commit:
		case <-s.writerDone:
			return
		}
	}
}

// maxBacklog returns how many bytes of records the log may hold that are
// not in the database before RecordBatch waits for the database: a
// sixteenth of MaxBytes, so that MaxBytes holds within that much; 1 GiB
// without it.
func maxBacklog(maxBytes int64) int64 {
	if maxBytes <= 0 {
		return 1 << 30
	}
	return maxBytes / 16
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// hurryUp makes the store's goroutine insert at full speed until the
// function it returns is called.
func (s *Store) hurryUp() func() {
	s.hurry.Add(1)
	select {
	case s.hurryCh <- struct{}{}:
	default:
	}
	return func() { s.hurry.Add(-1) }
}

// signal wakes the maintenance goroutine.
func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// drop counts n dropped exchanges and logs drops at most once a second.
func (s *Store) drop(n int) {
	if n == 0 {
		return
	}
	s.dropped.Add(int64(n))
	s.droppedSinceLog.Add(int64(n))
	now := time.Now().UnixNano()
	last := s.lastDropLog.Load()
	if now-last < int64(time.Second) || !s.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	d := s.droppedSinceLog.Swap(0)
	s.log.Warn("bodytap store: exchanges dropped (store closed or read-only)",
		"path", s.path, "dropped", d, "total_dropped", s.dropped.Load())
}

// Flush returns when every exchange recorded before the call is in the
// database, where queries see it (or, if its batch failed, lost and
// counted in Stats.Errors): it waits for the store's goroutine to insert
// what RecordBatch appended to the log. It returns ctx.Err() if ctx is
// done first.
func (s *Store) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.w == nil {
		return nil
	}
	target := s.w.appended.Load()
	if s.w.indexed.Load() >= target {
		return nil
	}
	defer s.hurryUp()()
	for {
		commit := s.commitChan()
		if s.w.indexed.Load() >= target {
			return nil
		}
		select {
		case <-commit:
		case <-s.writerDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close waits for a write in progress, lets the store's goroutine insert
// what the log holds that the database does not yet, stops it and
// closes the database. Close the Tap first, so that what its queue holds
// is written. Subscriptions end. Closing again does nothing and
// returns the result of the first Close.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		if s.w != nil {
			s.w.closeLog()
		}
		s.signal()
		s.hurryUp()
		<-s.writerDone
		if n := s.droppedSinceLog.Swap(0); n > 0 {
			s.log.Warn("bodytap store: exchanges dropped (store closed or read-only)",
				"path", s.path, "dropped", n, "total_dropped", s.dropped.Load())
		}
		close(s.quit)
		s.subs.Wait()
		var errs []error
		if s.w != nil {
			errs = append(errs, s.w.close())
		}
		errs = append(errs, s.rdb.Close())
		errs = append(errs, s.lr.close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("store: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// Stats reports counts since Open.
func (s *Store) Stats() Stats {
	st := Stats{
		Stored:  s.stored.Load(),
		Dropped: s.dropped.Load(),
		Deleted: s.deleted.Load(),
		Errors:  s.errors.Load(),

		Searches:   s.searches.Load(),
		SearchTime: time.Duration(s.searchNanos.Load()),
	}
	if s.w != nil {
		st.Backlog, st.BacklogBytes = s.w.backlog(), s.w.backlogBytes()
	}
	return st
}

// searched counts a search that started at start.
func (s *Store) searched(start time.Time) {
	s.searchNanos.Add(int64(time.Since(start)))
	s.searches.Add(1)
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
