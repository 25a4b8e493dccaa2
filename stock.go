package bodytap

import "sync"

// maxStock bounds the rws a Tap's stock keeps.
const maxStock = 4096

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
// The stock keeps only rws without spare body buffers (those go to
// rwPool), at most maxStock of them (13 MiB), and about four times the
// largest recent batch: batches vary a lot in size when the delivery
// goroutine waits for a processor, and what the stock holds beyond the
// recent ones falls by a thirty-second each batch.
type stock struct {
	mu  sync.Mutex
	rws []*rw

	_     [64]byte // the request path never needs to fetch what follows
	freed []*rw    // the rws of the batch being delivered; the delivery goroutine's
	keep  int      // how many the stock keeps; the delivery goroutine's
}

// get returns an rw from the stock, or from rwPool if it is empty.
func (s *stock) get() *rw {
	s.mu.Lock()
	if n := len(s.rws); n > 0 {
		c := s.rws[n-1]
		s.rws[n-1] = nil
		s.rws = s.rws[:n-1]
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
	if c.own.reqSpare != nil || c.own.respSpare != nil {
		c.recycle()
		return
	}
	s.freed = append(s.freed, c)
}

// fill puts the rws that recycle set aside in the stock, after a batch
// of batch exchanges, keeping what the stock keeps; the rest go to
// rwPool.
func (s *stock) fill(batch int) {
	s.keep = min(maxStock, max(4*batch, s.keep-(s.keep+31)/32))
	keep := s.keep
	s.mu.Lock()
	s.rws = append(s.rws, s.freed...)
	var over []*rw
	if n := len(s.rws); n > keep {
		over = s.rws[keep:]
		s.rws = s.rws[:keep]
	}
	s.mu.Unlock()
	for i, c := range over {
		rwPool.Put(c)
		over[i] = nil
	}
	clear(s.freed)
	s.freed = s.freed[:0]
}
