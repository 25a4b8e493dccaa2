package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bodytap/bodytap"
)

// ErrClosed is returned by the methods of a [Writer] that is closed.
var ErrClosed = errors.New("har: writer closed")

// SyncInterval is how long at most an entry written by a file [Writer]
// ([Create], [OpenFile]) waits before the file is synced to stable storage.
const SyncInterval = time.Second

// modulePath is the module whose version goes in the creator object.
const modulePath = "github.com/bodytap/bodytap"

// tail closes the document after the last entry.
const tail = "\n]}}\n"

// A Writer writes a HAR file entry by entry as exchanges arrive. It is a
// [bodytap.Sink]: give it to [bodytap.Config] to record every exchange.
// Its methods are safe for concurrent use.
//
// A Writer made by [NewWriter] streams to any io.Writer: the document is
// complete once Close has written its end. One made by [Create] or
// [OpenFile] writes a file that is a complete, valid HAR document after
// every entry, so that a process that stops at any point leaves a file
// that tools can open; see the package documentation.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer // stream mode
	f      *os.File  // file mode
	pos    int64     // file mode: where the next entry goes
	tail   []byte    // file mode: what follows the entries
	header bool      // stream mode: the document's head is written
	n      int       // entries written
	err    error     // the first write error, returned from then on
	closed bool
	timer  *time.Timer // file mode: the pending sync
	buf    bytes.Buffer
	enc    *json.Encoder
}

var _ bodytap.Sink = (*Writer)(nil)

// NewWriter returns a Writer that writes a HAR document to w: its head
// with the first entry (or on Close), then each entry as it arrives, then
// its end on Close. Each write to w is one whole entry. Close does not
// close w.
func NewWriter(w io.Writer) *Writer {
	hw := &Writer{w: w}
	hw.enc = json.NewEncoder(&hw.buf)
	hw.enc.SetEscapeHTML(false)
	return hw
}

// Create creates the HAR file at path, or truncates it, and returns a
// Writer that adds entries to it. The file is readable by its owner only
// (mode 0600, before umask), since it holds request and response bodies.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("har: %w", err)
	}
	w, err := newFileWriter(f, 0)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("har: create %s: %w", path, err)
	}
	return w, nil
}

// OpenFile opens the HAR file at path to add entries after those it holds,
// creating it if it does not exist. A file that a process left damaged
// (cut in the middle of an entry, as by a crash or a full disk) is
// repaired first: it is cut back to its last complete entry and closed
// again, so that every complete entry is kept. A file that is not a HAR
// document is left alone and an error returned.
//
// Only one Writer may write a file at a time.
func OpenFile(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("har: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("har: %w", err)
	}
	w, err := newFileWriter(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("har: open %s: %w", path, err)
	}
	return w, nil
}

// newFileWriter returns a Writer that adds entries to f, which holds size
// bytes: none (a new file), or a HAR document to repair and go on with.
func newFileWriter(f *os.File, size int64) (*Writer, error) {
	w := NewWriter(nil)
	w.f = f
	var p place
	if size > 0 {
		var err error
		if p, err = scan(f, size); err != nil {
			return nil, err
		}
	}
	if p.pos == 0 {
		// A new file, or one that died before its first entry.
		head := docHead()
		if _, err := f.WriteAt(head, 0); err != nil {
			return nil, err
		}
		p = place{pos: int64(len(head)), tail: []byte(tail)}
	}
	w.pos, w.n, w.tail = p.pos, p.n, p.tail
	if _, err := f.WriteAt(w.tail, w.pos); err != nil {
		return nil, err
	}
	if err := f.Truncate(w.pos + int64(len(w.tail))); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return w, nil
}

// Record writes the entry for x, then releases x's bodies (see
// [bodytap.Exchange.Release]). It is how a Writer serves as a
// [bodytap.Sink]; a write error is kept and returned by [Writer.Err] and
// [Writer.Close].
func (w *Writer) Record(x *bodytap.Exchange) {
	_ = w.WriteEntry(FromExchange(x))
	x.Release()
}

// WriteEntry writes e as the next entry. An error encoding e leaves the
// Writer as it was; an error writing is kept and returned from then on.
func (w *Writer) WriteEntry(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	w.buf.Reset()
	if w.f == nil && !w.header {
		w.buf.Write(docHead())
	}
	if w.n > 0 {
		w.buf.WriteByte(',')
	}
	w.buf.WriteByte('\n')
	if err := w.enc.Encode(e); err != nil {
		return fmt.Errorf("har: encode entry: %w", err)
	}
	w.buf.Truncate(w.buf.Len() - 1) // Encode's newline
	size := int64(w.buf.Len())

	if w.f == nil {
		if _, err := w.w.Write(w.buf.Bytes()); err != nil {
			w.err = fmt.Errorf("har: write: %w", err)
			return w.err
		}
		w.header = true
		w.n++
		return nil
	}

	// The entry and the tail go in one write over the old tail: the file
	// is a complete document before it and after it, and a write cut
	// short is what OpenFile repairs.
	w.buf.Write(w.tail)
	if _, err := w.f.WriteAt(w.buf.Bytes(), w.pos); err != nil {
		w.err = fmt.Errorf("har: write: %w", err)
		return w.err
	}
	w.pos += size
	w.n++
	if w.timer == nil {
		w.timer = time.AfterFunc(SyncInterval, w.timedSync)
	}
	return nil
}

func (w *Writer) timedSync() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.timer == nil {
		return
	}
	w.syncLocked()
}

// syncLocked syncs the file and keeps the error; w.mu is held.
func (w *Writer) syncLocked() error {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if err := w.f.Sync(); err != nil && w.err == nil {
		w.err = fmt.Errorf("har: sync: %w", err)
	}
	return w.err
}

// Sync commits the entries written so far to stable storage: for a file
// Writer it syncs the file, which otherwise happens within [SyncInterval]
// of a write and on Close. For a stream Writer it does nothing. It
// returns the Writer's error, if any.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.f == nil {
		return w.err
	}
	return w.syncLocked()
}

// Err returns the first error writing, if any. Record has no way to
// return it, so check it here or in Close's result.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close completes the document: a stream Writer writes its end (and its
// head, if no entry came), a file Writer syncs and closes its file. It
// returns the first error the Writer met, or ErrClosed if it was already
// closed. Entries recorded after Close are dropped.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if w.f != nil {
		w.syncLocked()
		if err := w.f.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("har: close: %w", err)
		}
		return w.err
	}
	if w.err != nil {
		return w.err
	}
	var end []byte
	if !w.header {
		end = docHead()
	}
	end = append(end, tail...)
	if _, err := w.w.Write(end); err != nil {
		w.err = fmt.Errorf("har: write: %w", err)
	}
	return w.err
}

// docHead returns the start of a document, up to its entries array.
func docHead() []byte {
	c, _ := json.Marshal(creator())
	return fmt.Appendf(nil, `{"log":{"version":%q,"creator":%s,"entries":[`, Version, c)
}

var creator = sync.OnceValue(func() Creator {
	c := Creator{Name: "bodytap", Version: "(devel)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return c
	}
	v := ""
	if bi.Main.Path == modulePath {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			v = d.Version
			if d.Replace != nil && d.Replace.Version != "" {
				v = d.Replace.Version
			}
		}
	}
	if v != "" {
		c.Version = v
	}
	return c
})
