package jsonl

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/bodytap/bodytap"
)

// ErrClosed is what a [Writer] reports for records it is given after
// Close, and what a second Close returns.
var ErrClosed = errors.New("jsonl: writer closed")

// Writer is a [bodytap.Sink] that writes each exchange as one line of
// JSON, in the form of [Marshal], to an io.Writer ([NewWriter]) or to a
// file that it rotates by size ([OpenFile]).
//
// A line is one object per exchange, its schema fixed and documented in
// the package doc: IDs as ULID text, times in RFC 3339 with
// nanoseconds, durations in integer nanoseconds (fields ending in "_ns"),
// bodies as "text" or "base64". Every line is valid JSON whatever the
// bytes captured. [Read] reads the lines back.
//
// Each line goes to the writer in a single Write call. A write that fails
// loses that record, never the process: Record does not panic on errors,
// it counts them in [Writer.Stats] and keeps the last one for
// [Writer.Err], and tries again with the next record (a full disk
// that frees up again resumes writing). When a write fails partway
// through a line, the next line starts with a newline, so that only the
// broken line is unreadable.
//
// A Writer is safe for concurrent use, so that several Taps may share
// one.
type Writer struct {
	mu      sync.Mutex // guards all but the counters and err
	w       io.Writer
	file    *rotatingFile // nil unless opened with OpenFile
	buf     []byte        // the line being written, kept for its capacity
	partial bool          // the last write stopped inside a line
	closed  bool

	errMu sync.Mutex
	err   error

	written, failed, bytes, rotations atomic.Int64
}

var _ bodytap.ReusingSink = (*Writer)(nil)

// ReusesExchanges reports true: a Writer encodes each exchange into its
// own buffer and writes it before Record returns, keeping nothing of it,
// so a Tap may reuse it (see [bodytap.ReusingSink]).
func (s *Writer) ReusesExchanges() bool { return true }

// Stats counts what a [Writer] has done.
type Stats struct {
	Written   int64 // records written whole
	Failed    int64 // records lost, or written only in part: write, open or encode failed, or the sink was closed
	Bytes     int64 // bytes written, newlines included
	Rotations int64 // times the file was rotated
}

// NewWriter returns a sink that writes one line of JSON per exchange to
// w. Close does not close w; it calls w's Flush method if it has one
// (as a *bufio.Writer does).
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// OpenFile opens (or creates, with permission 0600: captures may
// hold personal data) the file at path for appending, and returns a sink
// that writes one line of JSON per exchange to it.
//
// When writing a line would take the file past maxBytes, the sink first
// rotates it: path.1 is renamed to path.2 and so on, path.keep is removed,
// path becomes path.1, and a new file is started at path. A line longer
// than maxBytes on its own still goes whole into a new file. keep is how
// many old files are kept; zero or less keeps none (the file starts afresh
// on rotation). A maxBytes of zero or less never rotates. An existing file
// counts toward maxBytes from its current size.
//
// If a rotation fails, the sink goes on writing to the file it has and
// tries again on the next line. If the file cannot be (re)opened, records
// are lost and counted until it can. One process only must write to path.
// Close syncs and closes the file.
func OpenFile(path string, maxBytes int64, keep int) (*Writer, error) {
	rf := &rotatingFile{path: path, max: maxBytes, keep: keep}
	if err := rf.open(); err != nil {
		return nil, fmt.Errorf("jsonl: open: %w", err)
	}
	return &Writer{w: rf, file: rf}, nil
}

// Record writes x as one line. Errors are counted and kept, not returned
// (see [Writer]). A nil x writes nothing.
func (s *Writer) Record(x *bodytap.Exchange) {
	if x == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.fail(ErrClosed)
		return
	}
	line, err := Append(s.buf[:0], x)
	if err != nil {
		s.fail(fmt.Errorf("jsonl: encode exchange %s: %w", x.ID, err))
		return
	}
	line = append(line, '\n')
	s.buf = line
	if s.file != nil {
		need := int64(len(line))
		if s.partial {
			need++
		}
		rotated, err := s.file.makeRoom(need)
		if rotated {
			s.rotations.Add(1)
			s.partial = false // the broken line ended with its file
		}
		if err != nil {
			s.setErr(fmt.Errorf("jsonl: file: %w", err))
			if s.file.f == nil {
				s.failed.Add(1)
				return
			}
		}
	}
	if s.partial {
		n, err := s.w.Write([]byte{'\n'})
		s.bytes.Add(int64(n))
		if err != nil || n != 1 {
			s.fail(writeErr(err))
			return
		}
		s.partial = false
	}
	n, err := s.w.Write(line)
	s.bytes.Add(int64(n))
	if err != nil || n != len(line) {
		s.partial = 0 < n && n < len(line)
		s.fail(writeErr(err))
		return
	}
	s.written.Add(1)
}

func writeErr(err error) error {
	if err == nil {
		err = io.ErrShortWrite
	}
	return fmt.Errorf("jsonl: write: %w", err)
}

// fail counts a lost record and keeps err.
func (s *Writer) fail(err error) {
	s.failed.Add(1)
	s.setErr(err)
}

func (s *Writer) setErr(err error) {
	s.errMu.Lock()
	s.err = err
	s.errMu.Unlock()
}

// Err returns the most recent error the sink met, nil if none. An error
// stays until another replaces it, even if writing has resumed since:
// compare [Writer.Stats] over time to see whether records are still
// being lost.
func (s *Writer) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Stats returns the sink's counters. It does not wait for a write in
// progress.
func (s *Writer) Stats() Stats {
	return Stats{
		Written:   s.written.Load(),
		Failed:    s.failed.Load(),
		Bytes:     s.bytes.Load(),
		Rotations: s.rotations.Load(),
	}
}

// Close flushes what the sink has written to its destination: it syncs and
// closes a file opened by [OpenFile], or calls Flush on a writer
// that has that method. Records given to the sink after Close are counted
// as failed. Close the Tap first, so that every queued exchange is written.
// A second Close returns [ErrClosed].
func (s *Writer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	var err error
	switch {
	case s.file != nil:
		err = s.file.close()
	default:
		if f, ok := s.w.(interface{ Flush() error }); ok {
			err = f.Flush()
		}
	}
	if err != nil {
		err = fmt.Errorf("jsonl: close: %w", err)
		s.setErr(err)
	}
	return err
}

// rotatingFile is the file behind OpenFile. Its owner serializes
// calls.
type rotatingFile struct {
	path string
	max  int64
	keep int
	f    *os.File // nil after a failure closed it
	size int64
}

func (rf *rotatingFile) open() error {
	f, err := os.OpenFile(rf.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	rf.f, rf.size = f, fi.Size()
	return nil
}

// Write writes p to the file, which makeRoom has readied.
func (rf *rotatingFile) Write(p []byte) (int, error) {
	if rf.f == nil {
		return 0, fs.ErrClosed
	}
	n, err := rf.f.Write(p)
	rf.size += int64(n)
	return n, err
}

// makeRoom readies the file for a write of n bytes: it reopens the file if
// a failure closed it, and rotates it first if n more bytes would take it
// past max. rotated reports a rotation done; on error, rf.f is still
// usable if it is not nil.
func (rf *rotatingFile) makeRoom(n int64) (rotated bool, err error) {
	if rf.f == nil {
		if err := rf.open(); err != nil {
			return false, err
		}
	}
	if rf.max <= 0 || rf.size == 0 || rf.size+n <= rf.max {
		return false, nil
	}
	if err := rf.rotate(); err != nil {
		return false, fmt.Errorf("rotate %s: %w", rf.path, err)
	}
	return true, nil
}

// rotate closes the file, shifts the old files up by one and starts a new
// file. If the shift fails, it reopens the file it had, to go on appending.
func (rf *rotatingFile) rotate() error {
	cerr := rf.f.Close()
	rf.f = nil
	if err := rf.shift(); err != nil {
		if oerr := rf.open(); oerr != nil {
			return errors.Join(err, oerr)
		}
		return err
	}
	if err := rf.open(); err != nil {
		return err
	}
	return cerr
}

func (rf *rotatingFile) shift() error {
	if rf.keep <= 0 {
		return os.Remove(rf.path)
	}
	if err := os.Remove(rf.name(rf.keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for i := rf.keep - 1; i >= 1; i-- {
		if err := os.Rename(rf.name(i), rf.name(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Rename(rf.path, rf.name(1))
}

func (rf *rotatingFile) name(i int) string { return rf.path + "." + strconv.Itoa(i) }

func (rf *rotatingFile) close() error {
	if rf.f == nil {
		return nil
	}
	err := rf.f.Sync()
	if cerr := rf.f.Close(); err == nil {
		err = cerr
	}
	rf.f = nil
	return err
}
