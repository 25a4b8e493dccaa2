package bodytap

import (
	"net/url"
	"sync"
)

// maxStock bounds the rws a Tap's stock keeps.
const maxStock = 4096

// maxStockSpare bounds the bytes of the spare body buffers (those grown
// past the inline ones, see rw.keepSpares) that the rws in a stock hold
// together.
const maxStockSpare = 16 << 20

// A stock holds the rws of a Tap that reuses exchanges once their sink is
// done with them, for the Tap's next requests. The delivery goroutine
// fills it a batch at a time; the request path takes from it one rw
// each. rwPool alone would do, but a sync.Pool empties itself at every
// other garbage collection, and with a batch of exchanges in flight
// between the request path and the sink (a millisecond of requests, see
// linger) the next batch then finds the pool short and allocates rws
// anew: in process with 1 KiB bodies, one request in sixteen did, an
// eighth of the bytes the Tap allocated.
//
// The stock keeps at most maxStock rws (13 MiB without spare buffers),
// and about four times the largest recent batch: batches vary a lot in
// size when the delivery goroutine waits for a processor, and what the
// stock holds beyond the recent ones falls by a thirty-second each
// batch. Their spare body buffers count against maxStockSpare: an rw
// whose spares would pass it goes to rwPool instead. Large bodies need
// the stock most: with 1 MiB bodies copied up to 64 KiB, a garbage
// collection comes every few requests, and when every collection took
// the rws that held spares (in rwPool), each request allocated its two
// 64 KiB copies again, and the heap, churned by them, was returned to
// the operating system and faulted back in about a megabyte at a time
// (GODEBUG=scavtrace=1): in process at 1 MiB without redaction, a
// median 499 µs of CPU a request with the spares in rwPool, 402 µs with
// them in the stock (8 alternated rounds).
type stock struct {
	mu    sync.Mutex
	rws   []*rw
	spare int64 // bytes of the spares that rws hold

	_     [64]byte // the request path never needs to fetch what follows
	freed []*rw    // the rws of the batch being delivered; the delivery goroutine's
	over  []*rw    // those fill passes to rwPool; the delivery goroutine's
	keep  int      // how many the stock keeps; the delivery goroutine's
}

// spareBytes is what c's spare body buffers hold.
func (c *rw) spareBytes() int64 {
	return int64(cap(c.own.reqSpare) + cap(c.own.respSpare))
}

// get returns an rw from the stock, or from rwPool if it is empty.
func (s *stock) get() *rw {
	s.mu.Lock()
	if n := len(s.rws); n > 0 {
		c := s.rws[n-1]
		s.rws[n-1] = nil
		s.rws = s.rws[:n-1]
		s.spare -= c.spareBytes()
		s.mu.Unlock()
		return c
	}
	s.mu.Unlock()
	return rwPool.Get().(*rw)
}

// recycle sets x's rw aside for the stock, with x's spill files removed,
// if the Tap reuses exchanges. It is reuse for the delivery goroutine,
// which then calls fill once per batch.
func (s *stock) recycle(x *Exchange) {
	c := x.owner
	if c == nil {
		return
	}
	x.Release()
	c.forget()
	s.freed = append(s.freed, c)
}

// forget drops what c's record holds of its last request besides its
// own memory: the request's URL, header map and strings, and the values
// of the response header snapshot. Until the rw is reused, they would
// stay reachable from the stock, and the garbage collector would mark
// them in every cycle instead of freeing them. begin writes the request
// and its URL anew, and a snapshot the values.
func (c *rw) forget() {
	c.own.x.Request = Request{}
	c.own.x.url = url.URL{}
	clear(c.own.vals[:])
}

// fill puts the rws that recycle set aside in the stock, after a batch
// of batch exchanges, keeping what the stock keeps; the rest go to
// rwPool.
func (s *stock) fill(batch int) {
	s.keep = min(maxStock, max(4*batch, s.keep-(s.keep+31)/32))
	keep := s.keep
	s.mu.Lock()
	for _, c := range s.freed {
		b := c.spareBytes()
		if b > 0 && s.spare+b > maxStockSpare {
			s.over = append(s.over, c)
			continue
		}
		s.rws = append(s.rws, c)
		s.spare += b
	}
	if n := len(s.rws); n > keep {
		for _, c := range s.rws[keep:] {
			s.spare -= c.spareBytes()
		}
		s.over = append(s.over, s.rws[keep:]...)
		clear(s.rws[keep:])
		s.rws = s.rws[:keep]
	}
	s.mu.Unlock()
	for _, c := range s.over {
		rwPool.Put(c)
	}
	clear(s.over)
	s.over = s.over[:0]
	clear(s.freed)
	s.freed = s.freed[:0]
}
