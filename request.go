package bodytap

import (
	"errors"
	"io"
	"sync"

	"github.com/bodytap/bodytap/internal/spill"
)

// errBodyAfterReturn is what a request body read after the handler
// returned gets: the server has closed the body by then anyway.
var errBodyAfterReturn = errors.New("bodytap: read of request body after the handler returned")

// reqTee is the request body the handler reads: it returns exactly what
// the original body returns and keeps a bounded copy on the side. It never
// reads ahead: what the handler leaves unread stays unread.
type reqTee struct {
	mu     sync.Mutex // guards all below; a handler may read from another goroutine
	rc     io.ReadCloser
	c      capture
	eof    bool
	sealed bool
	inline [inlineBytes]byte
}

func (b *reqTee) init(rc io.ReadCloser, max, contentLength int64, sp *spill.Dir) {
	b.rc = rc
	b.c.reset(max, b.inline[:], sp)
	if contentLength > 0 {
		b.c.hint = contentLength
	}
}

func (b *reqTee) Read(p []byte) (int, error) {
	b.mu.Lock()
	rc := b.rc
	b.mu.Unlock()
	if rc == nil {
		return 0, errBodyAfterReturn
	}
	n, err := rc.Read(p)
	b.mu.Lock()
	if !b.sealed {
		b.c.keep(p[:n])
		if err == io.EOF {
			b.eof = true
		}
	}
	b.mu.Unlock()
	return n, err
}

func (b *reqTee) Close() error {
	b.mu.Lock()
	rc := b.rc
	b.mu.Unlock()
	if rc == nil {
		return nil
	}
	return rc.Close()
}

// seal stops the copy and drops the reference to the original body, and
// returns what was captured. Reads after it fail.
func (b *reqTee) seal() Body {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sealed = true
	b.rc = nil
	return b.c.body(b.eof)
}
