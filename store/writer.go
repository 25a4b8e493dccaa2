package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bodytap/bodytap/internal/cputime"
)

// pageSize is the page size of new store files. Larger pages cost fewer
// system calls per byte written and checkpointed (the ingest benchmark
// spends about 20% less CPU per exchange with 16 KiB pages than with 8
// KiB ones); smaller ones write less for a small transaction (a commit
// writes whole pages) and read less for a random row.
const pageSize = 16384

// Work the writer does per transaction when it has nothing else to do.
const (
	// Building the skip index of a chunk whose filter is missing (see
	// bloom.go) uses the CPU the process leaves idle, and yields when
	// the process is busy, so that it never costs captures under load:
	// after a step that took d, the next waits d×(1/share−1), where share
	// is indexShareBusy while the process used more than busyLoad of its
	// CPUs (GOMAXPROCS) over the last loadWindow, and 1 (no wait) when it
	// did not; indexShare when the process cannot tell its CPU time. A
	// missing filter costs only search speed: searches read the chunk.
	indexShare       = 0.2
	indexShareBusy   = 0.05
	busyLoad         = 0.8
	loadWindow       = 250 * time.Millisecond
	expireStep       = 5000            // rows removed for their age
	idleInterval     = time.Second     // how often an idle writer enforces MaxAge
	optimizeInterval = time.Hour       // how often the writer updates the planner's statistics
	shrinkAfter      = 5 * time.Second // inserts stopped this long ago: the writer lets its page cache go
	shrinkEvery      = 5 * time.Second // while inserting, the writer lets its page cache go this often
)

// A writer owns the one connection that writes.
type writer struct {
	mu   sync.Mutex // serializes the use of conn: batches, Import, maintenance
	db   *sql.DB
	conn *sql.Conn
	opts *Options

	walPath  string
	pageSize int64
	walLimit int64 // journal_size_limit: what the WAL is cut back to
	walPeak  int64 // the largest the WAL file has been seen

	// The store's counts of exchanges stored and deleted: a transaction
	// adds to them when it commits, before the rows' end moves, so that
	// Stats after Flush has what Count sees.
	stored, deleted *atomic.Int64

	insExchange       *rawStmt
	insTerm, insBloom *sql.Stmt
	insKeys, insPairs *sql.Stmt
	args              []driver.NamedValue // of insExchange

	log    *logWriter
	reader *logReader
	logRid int64 // state 'log_rid': the first rid that may have a loc

	// logMu serializes appends to the log (RecordBatch, Import); an
	// appender that also needs mu takes logMu first.
	logMu     sync.Mutex
	logClosed bool
	// indexedAt is where the rows end in the log: the database holds
	// the exchanges of every record before it (state 'log_file',
	// 'log_end'). Guarded by mu.
	indexedAt segment
	// Positions in the log (pos): where the appended records end, and
	// where the indexed ones do; and counts of records appended (and
	// found unindexed at Open) and indexed, or lost in a failed batch.
	appended, indexed   atomic.Int64
	appendedN, indexedN atomic.Int64

	// recent holds the blocks appendRows wrote last, decoded, oldest
	// first, so that the index step takes their records from memory
	// instead of reading and decoding them again; at most
	// maxRecentBytes of them: past it (the database is behind) the
	// index step reads the log.
	recentMu    sync.Mutex
	recent      []*block
	recentBytes int

	terms     [numTermKinds]map[string]bool // known to be in terms
	termsFull int64
	closed    bool

	// filter is the skip index of the newest chunk, built as exchanges
	// are inserted (see bloom.go); its chunk is -1 when it is not to be
	// trusted (after a rollback), and the next chunk's is built from the
	// bodies when it is sealed.
	filter       chunkFilter
	spare        []byte    // the bits of a filter sealed, for the next
	shift        int64     // chunk_shift
	bloomPending bool      // sealed chunks may lack their filter
	bloomNext    time.Time // no building step before this (see indexShare)
	load         loadMeter
	filterNanos  atomic.Int64 // CPU time of the goroutines that filled filters (see ownTime)
	expiring     bool         // rows may wait to be removed for their age
	lastExpire   time.Time
	optimized    time.Time // last PRAGMA optimize
	lastInsert   time.Time // last commit that inserted rows
	shrunk       bool      // the page cache was let go since
	lastShrink   time.Time // last time a commit let the page cache go
}

func openWriter(ctx context.Context, abs string, opts *Options, reader *logReader, stored, deleted *atomic.Int64) (_ *writer, err error) {
	w := &writer{opts: opts, walPath: abs + "-wal", walLimit: 64 << 20, reader: reader, stored: stored, deleted: deleted}
	if opts.MaxBytes > 0 {
		w.walLimit = min(max(opts.MaxBytes/8, 256<<10), 64<<20)
	}
	pragmas := []string{
		"busy_timeout(10000)",
		"synchronous(NORMAL)",
		"temp_store(MEMORY)",
		// The page cache holds the pages inserts touch: the newest
		// segment of each index and the interior pages. With the
		// bodies in the log, 8 MiB holds them (16 MiB was as fast for
		// the ingest benchmark as 64 MiB when bodies were rows).
		"cache_size(-8192)", // KiB
		fmt.Sprintf("journal_size_limit(%d)", w.walLimit),
	}
	w.db = sql.OpenDB(connector{dsn(abs, false, pragmas)})
	w.db.SetMaxOpenConns(1)
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if w.conn, err = w.db.Conn(ctx); err != nil {
		return nil, err
	}
	// On a new file only: the page size and WAL mode are set once and
	// stay with it.
	if _, err := w.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		return nil, err
	}
	var mode string
	if err := w.conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return nil, err
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, fmt.Errorf("cannot use WAL mode (journal mode %q)", mode)
	}
	if err := migrate(ctx, w.conn); err != nil {
		return nil, err
	}
	if err := w.conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&w.pageSize); err != nil {
		return nil, err
	}
	// Checkpoint when the WAL reaches half its limit, so that with the
	// transaction that crosses it, it stays within. (A checkpointer of
	// its own, on another connection, gained nothing in the ingest
	// benchmark: the WAL starts over only if the writer waits for the
	// checkpoint before its next transaction.)
	if _, err := w.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", max(w.walLimit/2/w.pageSize, 16))); err != nil {
		return nil, err
	}
	prepare := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = w.conn.PrepareContext(ctx, q)
		return st
	}
	// One row a statement: a statement of several rows would need a
	// statement journal, which costs more than it saves.
	if w.insExchange, err = prepareRaw(ctx, w.conn, insertQuery); err != nil {
		return nil, err
	}
	w.insTerm = prepare(`INSERT OR IGNORE INTO terms(kind, value) VALUES (?, ?)`)
	w.insBloom = prepare(`INSERT OR REPLACE INTO blooms(chunk, unindexed, bits, hash) VALUES (?, ?, ?, ?)`)
	w.insKeys = prepare(`INSERT OR REPLACE INTO chunk_keys(chunk, bits) VALUES (?, ?)`)
	w.insPairs = prepare(`INSERT OR REPLACE INTO chunk_pairs(chunk, bits) VALUES (?, ?)`)
	if err != nil {
		return nil, err
	}
	if err := w.loadTerms(ctx); err != nil {
		return nil, err
	}
	if err := w.openLog(ctx, logDir(abs)); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	// The count is kept in state by each transaction; recount it once,
	// in case something else changed the table.
	if _, err := w.conn.ExecContext(ctx, "UPDATE state SET value = (SELECT count(*) FROM exchanges) WHERE key = 'count'"); err != nil {
		return nil, err
	}
	var last int64
	if err := w.conn.QueryRowContext(ctx, "SELECT value FROM state WHERE key = 'rid'").Scan(&last); err != nil {
		return nil, err
	}
	// The chunk size is free to choose while no chunk has its filter (a
	// new file, one just converted from version 1).
	if _, err := w.conn.ExecContext(ctx, `UPDATE state SET value = CASE key WHEN 'chunk_shift' THEN ? ELSE 0 END
		WHERE key IN ('chunk_shift', 'bloom') AND NOT EXISTS (SELECT 1 FROM blooms) AND NOT EXISTS (SELECT 1 FROM chunk_keys)`, newChunkShift); err != nil {
		return nil, err
	}
	if err := w.conn.QueryRowContext(ctx, "SELECT value FROM state WHERE key = 'chunk_shift'").Scan(&w.shift); err != nil {
		return nil, err
	}
	// The newest chunk's filter starts empty: whole only if the chunk
	// has no exchange yet.
	w.filter.bodies = !opts.NoFullText
	w.filter.reset((last+1)>>w.shift, w.shift, last == 0 || (last+1)&(1<<w.shift-1) == 0)
	if err := w.buildMissingKeys(ctx, last); err != nil {
		return nil, fmt.Errorf("build the keys of chunks: %w", err)
	}
	w.bloomPending = !opts.NoFullText
	w.expiring = opts.MaxAge > 0
	// The planner's statistics, for the queries of long-lived
	// connections: cheap, it looks at what changed.
	if _, err := w.conn.ExecContext(ctx, "PRAGMA optimize = 0x10002"); err != nil {
		return nil, err
	}
	w.optimized = time.Now()
	return w, nil
}

func (w *writer) loadTerms(ctx context.Context) error {
	for k := range w.terms {
		w.terms[k] = make(map[string]bool)
	}
	if err := w.conn.QueryRowContext(ctx, "SELECT value FROM state WHERE key = 'terms_full'").Scan(&w.termsFull); err != nil {
		return err
	}
	rows, err := w.conn.QueryContext(ctx, "SELECT kind, value FROM terms")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k int
		var v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		if 0 <= k && k < numTermKinds {
			w.terms[k][v] = true
		}
	}
	return rows.Err()
}

// insertQuery is the statement that inserts an exchange. One row a
// statement: a statement of several rows needs a statement journal (a
// copy of each page it changes, in case it fails halfway), and the
// driver binds its parameters in time that grows with their number; the
// ingest benchmark spent about 10% more CPU per exchange with 32 rows a
// statement.
const insertQuery = `INSERT INTO exchanges(rid, seg, id, start, method, host, domain, path, url, remote,
	status, duration, ttfb, req_size, resp_size, ctype, req_ctype, route, error, flags, loc)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`

// openLog opens the log at the end the database records. A segment that
// is shorter than that end (the machine lost power before the file's
// last blocks reached the disk, while the database's commit did) is cut
// to its last whole block, and the rows of the exchanges it lost are
// deleted. Segments that no row references any more are removed.
func (w *writer) openLog(ctx context.Context, dir string) error {
	var end segment
	err := w.conn.QueryRowContext(ctx, `SELECT (SELECT value FROM state WHERE key = 'log_file'),
		(SELECT value FROM state WHERE key = 'log_end'), (SELECT value FROM state WHERE key = 'log_rid')`).Scan(&end.file, &end.size, &w.logRid)
	if err != nil {
		return err
	}
	if end.size > 0 {
		fi, err := os.Stat(segPath(dir, end.file))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err != nil || fi.Size() < end.size {
			valid := int64(0)
			if err == nil {
				if valid, err = validEnd(segPath(dir, end.file)); err != nil {
					return err
				}
			}
			res, err := w.conn.ExecContext(ctx, "DELETE FROM exchanges WHERE rid >= ? AND loc >= ?", w.logRid, makeLoc(end.file, valid, 0))
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			w.opts.Logger.Warn("bodytap store: the log was cut short; its lost exchanges are deleted",
				"segment", segPath(dir, end.file), "size", valid, "recorded_end", end.size, "deleted", n)
			end.size = valid
		}
	}
	log, pending, err := openLog(dir, end, segmentBytes(w.opts.MaxBytes))
	if err != nil {
		return err
	}
	log.keep = true
	w.log = log
	if end.size == 0 {
		// A new log (or one lost whole): it begins after the magic.
		end = segment{log.head().file, int64(len(segMagic))}
	}
	if _, err := w.conn.ExecContext(ctx, "UPDATE state SET value = CASE key WHEN 'log_file' THEN ? ELSE ? END WHERE key IN ('log_file', 'log_end')", end.file, end.size); err != nil {
		return err
	}
	w.indexedAt = end
	w.indexed.Store(pos(end))
	w.appended.Store(pos(log.head()))
	w.appendedN.Store(pending)
	t := &txn{w: w, ctx: ctx}
	first, err := t.firstSegment()
	if err != nil {
		return err
	}
	return w.log.removeBefore(first)
}

// pos returns the position of the end of s, which orders ends in the
// log.
func pos(s segment) int64 { return makeLoc(s.file, s.size, 0) }

// firstSegment returns the oldest segment that rows reference, or that
// holds records not yet indexed.
func (t *txn) firstSegment() (int64, error) {
	var loc sql.NullInt64
	err := t.w.conn.QueryRowContext(t.ctx, "SELECT loc FROM exchanges WHERE rid >= ? ORDER BY rid LIMIT 1", t.w.logRid).Scan(&loc)
	switch {
	case errors.Is(err, sql.ErrNoRows), err == nil && !loc.Valid:
		return t.w.indexedAt.file, nil
	case err != nil:
		return 0, err
	}
	// Records past the rows wait to be indexed.
	file, _, _ := splitLoc(loc.Int64)
	return min(file, t.w.indexedAt.file), nil
}

func (w *writer) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	var errs []error
	errs = append(errs, w.insExchange.close())
	for _, st := range []*sql.Stmt{w.insTerm, w.insBloom, w.insKeys, w.insPairs} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if w.log != nil {
		errs = append(errs, w.log.close())
	}
	if w.conn != nil {
		// Let the planner learn from what the store holds now.
		w.conn.ExecContext(context.Background(), "PRAGMA optimize")
		errs = append(errs, w.conn.Close())
	}
	errs = append(errs, w.db.Close())
	return errors.Join(errs...)
}

// A txn is a write transaction on the writer's connection, whose
// changes to the row count and the terms apply when it commits.
type txn struct {
	w        *writer
	ctx      context.Context
	count    int64 // rows in exchanges
	added    int64 // rows inserted
	deleted  int64 // rows deleted
	newTerms [numTermKinds][]string
	full     int64
	rid      int64 // the last rid given
	rid0     int64 // the last rid given before the transaction
	// appends says that the transaction appends to the log (Import),
	// which a rollback cuts back; end, if not nil, is where the rows
	// end in the log when it commits.
	appends bool
	end     *segment
}

// begin starts a write transaction. w.mu must be held.
func (w *writer) begin(ctx context.Context) (*txn, error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, err
	}
	t := &txn{w: w, ctx: ctx, full: w.termsFull}
	// The rids are the writer's to give (in commit order, never reused:
	// state 'rid' keeps the last one given), so that it knows their
	// segments and chunks before it inserts them.
	err := w.conn.QueryRowContext(ctx, `SELECT (SELECT value FROM state WHERE key = 'count'),
		(SELECT value FROM state WHERE key = 'rid')`).Scan(&t.count, &t.rid)
	if err != nil {
		t.rollback()
		return nil, err
	}
	t.rid0 = t.rid
	return t, nil
}

func (t *txn) rollback() {
	// A failed statement may have rolled the transaction back already;
	// then this fails, harmlessly.
	t.w.conn.ExecContext(context.Background(), "ROLLBACK")
	if t.appends {
		t.w.reader.dropBlocks()
		if err := t.w.log.rollback(); err != nil {
			// The log goes on past its committed end, with records
			// that no row references.
			t.w.log.committed = t.w.log.head()
		}
	}
	// The filter may have moved on to a chunk that the rolled back rows
	// began: the next rows go back to the chunk before.
	t.w.filter.chunk = -1
}

func (t *txn) commit() error {
	w := t.w
	if t.added != 0 || t.deleted != 0 {
		if _, err := w.conn.ExecContext(t.ctx, "UPDATE state SET value = value + ? WHERE key = 'count'", t.added-t.deleted); err != nil {
			t.rollback()
			return err
		}
	}
	if t.deleted != 0 {
		// The filters of chunks retention emptied.
		for _, q := range []string{
			"DELETE FROM blooms WHERE chunk < coalesce((SELECT min(rid) FROM exchanges), 1 << 62) >> ?",
			"DELETE FROM chunk_keys WHERE chunk < coalesce((SELECT min(rid) FROM exchanges), 1 << 62) >> ?",
			"DELETE FROM chunk_pairs WHERE chunk < coalesce((SELECT min(rid) FROM exchanges), 1 << 62) >> ?",
		} {
			if _, err := w.conn.ExecContext(t.ctx, q, w.shift); err != nil {
				t.rollback()
				return err
			}
		}
	}
	if t.rid != t.rid0 {
		if _, err := w.conn.ExecContext(t.ctx, "UPDATE state SET value = ? WHERE key = 'rid'", t.rid); err != nil {
			t.rollback()
			return err
		}
	}
	if t.full != w.termsFull {
		if _, err := w.conn.ExecContext(t.ctx, "UPDATE state SET value = value | ? WHERE key = 'terms_full'", t.full); err != nil {
			t.rollback()
			return err
		}
	}
	if t.appends {
		end, err := w.log.end()
		if err != nil {
			t.rollback()
			return err
		}
		t.end = &end
	}
	if t.end != nil && *t.end != w.indexedAt {
		if _, err := w.conn.ExecContext(t.ctx, "UPDATE state SET value = CASE key WHEN 'log_file' THEN ? ELSE ? END WHERE key IN ('log_file', 'log_end')", t.end.file, t.end.size); err != nil {
			t.rollback()
			return err
		}
	}
	var first int64
	var err error
	if t.deleted != 0 {
		if first, err = t.firstSegment(); err != nil {
			t.rollback()
			return err
		}
	}
	if _, err := w.conn.ExecContext(t.ctx, "COMMIT"); err != nil {
		t.rollback()
		return err
	}
	w.stored.Add(t.added)
	w.deleted.Add(t.deleted)
	if t.added > 0 {
		w.lastInsert, w.shrunk = time.Now(), false
		// The page cache outgrows cache_size while inserts go on (a
		// proxy at full load: 91 MiB of RSS after 30 s, against 54 with
		// the cache let go after every commit); letting it go every
		// few seconds keeps the process's memory bounded.
		if w.lastInsert.Sub(w.lastShrink) >= shrinkEvery {
			w.lastShrink = w.lastInsert
			if _, err := w.conn.ExecContext(t.ctx, "PRAGMA shrink_memory"); err != nil {
				w.opts.Logger.Warn("bodytap store: page cache not let go", "err", err)
			}
		}
	}
	if t.appends {
		w.log.commit(*t.end)
		w.log.takeSealed() // inserted already
		w.appended.Store(pos(*t.end))
	}
	if t.end != nil {
		w.indexedAt = *t.end
		w.indexed.Store(pos(*t.end))
	}
	if t.deleted != 0 {
		// Segments none of whose exchanges are left.
		if err := w.log.removeBefore(first); err != nil {
			w.opts.Logger.Error("bodytap store: cannot remove segment", "err", err)
		}
	}
	if w.opts.MaxBytes > 0 {
		if fi, err := os.Stat(w.walPath); err == nil {
			w.walPeak = max(w.walPeak, fi.Size())
		}
	}
	for k, vs := range t.newTerms {
		for _, v := range vs {
			w.terms[k][v] = true
		}
	}
	w.termsFull = t.full
	return nil
}

// insert appends r to the log and inserts it, unless an exchange with
// its ID is stored already, and reports whether it did.
func (t *txn) insert(r *row) (bool, error) {
	t.appends = true
	loc, err := t.w.log.next()
	if err != nil {
		return false, err
	}
	rid := t.rid + 1
	ok, err := t.insertAt(r, rid, loc)
	if err != nil || !ok {
		return false, err
	}
	t.rid = rid
	if err := t.addToFilter(rid, r); err != nil {
		return false, err
	}
	return true, t.w.log.add(r)
}

// insertAt inserts r as rid, whose record is at loc in the log, unless
// an exchange with its ID is stored already, and reports whether it did.
// It records r's terms; the caller adds its bodies to the skip index.
func (t *txn) insertAt(r *row, rid, loc int64) (bool, error) {
	w := t.w
	w.args = rowArgs(w.args[:0], rid, loc, r)
	n, err := w.insExchange.exec(t.ctx, w.args)
	clear(w.args)
	if err != nil || n == 0 {
		return false, err
	}
	t.added++
	return true, t.addTerms(r)
}

// rowArgs appends the values of r's columns, in insertQuery's order.
func rowArgs(args []driver.NamedValue, rid, loc int64, r *row) []driver.NamedValue {
	for i, v := range [...]driver.Value{rid, rid >> segShift, r.id, r.start, r.method, r.host, r.domain, r.path, r.url, r.remote,
		r.status, r.duration, r.ttfb, r.reqSize, r.respSize, r.ctype, r.reqCtype, r.route, r.errText, r.flags, loc} {
		args = append(args, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	return args
}

// addTerms records the terms of a row inserted.
func (t *txn) addTerms(r *row) error {
	for k, v := range [numTermKinds]string{r.method, r.domain, r.route, r.ctype, r.reqCtype} {
		if err := t.term(k, v); err != nil {
			return err
		}
	}
	return nil
}

// addToFilter adds the bodies and keys of r, inserted as rid, to the
// skip indexes.
func (t *txn) addToFilter(rid int64, r *row) error {
	w := t.w
	if c := rid >> w.shift; c != w.filter.chunk {
		if err := t.seal(&w.filter); err != nil {
			return err
		}
		w.filter.reset(c, w.shift, rid&(1<<w.shift-1) == 0)
	}
	w.filter.addRow(r)
	return nil
}

// seal stores f, the filters of a chunk the writer has filled, built
// from what is stored if f does not hold it all.
func (t *txn) seal(f *chunkFilter) error {
	w := t.w
	if f.chunk < 0 {
		return nil
	}
	if !f.whole {
		// The chunk's last exchanges may be in the log's open block.
		if t.appends {
			if err := w.log.seal(); err != nil {
				return err
			}
		}
		if _, err := buildChunk(t.ctx, w.conn, w.reader, f, f.chunk, w.shift); err != nil {
			return err
		}
	}
	if f.bodies {
		if _, err := w.insBloom.ExecContext(t.ctx, f.chunk, f.unindexed, f.bits, hashWord); err != nil {
			return err
		}
	}
	return w.storeKeys(t.ctx, f.chunk, f.keys, f.pairs)
}

// storeKeys stores the keys filters of chunk.
func (w *writer) storeKeys(ctx context.Context, chunk int64, keys, pairs []byte) error {
	if _, err := w.insKeys.ExecContext(ctx, chunk, keys); err != nil {
		return err
	}
	_, err := w.insPairs.ExecContext(ctx, chunk, pairs)
	return err
}

// buildMissingKeys builds the keys filters of the sealed chunks (those
// before the chunk of last, the last rid given) that have rows and lack
// one: those of a file of a version before the keys.
func (w *writer) buildMissingKeys(ctx context.Context, last int64) (err error) {
	var first int64
	if err := w.conn.QueryRowContext(ctx, "SELECT coalesce((SELECT min(rid) FROM exchanges), 0)").Scan(&first); err != nil {
		return err
	}
	lo, hi := first>>w.shift, last>>w.shift
	if first == 0 || lo >= hi {
		return nil
	}
	var n int64
	if err := w.conn.QueryRowContext(ctx, "SELECT count(*) FROM chunk_keys WHERE chunk >= ? AND chunk < ?", lo, hi).Scan(&n); err != nil {
		return err
	}
	if n == hi-lo {
		return nil
	}
	chunks, err := chunksIn(ctx, w.conn, "chunk_keys", lo, hi)
	if err != nil {
		return err
	}
	have := make(map[int64]bool, len(chunks))
	for _, c := range chunks {
		have[c] = true
	}
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	keys, pairs := make([]byte, keysBytes), make([]byte, pairsBytes)
	for c := lo; c < hi; c++ {
		if have[c] {
			continue
		}
		if err := buildKeys(ctx, w.conn, keys, pairs, c, w.shift); err != nil {
			return err
		}
		if err := w.storeKeys(ctx, c, keys, pairs); err != nil {
			return err
		}
	}
	_, err = w.conn.ExecContext(ctx, "COMMIT")
	return err
}

// term records v as a value of the column of kind k.
func (t *txn) term(k int, v string) error {
	w := t.w
	if w.terms[k][v] || t.full&(1<<k) != 0 {
		return nil
	}
	for _, n := range t.newTerms[k] {
		if n == v {
			return nil
		}
	}
	if len(w.terms[k])+len(t.newTerms[k]) >= maxTerms {
		// Too many to list: filters on the column match each row.
		t.full |= 1 << k
		return nil
	}
	if _, err := w.insTerm.ExecContext(t.ctx, k, v); err != nil {
		return err
	}
	t.newTerms[k] = append(t.newTerms[k], v)
	return nil
}

// deleteOldest deletes the n oldest exchanges (by ID).
func (t *txn) deleteOldest(n int64) (int64, error) {
	return t.delete("DELETE FROM exchanges WHERE rid IN (SELECT rid FROM exchanges ORDER BY id LIMIT ?)", n)
}

func (t *txn) delete(q string, args ...any) (int64, error) {
	res, err := t.w.conn.ExecContext(t.ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	t.deleted += n
	return n, err
}

// usedBytes returns the bytes of the pages in use, which the file holds
// besides the free pages that later writes reuse, and of the segments of
// the log that rows reference.
func (t *txn) usedBytes() (int64, error) {
	var pages, free int64
	if err := t.w.conn.QueryRowContext(t.ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, err
	}
	if err := t.w.conn.QueryRowContext(t.ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
		return 0, err
	}
	first, err := t.firstSegment()
	if err != nil {
		return 0, err
	}
	return (pages-free)*t.w.pageSize + t.w.log.bytesFrom(first), nil
}

// makeRoom deletes the oldest exchanges until the pages in use, the
// segments of the log (the records about to be inserted are there
// already), need more bytes in the database and the WAL fit in
// MaxBytes.
func (t *txn) makeRoom(need int64) error {
	budget := t.w.opts.MaxBytes
	if budget <= 0 {
		return nil
	}
	for range 64 {
		used, err := t.usedBytes()
		if err != nil {
			return err
		}
		over := used + need + t.w.walReserve(need) - budget
		n := t.count + t.added - t.deleted
		if over <= 0 || n <= 0 {
			return nil
		}
		// Delete as many rows as take the bytes over the budget on
		// average, a few more so as not to come back for one page.
		per := max(used/n, 1)
		k := over/per + 1
		k += k / 8
		if _, err := t.deleteOldest(min(k, n)); err != nil {
			return err
		}
	}
	return nil
}

// walReserve returns the bytes to leave for the WAL in MaxBytes, for a
// transaction that adds need bytes. A checkpoint lets the next
// transaction cut the WAL back to journal_size_limit, but a transaction
// grows it past that by the pages it writes: measured, about four times
// its data (inserting it, deleting as much to make room for it, in the
// tables, their indexes and the full-text index, pages partly written) and
// pages of each index. So the WAL counts as the most of this estimate and
// of the largest the WAL has been seen.
func (w *writer) walReserve(need int64) int64 {
	return max(w.walLimit, w.walPeak, 4*need+64*w.pageSize)
}

// retain deletes what MaxAge (up to expireStep rows) and MaxCount
// exclude.
func (t *txn) retain() error {
	w := t.w
	if w.opts.MaxAge > 0 {
		cut := idAt(time.Now().Add(-w.opts.MaxAge).UnixMilli())
		n, err := t.delete("DELETE FROM exchanges WHERE rid IN (SELECT rid FROM exchanges WHERE id < ? ORDER BY id LIMIT ?)", cut, expireStep)
		if err != nil {
			return err
		}
		w.expiring = n == expireStep
		w.lastExpire = time.Now()
	}
	if w.opts.MaxCount > 0 {
		if over := t.count + t.added - t.deleted - w.opts.MaxCount; over > 0 {
			if _, err := t.deleteOldest(over); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendRows appends rows to the log and returns when its blocks are
// written: the write that RecordBatch acknowledges. The index step
// inserts them into the database behind it.
func (w *writer) appendRows(rows []*row) error {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	if w.logClosed {
		return errClosed
	}
	// While the index step lags (a busy process: see othersLoad), the
	// recent blocks fill up and it reads the next ones back from the
	// log: the log then reuses its block buffer instead of handing each
	// block's to keepRecent only to have it dropped.
	w.log.keep = w.recentRoom()
	for _, r := range rows {
		if _, err := w.log.next(); err != nil {
			w.log.rollback()
			return err
		}
		if err := w.log.add(r); err != nil {
			w.log.rollback()
			return err
		}
	}
	end, err := w.log.end()
	if err != nil {
		w.log.rollback()
		return err
	}
	w.log.commit(end)
	w.keepRecent(w.log.takeSealed())
	w.appendedN.Add(int64(len(rows)))
	w.appended.Store(pos(end))
	return nil
}

// maxRecentBytes bounds the records of the blocks that the writer keeps
// in memory for the index step (see writer.recent).
const maxRecentBytes = 4 << 20

// keepRecent keeps bs, blocks just written, for the index step, as far
// as maxRecentBytes allows.
func (w *writer) keepRecent(bs []*block) {
	w.recentMu.Lock()
	defer w.recentMu.Unlock()
	for _, b := range bs {
		n := recordBytes(b)
		if w.recentBytes+n > maxRecentBytes {
			return
		}
		w.recent = append(w.recent, b)
		w.recentBytes += n
	}
}

// recentRoom reports whether keepRecent may keep another block.
func (w *writer) recentRoom() bool {
	w.recentMu.Lock()
	defer w.recentMu.Unlock()
	return w.recentBytes+blockTarget <= maxRecentBytes
}

// recordBytes returns the bytes of b's records.
func recordBytes(b *block) int {
	n := 0
	for _, r := range b.recs {
		n += len(r)
	}
	return n
}

// takeRecent returns the block at off in segment file if the writer kept
// it, forgetting it and those before.
func (w *writer) takeRecent(file, off int64) *block {
	w.recentMu.Lock()
	defer w.recentMu.Unlock()
	for len(w.recent) > 0 {
		b := w.recent[0]
		if b.file > file || b.file == file && b.off > off {
			return nil
		}
		w.recent[0] = nil
		w.recent = w.recent[1:]
		w.recentBytes -= recordBytes(b)
		if b.file == file && b.off == off {
			return b
		}
	}
	return nil
}

// closeLog makes appendRows refuse rows from now on.
func (w *writer) closeLog() {
	w.logMu.Lock()
	w.logClosed = true
	w.logMu.Unlock()
}

// backlog returns how many records the log holds that are not indexed
// yet.
func (w *writer) backlog() int64 { return w.appendedN.Load() - w.indexedN.Load() }

// backlogBytes returns the bytes of the records of the backlog.
func (w *writer) backlogBytes() int64 {
	file, off, _ := splitLoc(w.indexed.Load())
	return max(w.log.bytesFrom(file)-off, 0)
}

// index inserts the records appended to the log after the rows (up to
// maxBatch of them) in one transaction, deleting what retention
// requires. It returns how many records it read (0 when the rows are
// up to date), and how many exchanges it stored (records whose ID is
// stored already are skipped) and deleted. When the transaction fails,
// its records are lost: the rows go on after them.
func (w *writer) index(ctx context.Context) (read, stored, deleted int64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, 0, 0, nil
	}
	target := w.appended.Load()
	at := w.indexedAt
	var rows []*row
	var locs []int64
	lastFile, lastEnd, _ := splitLoc(target)
	for len(rows) < maxBatch && pos(at) < target {
		var err error
		b := w.takeRecent(at.file, at.size)
		if b == nil {
			b, err = w.reader.block(at.file, at.size)
		}
		if err == nil {
			err = blockRows(b, &rows, &locs)
		}
		switch {
		case err == nil:
			at.size += b.size
		case errors.Is(err, io.EOF) && at.file < lastFile:
			// The segment ends here; the next one goes on.
			at = segment{at.file + 1, int64(len(segMagic))}
		default:
			// A block that cannot be read loses the rest of its
			// segment.
			w.indexedN.Add(int64(len(rows)))
			if at.file < lastFile {
				at = segment{at.file + 1, int64(len(segMagic))}
			} else {
				at = segment{lastFile, lastEnd}
			}
			w.indexedAt = at
			w.indexed.Store(pos(at))
			return 1, 0, 0, fmt.Errorf("read the log: %w", err)
		}
	}
	if pos(at) == pos(w.indexedAt) {
		return 0, 0, 0, nil
	}
	n := int64(len(rows))
	stored, deleted, err = w.insertRows(ctx, rows, locs, at)
	w.indexedN.Add(n)
	if err != nil {
		// The next transaction records the end.
		w.indexedAt = at
		w.indexed.Store(pos(at))
	}
	return max(n, 1), stored, deleted, err
}

// blockRows appends the rows of b's records to rows and their locs to
// locs.
func blockRows(b *block, rows *[]*row, locs *[]int64) error {
	for k, p := range b.recs {
		rec, err := parseRecord(p)
		if err != nil {
			return err
		}
		r, err := rowOf(rec)
		if err != nil {
			return err
		}
		*rows = append(*rows, r)
		*locs = append(*locs, makeLoc(b.file, b.off, k))
	}
	return nil
}

// insertRows inserts rows, whose records are at locs, in one
// transaction that records end as the end of the rows in the log.
func (w *writer) insertRows(ctx context.Context, rows []*row, locs []int64, end segment) (stored, deleted int64, err error) {
	t, err := w.begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	var need int64
	for _, r := range rows {
		need += rowBytes(r)
	}
	if err := t.makeRoom(need); err != nil {
		t.rollback()
		return 0, 0, err
	}
	// The rids are given in order whether or not an exchange is stored
	// already (an ID that is leaves a gap), so the skip index takes the
	// bodies on another goroutine while this one inserts the rows.
	base := t.rid
	t.rid += int64(len(rows))
	wait := w.fillFilters(base, rows)
	for i, r := range rows {
		if _, err := t.insertAt(r, base+1+int64(i), locs[i]); err != nil {
			wait()
			t.rollback()
			return 0, 0, err
		}
	}
	for _, f := range wait() {
		err := t.seal(f)
		w.spare = f.bits
		if err != nil {
			t.rollback()
			return 0, 0, err
		}
	}
	if err := t.retain(); err != nil {
		t.rollback()
		return 0, 0, err
	}
	t.end = &end
	if err := t.commit(); err != nil {
		return 0, 0, err
	}
	return t.added, t.deleted, nil
}

// fillFilters adds the bodies of rows, to be inserted as the rids after
// base, to the skip index: w.filter, and the filters of the chunks that
// they begin. It runs on another goroutine, while the caller inserts
// the rows, if there are enough of them to be worth it; the function it
// returns waits for it and returns the filters of the chunks that the
// rows filled, to be sealed (their bits may then go to w.spare). The
// caller must not touch w.filter until then.
func (w *writer) fillFilters(base int64, rows []*row) func() []*chunkFilter {
	var sealed []*chunkFilter
	fill := func() {
		f := &w.filter
		for i, r := range rows {
			rid := base + 1 + int64(i)
			if c := rid >> w.shift; c != f.chunk {
				if f.chunk >= 0 {
					full := *f
					sealed = append(sealed, &full)
					f.bits, f.keys, f.pairs, w.spare = w.spare, nil, nil, nil
				}
				f.reset(c, w.shift, rid&(1<<w.shift-1) == 0)
			}
			f.addRow(r)
		}
	}
	if len(rows) < 64 {
		fill()
		return func() []*chunkFilter { return sealed }
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.filterNanos.Add(int64(ownTime(fill)))
	}()
	return func() []*chunkFilter {
		<-done
		return sealed
	}
}

// rowBytes estimates the bytes r takes in the database file: its
// columns, and the index entries that repeat them.
func rowBytes(r *row) int64 {
	cols := len(r.method) + len(r.host) + len(r.domain) + len(r.path) + len(r.url) + len(r.remote) +
		len(r.ctype) + len(r.reqCtype) + len(r.route) + len(r.errText)
	return int64(2*cols) + 256
}

// maintain does one step of the work a writer does when no batch is due:
// removing expired exchanges, building the skip index of a chunk that
// lacks it, or updating the planner's statistics.
// It reports whether it did anything.
func (w *writer) maintain(ctx context.Context) (did bool, deleted int64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return false, 0, nil
	case w.opts.MaxAge > 0 && (w.expiring || time.Since(w.lastExpire) >= idleInterval):
		t, err := w.begin(ctx)
		if err != nil {
			return true, 0, err
		}
		if err := t.retain(); err != nil {
			t.rollback()
			return true, 0, err
		}
		if err := t.commit(); err != nil {
			return true, 0, err
		}
		return true, t.deleted, nil
	case w.bloomPending && !time.Now().Before(w.bloomNext):
		start := time.Now()
		err := w.buildMissing(ctx)
		now := time.Now()
		took := now.Sub(start)
		w.load.own += took
		share := w.load.share(now)
		w.bloomNext = now.Add(time.Duration(float64(took) * (1/share - 1)))
		return true, 0, err
	case time.Since(w.optimized) >= optimizeInterval:
		w.optimized = time.Now()
		_, err := w.conn.ExecContext(ctx, "PRAGMA optimize")
		return true, 0, err
	case !w.shrunk && time.Since(w.lastInsert) >= shrinkAfter:
		// The page cache serves inserts; when they stop, its memory
		// goes back (a proxy between bursts keeps little resident).
		w.shrunk = true
		_, err := w.conn.ExecContext(ctx, "PRAGMA shrink_memory")
		return true, 0, err
	}
	return false, 0, nil
}

// A loadMeter tells whether the process is busy: whether it used more
// than busyLoad of its CPUs over the last loadWindow, not counting the
// time the writer spent indexing (own).
type loadMeter struct {
	at   time.Time
	cpu  time.Duration
	own  time.Duration
	last float64 // the share decided for the last window

	load    float64                      // busy past this share of the CPUs; 0 means busyLoad
	procs   int                          // CPUs the process may use; 0 means GOMAXPROCS
	readCPU func() (time.Duration, bool) // nil means cputime.Process
}

// prime starts the meter's first window at now, deciding that the process
// is not busy until that window says otherwise.
func (m *loadMeter) prime(now time.Time) {
	m.share(now)
	if m.last == indexShareBusy {
		m.last = 1
	}
}

// share returns the share of the writer's time that indexing may take,
// decided by the load over the last window that ended by now.
func (m *loadMeter) share(now time.Time) float64 {
	d := now.Sub(m.at)
	if d < loadWindow && m.last > 0 {
		return m.last
	}
	read, procs := m.readCPU, m.procs
	if read == nil {
		read = cputime.Process
	}
	if procs <= 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	cpu, ok := read()
	switch {
	case !ok:
		m.last = indexShare
	case m.at.IsZero():
		m.last = indexShareBusy // no window yet: assume the worst
	default:
		used := cpu - m.cpu - m.own
		load := m.load
		if load <= 0 {
			load = busyLoad
		}
		m.last = 1
		if float64(used) > load*float64(d)*float64(procs) {
			m.last = indexShareBusy
		}
	}
	m.at, m.cpu, m.own = now, cpu, 0
	return m.last
}

// buildStep builds the filter of the oldest sealed chunk that lacks one
// (see buildMissing).
func (w *writer) buildStep(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buildMissing(ctx)
}

// buildMissing builds the filter of the oldest sealed chunk that lacks
// one, if any (state 'bloom': every chunk before it has its filter, or
// has no exchange left). It clears bloomPending when none is left. w.mu
// must be held.
func (w *writer) buildMissing(ctx context.Context) (err error) {
	t, err := w.begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			t.rollback()
		}
	}()
	var next, first int64
	err = w.conn.QueryRowContext(ctx, `SELECT (SELECT value FROM state WHERE key = 'bloom'),
		coalesce((SELECT min(rid) FROM exchanges), 0) >> ?`, w.shift).Scan(&next, &first)
	if err != nil {
		return err
	}
	// Chunks before the one the last rid given is in are sealed.
	sealed := t.rid >> w.shift
	next = max(next, first)
	built, err := chunksIn(ctx, w.conn, "blooms", next, sealed)
	if err != nil {
		return err
	}
	for _, c := range built {
		if c != next {
			break
		}
		next++
	}
	if next < sealed {
		f := chunkFilter{bodies: true}
		n, err := buildChunk(ctx, w.conn, w.reader, &f, next, w.shift)
		if err != nil {
			return err
		}
		if n > 0 {
			if _, err := w.insBloom.ExecContext(ctx, f.chunk, f.unindexed, f.bits, hashWord); err != nil {
				return err
			}
			if err := w.storeKeys(ctx, f.chunk, f.keys, f.pairs); err != nil {
				return err
			}
		}
		next++
	}
	if _, err := w.conn.ExecContext(ctx, "UPDATE state SET value = ? WHERE key = 'bloom'", next); err != nil {
		return err
	}
	if err := t.commit(); err != nil {
		return err
	}
	w.bloomPending = next < sealed
	return nil
}

// chunksIn returns the chunks from lo up to hi that table (blooms,
// chunk_keys) has a filter of, in order.
func chunksIn(ctx context.Context, tx queryer, table string, lo, hi int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT chunk FROM "+table+" WHERE chunk >= ? AND chunk < ? ORDER BY chunk", lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var chunks []int64
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		chunks = append(chunks, c)
	}
	return chunks, rows.Err()
}

// idleWait returns how long until maintain has work: the next building
// step, if one is pending, or the next removal of expired exchanges (an
// idleInterval after the last), at most idleInterval.
func (w *writer) idleWait() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	wait := idleInterval
	if w.opts.MaxAge > 0 {
		wait = min(wait, time.Until(w.lastExpire.Add(idleInterval)))
	}
	if w.bloomPending {
		wait = min(wait, time.Until(w.bloomNext))
	}
	return max(wait, time.Millisecond)
}

// run is the store's goroutine: it inserts the rows of what RecordBatch
// appended to the log (yielding while exchanges keep coming: see
// indexShareLoad), and when the rows are up to date it removes expired
// exchanges, builds the skip index of chunks that lack it and updates
// the planner's statistics.
func (s *Store) run() {
	defer close(s.writerDone)
	ctx := context.Background()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var lastBehind time.Time
	for {
		start := time.Now()
		var read int64
		var err error
		s.ownNanos.Add(int64(ownTime(func() { read, _, _, err = s.w.index(ctx) })))
		if err != nil {
			s.errors.Add(1)
			s.log.Error("bodytap store: batch lost", "path", s.path, "err", err)
		}
		if read > 0 {
			s.notifyCommit()
			if n := s.w.backlog(); n >= backlogLog && time.Since(lastBehind) >= 5*time.Second {
				lastBehind = time.Now()
				s.log.Warn("bodytap store: the database is behind the log; the backlog waits on disk",
					"path", s.path, "backlog", n, "backlog_bytes", s.w.backlogBytes())
			}
			if s.busy() {
				timer.Reset(time.Duration(float64(time.Since(start)) * (1/indexShareLoad - 1)))
				select {
				case <-s.hurryCh:
				case <-timer.C:
				}
			}
			continue
		}
		if s.isClosed() {
			return
		}
		did, deleted, err := s.w.maintain(ctx)
		if err != nil {
			s.log.Error("bodytap store: maintenance failed", "path", s.path, "err", err)
		}
		if did && err == nil {
			if deleted > 0 {
				s.notifyCommit()
			}
			continue
		}
		timer.Reset(s.w.idleWait())
		select {
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// backlogLog is the backlog (exchanges) past which the store logs, every
// 5 seconds at most, that the database is behind the log.
const backlogLog = 1000

// indexShareLoad is the share of its time that the store's goroutine
// spends inserting while exchanges keep coming (appended in the last
// loadWindow) and nobody waits for it (Flush, Close, Import, a backlog
// over half of maxBacklog): the rest of the CPU serves the requests
// that the exchanges come from, and the backlog waits in the log until
// the load lets up. A twentieth: the capturing proxy at its limit on two
// CPUs served 1.04× the requests of passthrough for 60 s with it, every
// exchange stored and found afterwards, against 0.71× when the store's
// goroutine inserted at full speed (scripts/proxy-compare.sh).
const indexShareLoad = 0.05

// othersLoad is the share of the process's CPUs that its work other than
// the store's (serving requests, say) must take, over a loadWindow, for
// the store's goroutine to yield while exchanges keep coming: less than
// all, since that work cannot take more while the store's goroutine
// takes a CPU of its own, so that the process stays busy once it is;
// more than none, so that a process that does little but store
// exchanges (an import, a collector) inserts them as fast as they come,
// on a CPU of its own. A quarter: a proxy at its limit takes half the
// CPUs or more, a collector decoding 20,000 exchanges a second about a
// fifth.
const othersLoad = 0.25

// busy reports whether the store's goroutine should yield after an
// insert: exchanges are coming, nobody waits for it, and the rest of the
// process needs the CPUs.
func (s *Store) busy() bool {
	if s.w.backlog() == 0 || s.hurry.Load() != 0 || s.isClosed() ||
		time.Since(time.Unix(0, s.lastAppend.Load())) >= loadWindow ||
		s.w.backlogBytes() >= maxBacklog(s.opts.MaxBytes)/2 {
		return false
	}
	s.load.own += time.Duration(s.ownNanos.Swap(0) + s.w.filterNanos.Swap(0))
	return s.load.share(time.Now()) < 1
}

// ownTime runs f with its goroutine held on its thread and returns the
// thread's CPU time meanwhile: the store's own work, which busy does not
// count as the process's load. Where the thread's CPU time cannot be
// read it returns f's wall time, which is more than the CPU time on a
// machine whose CPUs are all taken: a process with the store's work
// slowed down by others' would then look idler than it is, and the
// store's goroutine would insert at full speed when it should yield.
func ownTime(f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	t0, ok := cputime.Thread()
	f()
	if t1, ok1 := cputime.Thread(); ok && ok1 {
		return t1 - t0
	}
	return time.Since(start)
}
