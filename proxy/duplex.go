package proxy

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// An HTTP/1 request body is read by the transport's goroutine, which
// sends it upstream, and the proxy's server is in full duplex mode (see
// Proxy.forward), so the response can be over while the transport still
// waits for the client's next bytes of the body: the upstream answered
// without reading it all. The server must not be reading the connection
// for the body when the handler returns: it then interrupts that read to
// read the rest of the body itself, the connection's reader keeps the
// interruption as its error, and the server, finding no error of its own,
// keeps the connection for the next request and parses the rest of the
// body as one (it answers 400 and closes at once, and the client, still
// sending, gets a reset instead of the response it was about to read; see
// also golang.org/issue/68560). duplexBody notes whether a read is under
// way; if one is when the handler returns, the proxy has the server end
// the connection after the response, as a server that did not read a body
// does.

// errBodyAfterResponse is what the transport gets for a read of the
// request body after the handler returned.
var errBodyAfterResponse = errors.New("bodytap proxy: request body read after the response")

// duplexBody is an HTTP/1 request body that knows whether a read is under
// way.
type duplexBody struct {
	rc      io.ReadCloser
	mu      sync.Mutex
	reading bool // a Read is under way
	stopped bool // the handler returned: no more reads
}

func (b *duplexBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return 0, errBodyAfterResponse
	}
	b.reading = true
	b.mu.Unlock()
	n, err := b.rc.Read(p)
	b.mu.Lock()
	b.reading = false
	b.mu.Unlock()
	return n, err
}

func (b *duplexBody) Close() error { return b.rc.Close() }

// stop ends reads, and reports whether one was under way. A body the
// proxy did not wrap (HTTP/2, no body) has none.
func (b *duplexBody) stop() (reading bool) {
	if b.rc == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	return b.reading
}

// endConnection has the server that w belongs to close the connection
// once the response is out, with the care it takes for a client still
// sending: it sends its FIN and waits a moment before closing, so that the
// client reads the response before any reset. http.MaxBytesReader is the
// one way a handler has to ask for that once the headers are gone: past
// its limit it tells the ResponseWriter to close the connection. Only the
// server's own ResponseWriter hears it, so w is unwrapped down to it
// (middleware around the proxy that hides it leaves the server to answer
// as it would have).
func endConnection(w http.ResponseWriter) {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	io.Copy(io.Discard, http.MaxBytesReader(w, io.NopCloser(strings.NewReader("x")), 0))
}
