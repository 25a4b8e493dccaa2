package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
)

// fillBatches records n exchanges in batches of batch (a block of the
// log each, or more) and returns them as read back, newest first.
func fillBatches(t *testing.T, s *Store, g *gen, n, batch int) []*bodytap.Exchange {
	t.Helper()
	var xs []*bodytap.Exchange
	for range n {
		xs = append(xs, g.next())
		if len(xs) == batch {
			s.RecordBatch(xs)
			xs = nil
		}
	}
	s.RecordBatch(xs)
	flush(t, s)
	return scanN(t, s, Query{Limit: n}, n)
}

// segments returns the paths of the store's segment files, oldest first.
func segments(t *testing.T, path string) []string {
	t.Helper()
	abs, _ := filepath.Abs(path)
	segs, err := listSegments(logDir(abs))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, s := range segs {
		paths = append(paths, segPath(logDir(abs), s.file))
	}
	return paths
}

// checkAll checks that the store holds want (newest first), each as it
// was recorded.
func checkAll(t *testing.T, s *Store, want []*bodytap.Exchange) {
	t.Helper()
	got := scanAll(t, s, len(want))
	for i := range want {
		sameExchange(t, want[i], got[i])
	}
}

func TestLogRoundTrip(t *testing.T) {
	for _, r := range []row{
		{meta: []byte(`{}`)},
		{meta: []byte(`{"a":1}`), shape: 1 << 40, req: []byte{}, resp: []byte("x"), raw: []byte{0, 1, 2}},
		{meta: bytes.Repeat([]byte("m"), 300), req: bytes.Repeat([]byte{0xff}, 200000)},
	} {
		b := appendRecord(nil, &r)
		n, k := uvarintLenOf(b)
		if int(n) != len(b)-k {
			t.Fatalf("length %d, record of %d bytes", n, len(b)-k)
		}
		rec, err := parseRecord(b[k:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.meta, r.meta) || rec.shape != r.shape || !bytes.Equal(rec.req, r.req) || (rec.req == nil) != (r.req == nil) ||
			!bytes.Equal(rec.resp, r.resp) || !bytes.Equal(rec.raw, r.raw) || (rec.raw == nil) != (r.raw == nil) {
			t.Errorf("record %+v read back as %+v", r, rec)
		}
		if _, err := parseRecord(b[k : len(b)-1]); err == nil && len(b)-k > 4 {
			t.Errorf("a record cut short parses")
		}
	}
	if file, off, k := splitLoc(makeLoc(77, 1<<31+5, 4095)); file != 77 || off != 1<<31+5 || k != 4095 {
		t.Errorf("splitLoc(makeLoc(77, 1<<31+5, 4095)) = %d, %d, %d", file, off, k)
	}
}

func uvarintLenOf(b []byte) (uint64, int) {
	var n uint64
	for i, c := range b {
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return n, i + 1
		}
	}
	return 0, 0
}

// TestLogTornTail: a process was killed after it appended records to
// the log and before the database had them, in the middle of appending
// a block, and after it began a segment that it never wrote to. Open
// keeps the whole blocks and inserts their exchanges, cuts off the torn
// one and removes the segment after it.
func TestLogTornTail(t *testing.T) {
	s, path := openTest(t, Options{})
	g := newGen(3)
	want := fillBatches(t, s, g, 120, 40)
	s.Close()

	// Append as the killed process did.
	db := openRaw(t, path)
	var indexed segment
	err := db.QueryRow(`SELECT (SELECT value FROM state WHERE key = 'log_file'), (SELECT value FROM state WHERE key = 'log_end')`).Scan(&indexed.file, &indexed.size)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	l, pending, err := openLog(logDir(abs), indexed, maxSegBytes)
	if err != nil || pending != 0 {
		t.Fatalf("openLog: %d pending, %v", pending, err)
	}
	var appended []*bodytap.Exchange
	for range 25 {
		x := g.next()
		r, err := newRow(x)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.next(); err != nil {
			t.Fatal(err)
		}
		if err := l.add(r); err != nil {
			t.Fatal(err)
		}
		appended = append([]*bodytap.Exchange{x}, appended...)
	}
	end, err := l.end()
	if err != nil {
		t.Fatal(err)
	}
	l.close()
	last := segPath(logDir(abs), end.file)
	whole, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(whole[len(segMagic) : len(segMagic)+blockHeader+10]) // a block cut short
	f.Close()
	stray := segPath(logDir(abs), end.file+1)
	if err := os.WriteFile(stray, []byte(segMagic), 0o644); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, Options{})
	if st := s.Stats(); st.Backlog != 25 {
		t.Errorf("Stats after Open = %+v, want 25 in the backlog", st)
	}
	flush(t, s)
	after, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, whole) {
		t.Errorf("segment is %d bytes after Open, want the %d of its whole blocks", len(after), len(whole))
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the segment after the torn block is still there: %v", err)
	}
	for i, x := range appended {
		got, err := s.Get(context.Background(), x.ID)
		if err != nil {
			t.Fatalf("appended exchange %d: %v", i, err)
		}
		sameExchange(t, x, got)
	}
	checkAll(t, s, append(scanAll(t, s, 145)[:25:25], want...))
	more := fillBatches(t, s, g, 30, 30)
	s.Close()
	s = openAt(t, path, Options{ReadOnly: true})
	checkAll(t, s, append(more, scanAll(t, s, 175)[30:]...))
}

// TestLogChecksum: a block damaged on disk fails the reads of its
// exchanges with an error that says so; the blocks before and after it
// read as before, lists go on, and the writer goes on writing.
func TestLogChecksum(t *testing.T) {
	s, path := openTest(t, Options{})
	g := newGen(4)
	want := fillBatches(t, s, g, 90, 30) // three blocks
	s.Close()
	seg := segments(t, path)[0]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// The second block: after the magic and the first block.
	first := len(segMagic) + blockHeader + int(le32(data[len(segMagic):]))
	data[first+blockHeader+7] ^= 0x55
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, Options{})
	ctx := context.Background()
	// want is newest first: the damaged block holds the middle 30.
	for i, x := range want {
		got, err := s.Get(ctx, x.ID)
		damaged := i >= 30 && i < 60
		switch {
		case damaged && (err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !errors.Is(err, errCorrupt)):
			t.Errorf("exchange %d in the damaged block: Get = %v, want a checksum mismatch", i, err)
		case !damaged && err != nil:
			t.Errorf("exchange %d: %v", i, err)
		case !damaged:
			sameExchange(t, x, got)
		}
	}
	sums, err := s.List(ctx, Query{})
	if err != nil || len(sums) != len(want) {
		t.Errorf("List: %d summaries, %v; want %d", len(sums), err, len(want))
	}
	f, err := filter.Parse("~b nothing-has-this")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, Query{Filter: f}); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("a body search over the damaged block: %v, want a checksum mismatch", err)
	}
	x := g.next()
	s.Record(x)
	flush(t, s)
	if got, err := s.Get(ctx, x.ID); err != nil {
		t.Error(err)
	} else {
		sameExchange(t, x, got)
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// TestLogCutShort: the machine lost power after the database's commit
// reached the disk and before the log's last blocks did. Open keeps the
// whole blocks, deletes the rows of the exchanges it lost and says so.
func TestLogCutShort(t *testing.T) {
	s, path := openTest(t, Options{})
	g := newGen(5)
	want := fillBatches(t, s, g, 90, 30)
	s.Close()
	seg := segments(t, path)[0]
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg, fi.Size()-5); err != nil {
		t.Fatal(err)
	}
	var logged lockedBuffer
	s = openAt(t, path, Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if !strings.Contains(logged.String(), "the log was cut short") {
		t.Errorf("Open logged %q, want a warning", logged.String())
	}
	checkAll(t, s, want[30:])
	n, err := s.Count(context.Background(), Query{})
	if err != nil || n != 60 {
		t.Errorf("Count = %d, %v; want 60", n, err)
	}
	more := fillBatches(t, s, g, 10, 10)
	checkAll(t, s, append(more[:10:10], want[30:]...))
}

// lockedBuffer is a bytes.Buffer for several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestBacklog: while the database cannot take exchanges (its writer is
// busy), RecordBatch goes on appending them to the log; Stats counts
// them, the store says so in its log, and they are inserted once it can.
func TestBacklog(t *testing.T) {
	var logged lockedBuffer
	s, path := openTest(t, Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	g := newGen(8)
	s.w.mu.Lock() // the database is busy
	const n = 2500
	for range n / 100 {
		xs := make([]*bodytap.Exchange, 100)
		for i := range xs {
			xs[i] = g.next()
		}
		s.RecordBatch(xs)
	}
	st := s.Stats()
	_, logBytes := fileBytes(t, path)
	s.w.mu.Unlock()
	if st.Backlog != n || st.Stored != 0 || st.BacklogBytes <= 0 || st.BacklogBytes > logBytes {
		t.Errorf("Stats with the database busy = %+v (log and WAL %d bytes), want %d in the backlog", st, logBytes, n)
	}
	flush(t, s)
	if st := s.Stats(); st.Backlog != 0 || st.BacklogBytes != 0 || st.Stored != n {
		t.Errorf("Stats after Flush = %+v, want %d stored", st, n)
	}
	if !strings.Contains(logged.String(), "the database is behind the log") || !strings.Contains(logged.String(), "backlog=1500") {
		t.Errorf("the store logged %q, want a line with the backlog", logged.String())
	}
	scanAll(t, s, n)
}

// TestImportRollback: an Import that fails takes its records back out of
// the log; what comes after goes where they were and reads back.
func TestImportRollback(t *testing.T) {
	defer smallChunks(2)()
	s, path := openTest(t, Options{})
	ctx := context.Background()
	g := newGen(11)
	before := fillBatches(t, s, g, 10, 10)
	head := s.w.log.head()
	tmpl := templates(8, 4096)
	var xs []*bodytap.Exchange
	for i := range 60 { // several blocks
		x := *tmpl[i%8]
		x.Start = g.next().Start
		x.ID = bodytap.NewID(x.Start)
		xs = append(xs, &x)
	}
	if _, err := s.Import(ctx, seq2(xs, errors.New("read error"))); err == nil {
		t.Fatal("Import with a failing reader succeeded")
	}
	if got := s.w.log.head(); got != head {
		t.Errorf("log ends at %+v after the failed Import, want %+v", got, head)
	}
	after := fillBatches(t, s, g, 10, 10)
	for _, x := range xs {
		if _, err := s.Get(ctx, x.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("an exchange of the failed Import: Get = %v", err)
		}
	}
	s.Close()
	s = openAt(t, path, Options{})
	checkAll(t, s, append(after, before...))
}

// TestLogBufferReused: while the index step lags and the writer's recent
// blocks are full, the log writes its blocks from one buffer instead of
// handing each to the writer in a new one, and every record still
// reaches the database.
func TestLogBufferReused(t *testing.T) {
	s, _ := openTest(t, Options{})
	g := newGen(8)
	n := 0
	batch := func() {
		xs := make([]*bodytap.Exchange, 100)
		for i := range xs {
			xs[i] = g.next()
		}
		s.RecordBatch(xs)
		n += len(xs)
	}
	logBuf := func() *byte {
		s.w.logMu.Lock()
		defer s.w.logMu.Unlock()
		return &s.w.log.buf[:1][0]
	}
	s.w.mu.Lock() // the database is busy
	for s.w.recentRoom() {
		if n > 100_000 {
			s.w.mu.Unlock()
			t.Fatal("the recent blocks never filled up")
		}
		batch()
	}
	before := logBuf()
	for range 5 {
		batch()
	}
	after := logBuf()
	s.w.mu.Unlock()
	if after != before {
		t.Error("with the recent blocks full, the log wrote 500 exchanges from a new buffer")
	}
	flush(t, s)
	scanAll(t, s, n)
}
