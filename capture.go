package bodytap

import "github.com/bodytap/bodytap/internal/spill"

// inlineBytes is the room for a body copy held inside the per-request
// state itself, so that small bodies cost no allocation of their own.
const inlineBytes = 1 << 10

// A capture is the bounded copy of one body: the first max bytes, and the
// count of all of them.
type capture struct {
	buf  []byte
	max  int64 // bytes to keep; < 0 keeps none
	size int64 // bytes that passed
	hint int64 // expected size if known (Content-Length), else 0
	sp   spill.Writer
}

// reset prepares c to keep up to max bytes, starting in the inline
// storage.
func (c *capture) reset(max int64, inline []byte, sp *spill.Dir) {
	c.max = max
	c.buf = inline[:0]
	c.size = 0
	c.hint = 0
	c.sp.Reset(sp, max < 0)
}

// stop keeps no more bytes, in memory or on disk.
func (c *capture) stop() {
	c.max = -1
	c.buf = nil
	c.sp.Stop()
}

// room is how many more bytes c would keep in memory.
func (c *capture) room() int64 {
	if c.max < 0 {
		return 0
	}
	return c.max - int64(len(c.buf))
}

// roomWithSpill is room plus what the spill file could still take.
func (c *capture) roomWithSpill() int64 {
	return c.room() + c.sp.Room()
}

// keep counts p and copies what fits under the cap.
func (c *capture) keep(p []byte) {
	c.size += int64(len(p))
	c.save(p)
}

// save copies what of p fits under the cap, without counting it; past
// the cap, it goes on into the spill file if there is one.
func (c *capture) save(p []byte) {
	if n := len(c.buf) + len(p); n <= cap(c.buf) && int64(n) <= c.max {
		// It fits in the buffer and under the cap: the common case,
		// with nothing to decide.
		c.buf = append(c.buf, p...)
		return
	}
	if r := c.room(); r > 0 && len(p) > 0 {
		k := min(int64(len(p)), r)
		if c.fresh(int(k)) {
			c.buf = append(c.buf[:len(c.buf):len(c.buf)], p[:k]...)
		} else {
			c.grow(int(k))
			c.buf = append(c.buf, p[:k]...)
		}
		p = p[k:]
	}
	if c.sp.Active() && len(p) > 0 {
		c.sp.Write(p)
	}
}

// keepString is keep for a string, without converting it.
func (c *capture) keepString(s string) {
	c.size += int64(len(s))
	if r := c.room(); r > 0 && len(s) > 0 {
		k := min(int64(len(s)), r)
		if c.fresh(int(k)) {
			c.buf = append(c.buf[:len(c.buf):len(c.buf)], s[:k]...)
		} else {
			c.grow(int(k))
			c.buf = append(c.buf, s[:k]...)
		}
		s = s[k:]
	}
	if c.sp.Active() && len(s) > 0 {
		c.sp.Write([]byte(s))
	}
}

// fresh reports whether n more bytes are best copied into a new buffer
// of exactly the size they make, by appending to a full slice: the copy
// then fills the buffer, which needs no clearing first (make would clear
// it all). That is when they more than double the copy, and nothing
// suggests that more will follow (they reach the cap, or the expected
// size); append's own growth then allocates just what is needed, never
// past the cap.
func (c *capture) fresh(n int) bool {
	need := len(c.buf) + n
	if need <= 2*cap(c.buf) {
		return false
	}
	return int64(need) >= c.max || c.hint <= int64(need)
}

// grow makes room for n more bytes without ever reserving more than the
// cap: append's own doubling could overshoot it by almost 2x.
func (c *capture) grow(n int) {
	need := len(c.buf) + n
	if need <= cap(c.buf) {
		return
	}
	size := max(2*cap(c.buf), need, 512)
	if c.hint > 0 && int64(size) < c.hint {
		size = int(min(c.hint, 1<<30))
	}
	if int64(size) > c.max {
		size = int(c.max)
	}
	b := make([]byte, len(c.buf), size)
	copy(b, c.buf)
	c.buf = b
}

// fill sets *b to the Body that c describes, in place (a Body is a dozen
// words: returned, it would be copied twice). eof says whether the whole
// body was seen.
func (c *capture) fill(b *Body, eof bool) {
	*b = Body{Size: c.size, EOF: eof}
	if len(c.buf) > 0 {
		b.Bytes = c.buf
	}
	b.spill = c.sp.Finish()
	b.Truncated = c.size > int64(len(c.buf))+b.Spilled()
	b.Err = c.sp.Err()
	if b.Err == ErrSpillQuota && !b.Truncated {
		b.Err = nil
	}
}
