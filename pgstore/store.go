package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned by Get for an ID the store does not hold. It
// is store.ErrNotFound, so that code serving either store tests one
// error.
var ErrNotFound = store.ErrNotFound

var errUnknownCoding = errors.New("unknown coding of a stored value")

// Options configure a Store. The zero value is usable.
type Options struct {
	// Retention, applied by the writer at most once a minute (see
	// Prune); 0 means no limit. MaxAge deletes older exchanges: the day
	// partitions that are past it are dropped, and the rest of the
	// oldest kept day's deleted. MaxCount keeps the newest exchanges up
	// to that many, and MaxBytes the newest whose day partitions'
	// total relation size (exchanges and bodies, indexes and TOAST
	// included) fits in it.
	MaxAge   time.Duration
	MaxCount int64
	MaxBytes int64

	// ReadOnly opens the store for queries only: no migration, no
	// partitions made; Record drops.
	ReadOnly bool

	// MaxConns bounds the connections to the database (0: 4).
	MaxConns int32

	// SpoolDir is where the writer keeps the batches it cannot write
	// while the database is away (connections refused or lost, the
	// server shutting down or starting up), to write them once it is
	// back; see the package documentation. Empty means a directory of
	// the user's cache (os.UserCacheDir) named after the database,
	// made when first needed. Processes writing one database may share
	// a directory; stores of different databases must not.
	SpoolDir string

	// SpoolMaxBytes bounds the spool: past it, batches are dropped,
	// counted in Stats.Dropped and SpoolStats.Dropped, and logged. 0
	// means DefaultSpoolMaxBytes; negative means no spool: a batch that
	// cannot be written is lost and counted in Stats.Errors.
	SpoolMaxBytes int64

	// Logger receives what goes wrong that no call returns: failed
	// batches. Nil means slog.Default().
	Logger *slog.Logger

	// Now returns the current time, for retention; nil means time.Now.
	Now func() time.Time
}

// Stats counts what a Store did, in the local store's terms: Dropped
// counts exchanges given after Close or to a read-only store, Deleted
// those that this Store's retention deleted, Searches the calls of
// ListPage (List's included) and Count.
type Stats = store.Stats

// maxBatch is the most exchanges copied in one transaction.
const maxBatch = 1000

// Store is an open PostgreSQL store. Its methods are safe for concurrent
// use; writes of one Store are serialized, and any number of Stores (in
// any number of processes) may write one database at once.
type Store struct {
	url  string // password masked
	opts Options
	log  *slog.Logger
	pool *pgxpool.Pool
	// Read by Open: the database's encoding is UTF-8 (see pgRegexp); the
	// server has regexp_like (PostgreSQL 15).
	utf8, regexpLike bool

	wmu       sync.Mutex // serializes writes; guards the fields below
	days      map[int64]bool
	terms     [numTermKinds]map[string]bool
	chunk     chunkFilter // the chunk of the skip index being filled (bloom.go)
	countKey  int64       // this Store's rows of counts (count.go)
	lastPrune time.Time
	closed    atomic.Bool
	noNotify  bool // for measuring what NOTIFY costs a write (TestPerf)

	spoolDir     string         // "" without a spool
	rmu          sync.Mutex     // serializes replays; guards replayFails
	replayFails  map[string]int // spool files whose replay failed, without a server's word
	spoolMax     int64
	away         atomic.Bool   // a write failed for want of the database: spool
	spoolFull    atomic.Bool   // dropping since the spool filled up
	wake         chan struct{} // tells the replayer a batch was spooled
	firstPass    chan struct{} // closed once the replayer's first pass is over
	spoolBytes   atomic.Int64
	spooled      atomic.Int64
	replayed     atomic.Int64
	spoolDropped atomic.Int64

	smu  sync.Mutex     // orders Subscribe's subs.Add before Close's subs.Wait
	subs sync.WaitGroup // the goroutines of subscriptions
	done context.Context
	stop context.CancelFunc // ends subscriptions, on Close

	stored, dropped, errs atomic.Int64
	deleted               atomic.Int64
	searches, searchNs    atomic.Int64
}

// MaskURL returns the connection URL u with its password, if any,
// replaced by "xxxxx", for messages. A string that is not a URL is
// returned as "(connection string)", and a query that does not parse as
// "xxxxx", lest they hold a password.
func MaskURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return "(connection string)"
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	}
	q, err := url.ParseQuery(p.RawQuery)
	if err != nil {
		// Query would drop the pair it cannot parse, and String keep it.
		p.RawQuery = "xxxxx"
		return p.String()
	}
	if q.Has("password") {
		q.Set("password", "xxxxx")
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// Open connects to the database at connURL (postgres://user:pass@host/db,
// as pgx takes it), brings its schema up to date (unless ReadOnly), and
// returns the store. A database whose schema a newer bodytap made is
// refused with an error wrapping ErrNewerSchema, and left as it is.
// Errors name the URL with its password masked.
func Open(ctx context.Context, connURL string, opts Options) (*Store, error) {
	s := &Store{url: MaskURL(connURL), opts: opts, log: opts.Logger, days: map[int64]bool{}, wake: make(chan struct{}, 1),
		firstPass: make(chan struct{}),
		countKey:  rand.Int64() | 1}
	s.done, s.stop = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	for i := range s.terms {
		s.terms[i] = map[string]bool{}
	}
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		// pgx's message may quote the string: leave it out.
		return nil, fmt.Errorf("pgstore: open %s: not a valid connection URL", s.url)
	}
	if s.spoolDir, err = spoolPath(opts, connURL); err != nil {
		return nil, s.openErr(err)
	}
	s.spoolMax = opts.SpoolMaxBytes
	if s.spoolMax == 0 {
		s.spoolMax = DefaultSpoolMaxBytes
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without connect_timeout, an unreachable host holds the writer
		// for as long as TCP tries.
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 4
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, s.openErr(err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		s.pool.Close()
		return nil, s.openErr(err)
	}
	err = migrate(ctx, conn.Conn(), opts.ReadOnly)
	if err == nil {
		err = conn.QueryRow(ctx, `SELECT current_setting('server_encoding') = 'UTF8',
			current_setting('server_version_num')::int >= 150000`).Scan(&s.utf8, &s.regexpLike)
	}
	conn.Release()
	if err == nil && !opts.ReadOnly {
		now := s.opts.Now().UnixMilli() / dayMillis
		err = s.ensureDays(ctx, []int64{now, now + 1})
	}
	if err != nil {
		s.pool.Close()
		return nil, s.openErr(err)
	}
	if s.spoolDir != "" {
		s.subs.Add(1)
		go s.replayer()
	}
	return s, nil
}

func (s *Store) openErr(err error) error {
	return fmt.Errorf("pgstore: open %s: %w", s.url, err)
}

// String returns the store's URL with its password masked.
func (s *Store) String() string { return s.url }

var _ bodytap.BatchSink = (*Store)(nil)

// Record implements bodytap.Sink: a batch of one.
func (s *Store) Record(x *bodytap.Exchange) { s.RecordBatch([]*bodytap.Exchange{x}) }

// RecordBatch implements bodytap.BatchSink: it copies xs into the
// database (COPY, in transactions of at most maxBatch exchanges) and
// returns when they are committed, spooled (while the database is
// away), or lost and counted in Stats.Errors or Stats.Dropped.
// Encoding and compression run in the caller's goroutine. Nil exchanges
// are skipped; after Close, and on a read-only store, the exchanges are
// dropped and counted in Stats.Dropped.
func (s *Store) RecordBatch(xs []*bodytap.Exchange) {
	if s.closed.Load() || s.opts.ReadOnly {
		s.dropped.Add(int64(len(xs)))
		return
	}
	rows := make([]*row, 0, min(len(xs), maxBatch))
	for i, x := range xs {
		if x != nil {
			r, err := newRow(x)
			if err != nil {
				s.errs.Add(1)
				s.log.Error("bodytap pgstore: exchange not stored", "db", s.url, "err", err)
			} else {
				rows = append(rows, r)
			}
		}
		if len(rows) == maxBatch || i == len(xs)-1 && len(rows) > 0 {
			s.handle(rows)
			rows = rows[:0]
		}
	}
}

// write copies rows in one transaction, with the terms they bring. A
// replay (of spooled rows, some of which may be stored already) copies
// them into temporary tables and inserts those with ON CONFLICT DO
// NOTHING.
func (s *Store) write(ctx context.Context, rows []*row, replay bool) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var days []int64
	for _, r := range rows {
		if d := idDay(r.id); !s.days[d] && !containsDay(days, d) {
			days = append(days, d)
		}
	}
	if err := s.ensureDays(ctx, days); err != nil {
		return err
	}
	var newTerms [numTermKinds][]string
	add := func(kind int, v string) {
		if !s.terms[kind][v] && !containsString(newTerms[kind], v) {
			newTerms[kind] = append(newTerms[kind], v)
		}
	}
	for _, r := range rows {
		add(termMethod, r.method)
		add(termDomain, r.domain)
		add(termRoute, r.route)
		for _, v := range r.ctype {
			add(termCtype, v)
		}
		for _, v := range r.reqCtype {
			add(termReqCtype, v)
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		exchanges, bodies := "exchanges", "bodies"
		if replay {
			exchanges, bodies = "spool_exchanges", "spool_bodies"
			if _, err := tx.Exec(ctx, `CREATE TEMP TABLE spool_exchanges (LIKE exchanges) ON COMMIT DROP;
				CREATE TEMP TABLE spool_bodies (LIKE bodies) ON COMMIT DROP`); err != nil {
				return fmt.Errorf("replay: %w", err)
			}
		}
		if err := copyRows(ctx, tx, exchanges, bodies, rows); err != nil {
			return err
		}
		if schemaVersion >= bloomVersion {
			if err := addRows(ctx, tx, &s.chunk, rows); err != nil {
				return fmt.Errorf("skip index: %w", err)
			}
		}
		if replay {
			if _, err := insertNew(ctx, tx, "spool_exchanges", "spool_bodies", s.countKey); err != nil {
				return fmt.Errorf("replay: %w", err)
			}
		} else if schemaVersion >= bloomVersion {
			if err := addCounts(ctx, tx, s.countKey, rows); err != nil {
				return fmt.Errorf("counts: %w", err)
			}
		}
		for kind, vs := range newTerms {
			if len(vs) == 0 {
				continue
			}
			if _, err := tx.Exec(ctx, "INSERT INTO terms (kind, value) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING", kind, vs); err != nil {
				return fmt.Errorf("insert terms: %w", err)
			}
		}
		// Delivered at commit, to the subscriptions of every process.
		if s.noNotify {
			return nil
		}
		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, pg_current_xact_id()::text)", notifyChannel); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for kind, vs := range newTerms {
		if len(s.terms[kind]) > 1<<16 {
			clear(s.terms[kind]) // a bound: forgetting only costs upserts
		}
		for _, v := range vs {
			s.terms[kind][v] = true
		}
	}
	s.prune(ctx)
	return nil
}

func containsDay(days []int64, d int64) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}

func containsString(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// ensureDays creates the partitions of days that this Store has not
// seen yet, and of the day after the newest (so that midnight finds its
// partition made ahead).
func (s *Store) ensureDays(ctx context.Context, days []int64) error {
	if len(days) == 0 {
		return nil
	}
	ahead := days
	for _, d := range days {
		if !s.days[d+1] && !containsDay(ahead, d+1) {
			ahead = append(ahead, d+1)
		}
	}
	if err := createPartitions(ctx, s.pool, ahead); err != nil {
		return err
	}
	for _, d := range ahead {
		s.days[d] = true
	}
	return nil
}

// prune applies retention, at most once a minute. The caller holds wmu.
func (s *Store) prune(ctx context.Context) {
	now := s.opts.Now()
	if !s.retains() || now.Sub(s.lastPrune) < time.Minute {
		return
	}
	s.lastPrune = now
	if err := s.retain(ctx); err != nil {
		s.log.Error("bodytap pgstore: retention", "db", s.url, "err", err)
	}
}

// Flush returns when a write in progress is done.
//
// It also replays the spool, and returns an error when batches stay in it
// because the database is away.
func (s *Store) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	s.wmu.Unlock() //lint:ignore SA2001 waits for the write in progress
	return s.flushSpool(ctx)
}

// Close ends the subscriptions (closing their channels), waits for a
// write in progress, replays the spool if the database is there (for up
// to closeReplay), and closes the connections. Batches still spooled
// stay on disk for the next store using the spool directory. Close the
// Tap first, so that what its queue holds is written.
func (s *Store) Close() error {
	s.smu.Lock()
	closed := s.closed.Swap(true)
	s.smu.Unlock()
	if closed {
		return nil
	}
	s.stop()
	s.subs.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), closeReplay)
	if err := s.flushSpool(ctx); err != nil {
		s.log.Warn("bodytap pgstore: closed with batches spooled", "db", s.url, "err", err)
	}
	cancel()
	s.wmu.Lock()
	s.pool.Close()
	s.wmu.Unlock()
	return nil
}

// Stats reports counts since Open.
func (s *Store) Stats() Stats {
	return Stats{Stored: s.stored.Load(), Dropped: s.dropped.Load(), Deleted: s.deleted.Load(), Errors: s.errs.Load(),
		Searches: s.searches.Load(), SearchTime: time.Duration(s.searchNs.Load())}
}

// Get returns one exchange, bodies included, as it was recorded (Start in
// UTC, as the local store returns it).
func (s *Store) Get(ctx context.Context, id bodytap.ID) (*bodytap.Exchange, error) {
	xs, err := s.load(ctx, [][]byte{id[:]}, nil)
	if err != nil {
		return nil, fmt.Errorf("pgstore: get %s: %w", id, err)
	}
	x := xs[id]
	if x == nil {
		return nil, ErrNotFound
	}
	return x, nil
}
