package bodytap

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// errBodyAfterReturn is what a request body read after the handler
// returned gets: the server has closed the body by then anyway.
var errBodyAfterReturn = errors.New("bodytap: read of request body after the handler returned")

// reqBody is the request body the handler reads: it returns exactly what
// the original body returns and keeps a bounded copy in c. It never reads
// ahead: what the handler leaves unread stays unread.
//
// It lives in the request's record, not in the pooled rw, because the
// handler may hold on to it (and read from it, wrongly) after it
// returned; seal cuts it from the rw, whose capture c is then another
// request's.
type reqBody struct {
	rc     io.ReadCloser
	sealed atomic.Bool

	mu  sync.Mutex // guards c and eof; a handler may read from another goroutine
	c   *capture   // nil once sealed
	eof bool
}

func (b *reqBody) init(rc io.ReadCloser, c *capture) {
	b.rc = rc
	b.c = c
}

func (b *reqBody) Read(p []byte) (int, error) {
	if b.sealed.Load() {
		return 0, errBodyAfterReturn
	}
	n, err := b.rc.Read(p)
	b.mu.Lock()
	if b.c != nil {
		b.c.keep(p[:n])
		if err == io.EOF {
			b.eof = true
		}
	}
	b.mu.Unlock()
	return n, err
}

func (b *reqBody) Close() error {
	if b.sealed.Load() {
		return nil
	}
	return b.rc.Close()
}

// seal stops the copy and drops the reference to the capture, and
// reports whether the body was read to its end. Reads after it fail.
func (b *reqBody) seal() (eof bool) {
	b.sealed.Store(true)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.c = nil
	return b.eof
}
