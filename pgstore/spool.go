package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// The spool keeps the batches that could not be written because the
// database was away (refused or lost connections, a server shutting
// down or starting up), one file a batch, and replays them once it is
// back. A file is written whole under a temporary name and renamed, so
// that a crash leaves a batch or nothing; it holds the rows as the
// writer made them (compressed), so a replay does not encode again.
//
// Several processes may share a spool directory, and each replays any
// batch in it, its own or one a process left behind when it stopped: a
// replayer holds an exclusive lock on the file it replays (flock, on
// Unix) and removes it in the end. A replay inserts with ON CONFLICT DO
// NOTHING, so that a batch that was committed but whose commit was never
// acknowledged, and so was spooled, is not stored twice (IDs are primary
// keys).

// SpoolStats counts what the spool did since Open. Exchanges written
// from the spool count in Stats.Stored too, and those dropped in
// Stats.Dropped.
type SpoolStats struct {
	Dir      string // the spool directory; "" without a spool
	Spooled  int64  // exchanges written to the spool while the database was away
	Replayed int64  // exchanges written from the spool to the database (some perhaps stored already)
	Dropped  int64  // exchanges dropped: the spool was full, or could not be written
	Bytes    int64  // the size of the spool's batches now, of every process sharing it
	Away     bool   // the last write failed for want of the database
}

// SpoolStats reports the spool's counts.
func (s *Store) SpoolStats() SpoolStats {
	return SpoolStats{Dir: s.spoolDir, Spooled: s.spooled.Load(), Replayed: s.replayed.Load(),
		Dropped: s.spoolDropped.Load(), Bytes: s.spoolBytes.Load(), Away: s.away.Load()}
}

// DefaultSpoolMaxBytes is the bound of a spool when Options.SpoolMaxBytes
// is 0.
const DefaultSpoolMaxBytes = 1 << 30

const (
	spoolExt    = ".batch"
	spoolMagic  = "btspool1"
	spoolRescan = 30 * time.Second // looks for batches other processes left
	// writeTimeout bounds a write, so that a database that stops
	// answering turns into spooled batches rather than a stuck writer.
	writeTimeout = 30 * time.Second
	closeReplay  = 10 * time.Second // the most Close spends replaying
)

// spoolPath returns the spool directory of opts for the database at
// connURL: Options.SpoolDir, or a directory of the user's cache named
// after the database (its URL, password masked), so that stores of
// different databases never replay each other's batches. "" means no
// spool.
func spoolPath(opts Options, connURL string) (string, error) {
	if opts.SpoolMaxBytes < 0 || opts.ReadOnly {
		return "", nil
	}
	if opts.SpoolDir != "" {
		return opts.SpoolDir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no spool directory (set Options.SpoolDir): %w", err)
	}
	h := sha256.Sum256([]byte(MaskURL(connURL)))
	return filepath.Join(cache, "bodytap", "spool", hex.EncodeToString(h[:8])), nil
}

// retryable reports whether a write failed because the database is away
// or busy for now, rather than because of what was written.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		// No answer from the server: refused, reset, timed out.
		return true
	}
	switch pe.Code[:2] {
	case "08", // connection exception
		"53", // insufficient resources: too many connections, disk full
		"57", // operator intervention: shutdown, starting up, canceled
		"58": // system error
		return true
	}
	return pe.Code == "40001" || pe.Code == "40P01" // serialization failure, deadlock
}

// handle stores rows: writes them, or spools them while the database is
// away, or loses them (counted, logged).
func (s *Store) handle(rows []*row) {
	if s.spoolDir != "" && s.away.Load() {
		s.spool(rows)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	err := s.write(ctx, rows, false)
	cancel()
	if err == nil {
		s.stored.Add(int64(len(rows)))
		return
	}
	if s.spoolDir != "" && retryable(err) {
		if s.away.CompareAndSwap(false, true) {
			s.log.Warn("bodytap pgstore: database away, spooling batches to disk", "db", s.url, "dir", s.spoolDir, "err", err)
			defer s.kick()
		}
		s.spool(rows)
		return
	}
	s.errs.Add(1)
	s.log.Error("bodytap pgstore: batch lost", "db", s.url, "exchanges", len(rows), "err", err)
}

func (s *Store) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// spool writes rows to a new file of the spool, or drops them when the
// spool is full or cannot be written.
func (s *Store) spool(rows []*row) {
	b := encodeRows(rows)
	if s.spoolBytes.Load()+int64(len(b)) > s.spoolMax {
		s.dropped.Add(int64(len(rows)))
		s.spoolDropped.Add(int64(len(rows)))
		if s.spoolFull.CompareAndSwap(false, true) {
			s.log.Error("bodytap pgstore: spool full, dropping exchanges until the database is back", "db", s.url, "dir", s.spoolDir, "max_bytes", s.spoolMax)
		}
		return
	}
	if err := s.spoolWrite(b); err != nil {
		s.dropped.Add(int64(len(rows)))
		s.spoolDropped.Add(int64(len(rows)))
		s.log.Error("bodytap pgstore: spool", "db", s.url, "exchanges", len(rows), "err", err)
		return
	}
	s.spoolBytes.Add(int64(len(b)))
	s.spooled.Add(int64(len(rows)))
}

var spoolSeq atomic.Int64

func (s *Store) spoolWrite(b []byte) error {
	if err := os.MkdirAll(s.spoolDir, 0o700); err != nil {
		return err
	}
	// Names sort in the order of writing, per process.
	name := fmt.Sprintf("%016x-%d-%d", time.Now().UnixNano(), os.Getpid(), spoolSeq.Add(1))
	tmp := filepath.Join(s.spoolDir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.spoolDir, name+spoolExt))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// replayer runs while the store is open: it replays the spool when a
// batch was spooled, then with backoff while the database stays away,
// and every spoolRescan for what other processes left.
func (s *Store) replayer() {
	defer s.subs.Done()
	wait := time.Duration(0) // replay at once: a spool may be left from before
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-s.done.Done():
				t.Stop()
				return
			case <-s.wake:
			case <-t.C:
			}
			t.Stop()
		}
		err := s.replay(s.done)
		if wait == 0 {
			close(s.firstPass)
		}
		switch {
		case s.done.Err() != nil:
			return
		case err != nil:
			wait = min(max(2*wait, minBackoff), maxBackoff)
		default:
			wait = spoolRescan
		}
	}
}

// replay writes the spool's batches to the database, oldest first, and
// removes them; it returns the error of the first that could not be
// written for a retryable reason, leaving it and the later ones. Once the
// spool is empty, or a write succeeded, the database counts as back.
func (s *Store) replay(ctx context.Context) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	names, total, err := s.spoolList()
	if err != nil {
		s.log.Error("bodytap pgstore: spool", "db", s.url, "err", err)
		return err
	}
	s.spoolBytes.Store(total)
	if len(names) == 0 && s.away.Load() {
		// Spooled nothing (full, or replayed by another process): ask.
		if err := s.pool.Ping(ctx); err != nil {
			return err
		}
		s.back()
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, size, err := s.replayFile(ctx, filepath.Join(s.spoolDir, name))
		if err != nil {
			return err
		}
		s.spoolBytes.Add(-size)
		s.replayed.Add(int64(n))
		s.stored.Add(int64(n))
		s.back()
	}
	return nil
}

// back notes that the database answers again.
func (s *Store) back() {
	if s.away.CompareAndSwap(true, false) {
		s.log.Info("bodytap pgstore: database back, replaying the spool", "db", s.url)
	}
	s.spoolFull.Store(false)
}

// spoolList returns the names of the spool's batches, oldest first, and
// their total size.
func (s *Store) spoolList() ([]string, int64, error) {
	ents, err := os.ReadDir(s.spoolDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var names []string
	var total int64
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), spoolExt) {
			continue
		}
		if info, err := e.Info(); err == nil {
			names = append(names, e.Name())
			total += info.Size()
		}
	}
	slices.Sort(names)
	return names, total, nil
}

// replayFile writes the batch of one spool file and removes it. A file
// that another process is replaying, or has replayed, counts nothing. A
// file that cannot be read or written for good is renamed *.bad, kept
// for a person to look at, and logged.
func (s *Store) replayFile(ctx context.Context, path string) (n int, size int64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close() // after the removal: releases the lock
	if ok, err := lockFile(f); err != nil || !ok {
		return 0, 0, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil // replayed by the process that held the lock
	}
	b, err := readAll(f)
	if err != nil {
		return 0, 0, err
	}
	rows, err := decodeRows(b)
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err = s.write(wctx, rows, true)
		cancel()
		if err != nil && retryable(err) && !s.poisoned(ctx, path, err) {
			return 0, 0, err
		}
	}
	delete(s.replayFails, path)
	if err != nil {
		s.errs.Add(1)
		s.log.Error("bodytap pgstore: spooled batch kept aside", "db", s.url, "file", path+".bad", "err", err)
		return 0, int64(len(b)), os.Rename(path, path+".bad")
	}
	return len(rows), int64(len(b)), os.Remove(path)
}

// maxReplayFails is how many times in a row a spooled batch may fail
// without a word from a server that answers before it is set aside.
const maxReplayFails = 5

// poisoned reports whether the batch at path, whose replay failed with
// the retryable err, is to be set aside: the error came from no server
// (a connection lost, or a batch that cannot be sent), maxReplayFails
// times in a row, while the server answers. Otherwise such a batch would
// stop the spool for good. The caller holds rmu.
func (s *Store) poisoned(ctx context.Context, path string, err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) || s.pool.Ping(ctx) != nil {
		return false
	}
	if s.replayFails == nil {
		s.replayFails = map[string]int{}
	}
	s.replayFails[path]++
	return s.replayFails[path] >= maxReplayFails
}

func readAll(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(f)
	return buf.Bytes(), err
}

// flushSpool replays the spool now, for Flush and Close.
func (s *Store) flushSpool(ctx context.Context) error {
	if s.spoolDir == "" || !s.away.Load() && s.spoolBytes.Load() == 0 {
		return nil
	}
	if err := s.replay(ctx); err != nil {
		return fmt.Errorf("pgstore: %s away: %d bytes of batches wait in %s: %w", s.url, s.spoolBytes.Load(), s.spoolDir, err)
	}
	return nil
}

// A spool file: spoolMagic, the number of rows (uvarint), the rows, and
// the CRC-32 (IEEE, big-endian) of all that precedes it. In a row, byte
// strings are a uvarint length and the bytes, with length+1 so that nil
// (0) differs from empty (1); integers are varints; lists of strings are
// a uvarint count and the strings.

func encodeRows(rows []*row) []byte {
	b := []byte(spoolMagic)
	b = binary.AppendUvarint(b, uint64(len(rows)))
	for _, r := range rows {
		b = appendBytes(b, r.id)
		for _, v := range []int64{r.start, int64(r.status), r.duration, r.ttfb, r.reqSize, r.respSize, int64(r.flags), r.shape} {
			b = binary.AppendVarint(b, v)
		}
		for _, v := range []string{r.method, r.host, r.domain, r.path, r.url, r.remote, r.route, r.errText} {
			b = appendBytes(b, []byte(v))
		}
		for _, vs := range [][]string{r.ctype, r.reqCtype} {
			b = binary.AppendUvarint(b, uint64(len(vs)))
			for _, v := range vs {
				b = appendBytes(b, []byte(v))
			}
		}
		for _, v := range [][]byte{r.meta, r.req, r.resp, r.rawText} {
			b = appendBytes(b, v)
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(v))+1)
	return append(b, v...)
}

var errSpoolCorrupt = errors.New("pgstore: corrupt spool file")

func decodeRows(b []byte) ([]*row, error) {
	if len(b) < len(spoolMagic)+4 || string(b[:len(spoolMagic)]) != spoolMagic {
		return nil, errSpoolCorrupt
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return nil, errSpoolCorrupt
	}
	d := &decoder{b: body[len(spoolMagic):]}
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return nil, errSpoolCorrupt
	}
	rows := make([]*row, 0, n)
	for range n {
		r := &row{id: d.bytes()}
		ints := []*int64{&r.start, nil, &r.duration, &r.ttfb, &r.reqSize, &r.respSize, nil, &r.shape}
		var status, flags int64
		ints[1], ints[6] = &status, &flags
		for _, p := range ints {
			*p = d.varint()
		}
		r.status, r.flags = int32(status), int32(flags)
		for _, p := range []*string{&r.method, &r.host, &r.domain, &r.path, &r.url, &r.remote, &r.route, &r.errText} {
			*p = string(d.bytes())
		}
		for _, p := range []*[]string{&r.ctype, &r.reqCtype} {
			k := d.uvarint()
			if k > uint64(len(d.b)) {
				return nil, errSpoolCorrupt
			}
			*p = make([]string, k)
			for i := range *p {
				(*p)[i] = string(d.bytes())
			}
		}
		for _, p := range []*[]byte{&r.meta, &r.req, &r.resp, &r.rawText} {
			*p = d.bytes()
		}
		if d.err {
			return nil, errSpoolCorrupt
		}
		rows = append(rows, r)
	}
	if d.err || len(d.b) != 0 {
		return nil, errSpoolCorrupt
	}
	return rows, nil
}

// A decoder reads what encodeRows wrote; err notes a short or bad input.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	if n-1 > uint64(len(d.b)) {
		d.err, d.b = true, nil
		return nil
	}
	v := d.b[: n-1 : n-1]
	d.b = d.b[n-1:]
	return v
}
