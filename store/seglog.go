package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/s2"
)

// The log holds what Get and body searches read and lists never do: each
// exchange's JSON form without its bodies, its shape bits, its two body
// copies and its raw strings. The writer appends it to segment files in
// the directory NAME-log next to the database file NAME, in blocks, and
// the exchanges row records where (column loc); SQLite keeps only the
// columns that lists show and filters test. Storing the bodies as rows
// cost the writer more than everything else it did per exchange (their
// B-tree pages written to the WAL, then checkpointed into the file), and
// a block appended to a file costs one write.
//
// A segment file starts with segMagic and holds blocks: a header of
// blockHeader bytes (the payload's length, its CRC-32C, the length of the
// records uncompressed and their count) and the records compressed with
// S2 (which compresses JSON bodies about as well as zstd's fastest level
// at several times the speed). A record is its length (uvarint) and its
// fields. The block a batch ends in is written before the transaction of
// the batch commits, and the transaction records the end of the log
// (state 'log_file', 'log_end'): what lies past it was never committed,
// and Open cuts it off, torn blocks included. A block whose checksum
// does not match fails the reads of its exchanges with an error that
// says so; the others read as before.
const (
	segMagic     = "BTAPSEG1"
	blockHeader  = 16
	blockTarget  = 64 << 10 // uncompressed bytes that make the writer seal a block
	locRecBits   = 12       // records per block: at most 1<<locRecBits
	locOffBits   = 32       // a block's offset in its segment
	maxSegBytes  = 64 << 20 // segments are cut at this size (see segmentBytes)
	minSegBytes  = 64 << 10
	readerFiles  = 8 // segment files a reader keeps open
	readerBlocks = 4 // decoded blocks a reader keeps
)

// errCorrupt marks a block whose checksum does not match or whose records
// do not parse.
var errCorrupt = errors.New("log block damaged")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// makeLoc returns the loc of the k-th record of the block at off in
// segment file.
func makeLoc(file, off int64, k int) int64 {
	return file<<(locOffBits+locRecBits) | off<<locRecBits | int64(k)
}

func splitLoc(loc int64) (file, off int64, k int) {
	return loc >> (locOffBits + locRecBits), loc >> locRecBits & (1<<locOffBits - 1), int(loc & (1<<locRecBits - 1))
}

// logDir returns the directory of the segments of the store at abs.
func logDir(abs string) string { return abs + "-log" }

func segPath(dir string, file int64) string {
	return filepath.Join(dir, fmt.Sprintf("%08d.seg", file))
}

// segmentBytes returns the size at which the writer starts a new
// segment: a sixteenth of MaxBytes, so that the segment retention cannot
// delete yet (some of its exchanges are kept) is a small part of the
// budget.
func segmentBytes(maxBytes int64) int64 {
	if maxBytes <= 0 {
		return maxSegBytes
	}
	return min(max(maxBytes/16, minSegBytes), maxSegBytes)
}

// appendRecord appends the record of r to b: its columns, which the
// indexer reads back (see appendCols), and its stored form.
func appendRecord(b []byte, r *row) []byte {
	fields := [3][]byte{r.req, r.resp, r.raw}
	cols := colsLen(r)
	size := uvarintLen(uint64(cols)) + cols + uvarintLen(uint64(len(r.meta))) + len(r.meta) + uvarintLen(uint64(r.shape))
	for _, p := range fields {
		size += uvarintLen(uint64(len(p))+1) + len(p)
	}
	b = slices.Grow(b, size+binary.MaxVarintLen64)
	b = binary.AppendUvarint(b, uint64(size))
	b = binary.AppendUvarint(b, uint64(cols))
	b = appendCols(b, r)
	b = binary.AppendUvarint(b, uint64(len(r.meta)))
	b = append(b, r.meta...)
	b = binary.AppendUvarint(b, uint64(r.shape))
	for _, p := range fields {
		// 0 is nil; n+1 is n bytes.
		if p == nil {
			b = append(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(p))+1)
		b = append(b, p...)
	}
	return b
}

// The columns of a row in a record: the ID's 16 bytes, then the
// strings, each after its length, then the integers (zigzag varints).
func (r *row) strs() [10]*string {
	return [10]*string{&r.method, &r.host, &r.domain, &r.path, &r.url, &r.remote, &r.ctype, &r.reqCtype, &r.route, &r.errText}
}

func (r *row) ints() [7]*int64 {
	return [7]*int64{&r.start, &r.status, &r.duration, &r.ttfb, &r.reqSize, &r.respSize, &r.flags}
}

func colsLen(r *row) int {
	n := len(r.id)
	for _, p := range r.strs() {
		n += uvarintLen(uint64(len(*p))) + len(*p)
	}
	for _, p := range r.ints() {
		n += uvarintLen(uint64(*p<<1 ^ *p>>63))
	}
	return n
}

func appendCols(b []byte, r *row) []byte {
	b = append(b, r.id...)
	for _, p := range r.strs() {
		b = binary.AppendUvarint(b, uint64(len(*p)))
		b = append(b, *p...)
	}
	for _, p := range r.ints() {
		b = binary.AppendVarint(b, *p)
	}
	return b
}

// parseCols fills r's columns from a record's.
func parseCols(r *row, p []byte) error {
	if len(p) < 16 {
		return errCorrupt
	}
	r.id, p = bytes.Clone(p[:16]), p[16:]
	for _, s := range r.strs() {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return errCorrupt
		}
		*s, p = string(p[k:k+int(n)]), p[k+int(n):]
	}
	for _, v := range r.ints() {
		n, k := binary.Varint(p)
		if k <= 0 {
			return errCorrupt
		}
		*v, p = n, p[k:]
	}
	if len(p) != 0 {
		return errCorrupt
	}
	return nil
}

// rowOf returns the row that rec was made from. It shares rec's bytes.
func rowOf(rec record) (*row, error) {
	r := &row{meta: rec.meta, shape: rec.shape, req: rec.req, resp: rec.resp, raw: rec.raw}
	if err := parseCols(r, rec.cols); err != nil {
		return nil, err
	}
	return r, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// A record is an exchange's stored form, read from the log.
type record struct {
	cols           []byte // the row's columns (see appendCols)
	meta           []byte
	shape          int64
	req, resp, raw []byte
}

// parseRecord parses the fields of a record.
func parseRecord(p []byte) (rec record, err error) {
	field := func() []byte {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			err = errCorrupt
			return nil
		}
		f := p[k : k+int(n)]
		p = p[k+int(n):]
		return f
	}
	optional := func() []byte {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k)+1 {
			err = errCorrupt
			return nil
		}
		p = p[k:]
		if n == 0 {
			return nil
		}
		f := p[:n-1]
		p = p[n-1:]
		return f
	}
	rec.cols = field()
	rec.meta = field()
	shape, k := binary.Uvarint(p)
	if k <= 0 {
		return rec, errCorrupt
	}
	p = p[k:]
	rec.shape = int64(shape)
	rec.req = optional()
	rec.resp = optional()
	rec.raw = optional()
	if err == nil && len(p) != 0 {
		err = errCorrupt
	}
	return rec, err
}

// A segment is a file of the log and its size.
type segment struct {
	file, size int64
}

// A logWriter appends records to the log. One goroutine at a time
// appends (the writer's logMu serializes them); bytesFrom and
// removeBefore may run meanwhile.
type logWriter struct {
	dir      string
	segBytes int64
	f        *os.File // the segment appended to

	mu   sync.Mutex // guards segs
	segs []segment  // oldest first; the last is the one appended to

	// committed is the end of what was acknowledged: rollback cuts the
	// log back to it.
	committed segment
	buf       []byte // records of the open block, uncompressed
	n         int    // how many
	out       []byte // the block, compressed
	// keep makes seal keep each block it writes, decoded, in sealed,
	// for the writer to take (see takeSealed).
	keep   bool
	sealed []*block
}

// openLog opens the log of which the database holds every record up to
// indexed. Past it, the whole blocks whose checksums match are kept (the
// records appended but not yet in the database), counted in pending;
// what follows the first that is cut short or damaged is cut off, and
// later segments are removed. An indexed.size of 0 makes a new log.
func openLog(dir string, indexed segment, segBytes int64) (l *logWriter, pending int64, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	l = &logWriter{dir: dir, segBytes: segBytes}
	files, err := listSegments(dir)
	if err != nil {
		return nil, 0, err
	}
	end := indexed
	whole := false // end is the end of its segment's file
	for _, s := range files {
		switch {
		case s.file < indexed.file:
			l.segs = append(l.segs, s)
			continue
		case indexed.size > 0 && (s.file == indexed.file || s.file == end.file+1 && whole):
			// The segment indexed ends in, and the next ones while
			// each is whole.
			from := max(int64(len(segMagic)), indexed.size)
			if s.file != indexed.file {
				l.segs = append(l.segs, end)
				from = int64(len(segMagic))
			}
			valid, n, err := validBlocks(segPath(dir, s.file), from)
			if err != nil {
				return nil, 0, err
			}
			end, pending, whole = segment{s.file, valid}, pending+n, valid == s.size
			continue
		}
		// Past the end; or, for a new log, left by a deleted store of
		// the same name.
		if err := os.Remove(segPath(dir, s.file)); err != nil {
			return nil, 0, err
		}
	}
	if err := l.create(end.file, end.size); err != nil {
		return nil, 0, err
	}
	l.committed = l.head()
	return l, pending, nil
}

// validBlocks returns the end of the blocks from offset from in the
// segment at path that are whole and whose checksums match, up to the
// first that is not, and how many records they hold.
func validBlocks(path string, from int64) (end, records int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var h [blockHeader]byte
	var payload []byte
	for end = from; ; {
		if _, err := f.ReadAt(h[:], end); err != nil {
			return end, records, nil
		}
		size := binary.LittleEndian.Uint32(h[0:])
		if size > 1<<30 {
			return end, records, nil
		}
		payload = slices.Grow(payload[:0], int(size))[:size]
		if _, err := f.ReadAt(payload, end+blockHeader); err != nil {
			return end, records, nil
		}
		if crc32.Update(crc32.Update(0, crcTable, h[8:]), crcTable, payload) != binary.LittleEndian.Uint32(h[4:]) {
			return end, records, nil
		}
		end += blockHeader + int64(size)
		records += int64(binary.LittleEndian.Uint32(h[12:]))
	}
}

// listSegments returns the segments in dir, oldest first.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		n, err := strconv.ParseInt(name, 10, 64)
		if !ok || err != nil || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		segs = append(segs, segment{n, fi.Size()})
	}
	slices.SortFunc(segs, func(a, b segment) int { return int(a.file - b.file) })
	return segs, nil
}

// create opens segment file as the one appended to, cut to size bytes,
// or made anew if size is 0.
func (l *logWriter) create(file, size int64) error {
	f, err := os.OpenFile(segPath(l.dir, file), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if size < int64(len(segMagic)) {
		size = int64(len(segMagic))
		if _, err := f.WriteAt([]byte(segMagic), 0); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	l.f = f
	l.mu.Lock()
	l.segs = append(l.segs, segment{file, size})
	l.mu.Unlock()
	return nil
}

// head returns the segment appended to.
func (l *logWriter) head() segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[len(l.segs)-1]
}

// setHeadSize records the size of the segment appended to.
func (l *logWriter) setHeadSize(size int64) {
	l.mu.Lock()
	l.segs[len(l.segs)-1].size = size
	l.mu.Unlock()
}

// next returns the loc that the record appended next gets, starting a
// new segment first if the last is full.
func (l *logWriter) next() (int64, error) {
	s := l.head()
	if l.n == 0 && s.size >= l.segBytes {
		// The segment is whole: it is synced once, so that a machine
		// that loses power loses at most the newest segment's latest
		// blocks.
		if err := l.f.Sync(); err != nil {
			return 0, err
		}
		if err := l.f.Close(); err != nil {
			return 0, err
		}
		if err := l.create(s.file+1, 0); err != nil {
			return 0, err
		}
		s = l.head()
	}
	return makeLoc(s.file, s.size, l.n), nil
}

// add appends r to the open block, at the loc next returned.
func (l *logWriter) add(r *row) error {
	l.buf = appendRecord(l.buf, r)
	l.n++
	if len(l.buf) >= blockTarget || l.n == 1<<locRecBits {
		return l.seal()
	}
	return nil
}

// seal writes the open block, if it holds records.
func (l *logWriter) seal() error {
	if l.n == 0 {
		return nil
	}
	s := l.head()
	l.out = slices.Grow(l.out[:0], blockHeader+s2.MaxEncodedLen(len(l.buf)))[:blockHeader]
	payload := s2.Encode(l.out[blockHeader:cap(l.out)], l.buf)
	l.out = l.out[:blockHeader+len(payload)]
	binary.LittleEndian.PutUint32(l.out[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(l.out[8:], uint32(len(l.buf)))
	binary.LittleEndian.PutUint32(l.out[12:], uint32(l.n))
	crc := crc32.Update(0, crcTable, l.out[8:blockHeader])
	binary.LittleEndian.PutUint32(l.out[4:], crc32.Update(crc, crcTable, payload))
	if _, err := l.f.WriteAt(l.out, s.size); err != nil {
		return err
	}
	l.setHeadSize(s.size + int64(len(l.out)))
	if l.keep {
		b := &block{file: s.file, off: s.size, size: int64(len(l.out))}
		var err error
		if b.recs, err = splitRecords(nil, l.buf, l.n); err != nil {
			return err
		}
		l.sealed = append(l.sealed, b)
		// The block keeps the buffer: the next gets a new one.
		l.buf = make([]byte, 0, cap(l.buf))
	}
	l.buf, l.n = l.buf[:0], 0
	return nil
}

// takeSealed returns the blocks written since the last call (see keep)
// and forgets them.
func (l *logWriter) takeSealed() []*block {
	bs := l.sealed
	l.sealed = nil
	return bs
}

// end seals the open block and returns the end of the log.
func (l *logWriter) end() (segment, error) {
	if err := l.seal(); err != nil {
		return segment{}, err
	}
	return l.head(), nil
}

// commit records that what was appended up to end is acknowledged.
func (l *logWriter) commit(end segment) { l.committed = end }

// rollback cuts the log back to its committed end.
func (l *logWriter) rollback() error {
	l.buf, l.n, l.sealed = l.buf[:0], 0, nil
	var errs []error
	for l.head().file > l.committed.file {
		errs = append(errs, l.f.Close(), os.Remove(segPath(l.dir, l.head().file)))
		l.mu.Lock()
		l.segs = l.segs[:len(l.segs)-1]
		l.mu.Unlock()
		if l.head().file == l.committed.file {
			f, err := os.OpenFile(segPath(l.dir, l.committed.file), os.O_RDWR, 0)
			if err != nil {
				return errors.Join(append(errs, err)...)
			}
			l.f = f
		}
	}
	errs = append(errs, l.f.Truncate(l.committed.size))
	l.setHeadSize(l.committed.size)
	return errors.Join(errs...)
}

// bytesFrom returns the size of the segments numbered file and later.
func (l *logWriter) bytesFrom(file int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, s := range l.segs {
		if s.file >= file {
			n += s.size
		}
	}
	return n
}

// removeBefore deletes the segments numbered before file, but never the
// one appended to.
func (l *logWriter) removeBefore(file int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for len(l.segs) > 1 && l.segs[0].file < file {
		err := os.Remove(segPath(l.dir, l.segs[0].file))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		l.segs = l.segs[1:]
	}
	return errors.Join(errs...)
}

func (l *logWriter) close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// A logReader reads records from the log, for any number of goroutines.
// It keeps a few segment files open and a few blocks decoded: a search
// reads the records of a block one after another.
type logReader struct {
	dir string

	mu     sync.Mutex
	files  map[int64]*os.File
	order  []int64 // of files, oldest opened first
	blocks [readerBlocks]*block
	next   int // the slot the next block decoded goes to
}

// A block is a decoded block: its records, and where each starts.
type block struct {
	file, off int64
	size      int64    // header and payload: the next block is at off+size
	recs      [][]byte // the fields of each record
}

func newLogReader(dir string) *logReader {
	return &logReader{dir: dir, files: make(map[int64]*os.File)}
}

// record returns the record at loc. Its slices are the reader's: valid
// as long as the caller likes, and never to be changed. A segment that
// retention has removed yields ErrNotFound.
func (r *logReader) record(loc int64) (record, error) {
	file, off, k := splitLoc(loc)
	b, err := r.block(file, off)
	if err != nil {
		return record{}, err
	}
	if k >= len(b.recs) {
		return record{}, fmt.Errorf("segment %s offset %d: no record %d: %w", segPath(r.dir, file), off, k, errCorrupt)
	}
	rec, err := parseRecord(b.recs[k])
	if err != nil {
		return record{}, fmt.Errorf("segment %s offset %d record %d: %w", segPath(r.dir, file), off, k, err)
	}
	return rec, nil
}

// block returns the block at off in segment file, decoded.
func (r *logReader) block(file, off int64) (*block, error) {
	r.mu.Lock()
	for _, b := range r.blocks {
		if b != nil && b.file == file && b.off == off {
			r.mu.Unlock()
			return b, nil
		}
	}
	f, err := r.open(file)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	b, err := readBlock(f, file, off)
	if err != nil {
		return nil, fmt.Errorf("segment %s offset %d: %w", segPath(r.dir, file), off, err)
	}
	r.mu.Lock()
	r.blocks[r.next] = b
	r.next = (r.next + 1) % readerBlocks
	r.mu.Unlock()
	return b, nil
}

// open returns segment file open. r.mu must be held.
func (r *logReader) open(file int64) (*os.File, error) {
	if f := r.files[file]; f != nil {
		return f, nil
	}
	f, err := os.Open(segPath(r.dir, file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if len(r.order) == readerFiles {
		// A file being read keeps its data: a closed *os.File fails the
		// read, which then fails its query, as rarely as readerFiles
		// searches at once read distinct segments.
		old := r.order[0]
		r.order = r.order[1:]
		r.files[old].Close()
		delete(r.files, old)
	}
	r.files[file] = f
	r.order = append(r.order, file)
	return f, nil
}

// readBlock reads and decodes the block at off in f.
func readBlock(f io.ReaderAt, file, off int64) (*block, error) {
	var h [blockHeader]byte
	if _, err := f.ReadAt(h[:], off); err != nil {
		return nil, fmt.Errorf("read block header: %w", err)
	}
	size := binary.LittleEndian.Uint32(h[0:])
	sum := binary.LittleEndian.Uint32(h[4:])
	rawLen := binary.LittleEndian.Uint32(h[8:])
	count := binary.LittleEndian.Uint32(h[12:])
	if count == 0 || count > 1<<locRecBits || rawLen > 1<<30 || size > 1<<30 {
		return nil, fmt.Errorf("bad block header: %w", errCorrupt)
	}
	payload := make([]byte, size)
	if _, err := f.ReadAt(payload, off+blockHeader); err != nil {
		return nil, fmt.Errorf("read block: %w", err)
	}
	if crc32.Update(crc32.Update(0, crcTable, h[8:]), crcTable, payload) != sum {
		return nil, fmt.Errorf("checksum mismatch: %w", errCorrupt)
	}
	if n, err := s2.DecodedLen(payload); err != nil || n != int(rawLen) {
		return nil, fmt.Errorf("bad block length: %w", errCorrupt)
	}
	data, err := s2.Decode(make([]byte, rawLen), payload)
	if err != nil {
		return nil, fmt.Errorf("decode block: %v: %w", err, errCorrupt)
	}
	b := &block{file: file, off: off, size: blockHeader + int64(size)}
	if b.recs, err = splitRecords(make([][]byte, 0, count), data, int(count)); err != nil {
		return nil, err
	}
	return b, nil
}

// splitRecords appends the records of data, a block's records
// uncompressed, to recs: count of them, each after its length.
func splitRecords(recs [][]byte, data []byte, count int) ([][]byte, error) {
	start := len(recs)
	for p := data; len(p) > 0; {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return nil, fmt.Errorf("bad record length: %w", errCorrupt)
		}
		recs = append(recs, p[k:k+int(n)])
		p = p[k+int(n):]
	}
	if len(recs)-start != count {
		return nil, fmt.Errorf("%d records, header says %d: %w", len(recs)-start, count, errCorrupt)
	}
	return recs, nil
}

// dropBlocks forgets the blocks decoded: the writer cut the log back,
// and other blocks may come where they were.
func (r *logReader) dropBlocks() {
	r.mu.Lock()
	clear(r.blocks[:])
	r.mu.Unlock()
}

func (r *logReader) close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, f := range r.files {
		errs = append(errs, f.Close())
	}
	clear(r.files)
	r.order = nil
	return errors.Join(errs...)
}

// validEnd returns the end of the last whole block of the segment at
// path that starts before size: where a segment cut short (by a machine
// that lost power before the file's data reached the disk) still holds
// whole blocks.
func validEnd(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(data, []byte(segMagic)) {
		return 0, nil
	}
	end := int64(len(segMagic))
	for {
		if end+blockHeader > int64(len(data)) {
			return end, nil
		}
		size := int64(binary.LittleEndian.Uint32(data[end:]))
		if end+blockHeader+size > int64(len(data)) {
			return end, nil
		}
		end += blockHeader + size
	}
}
