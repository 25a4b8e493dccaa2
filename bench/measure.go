package bench

import (
	"io"
	"net"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A SendfileListener hands out connections that count how the response
// bytes reach the socket: through ReadFrom with a file as the source
// (which *net.TCPConn turns into sendfile), or any other way. net/http's
// server calls the connection's ReadFrom when a handler's io.Copy reaches
// its response's ReadFrom, so the count shows which middlewares keep that
// path open.
type SendfileListener struct {
	net.Listener
	FileBytes  atomic.Int64 // bytes copied by ReadFrom from a file
	OtherBytes atomic.Int64 // bytes written any other way
}

// Accept wraps the accepted TCP connection.
func (l *SendfileListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	return &countingConn{TCPConn: tc, l: l}, nil
}

// FileShare is the fraction of the bytes counted that went by file
// ReadFrom.
func (l *SendfileListener) FileShare() float64 {
	f, o := l.FileBytes.Load(), l.OtherBytes.Load()
	if f+o == 0 {
		return 0
	}
	return float64(f) / float64(f+o)
}

// countingConn is a *net.TCPConn (all its methods, CloseWrite included)
// that counts what it sends.
type countingConn struct {
	*net.TCPConn
	l *SendfileListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.TCPConn.Write(p)
	c.l.OtherBytes.Add(int64(n))
	return n, err
}

func (c *countingConn) ReadFrom(src io.Reader) (int64, error) {
	n, err := c.TCPConn.ReadFrom(src)
	if isFile(src) {
		c.l.FileBytes.Add(n)
	} else {
		c.l.OtherBytes.Add(n)
	}
	return n, err
}

// isFile reports whether src is a source that *net.TCPConn.ReadFrom sends
// with sendfile: a file (an *os.File, or the wrapper that os.File.WriteTo
// passes to io.Copy), possibly behind an *io.LimitedReader.
func isFile(src io.Reader) bool {
	if lr, ok := src.(*io.LimitedReader); ok {
		src = lr.R
	}
	if _, ok := src.(net.Conn); ok {
		return false // spliced, not sent from a file
	}
	_, ok := src.(syscall.Conn)
	return ok
}

// A HeapSampler records the high-water mark of the heap (bytes in live and
// not yet swept objects, as runtime.MemStats.HeapAlloc) while it runs,
// sampling every millisecond through runtime/metrics, which does not stop
// the world.
type HeapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

const heapMetric = "/memory/classes/heap/objects:bytes"

// StartHeapSampler collects garbage, then starts sampling.
func StartHeapSampler() *HeapSampler {
	runtime.GC()
	h := &HeapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s := []metrics.Sample{{Name: heapMetric}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// Stop stops sampling and returns the peak in bytes.
func (h *HeapSampler) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak.Load()
}
