package bodytap

import (
	"bytes"
	"io"

	"github.com/bodytap/bodytap/internal/spill"
)

// ErrSpillQuota is recorded in Body.Err when a copy stopped because the
// spill quota or the per-body disk cap was reached.
var ErrSpillQuota = spill.ErrQuota

// ErrReleased is returned by Body.Open after Body.Release.
var ErrReleased = spill.ErrReleased

// Default bounds of spilling, used when SpillDir is set and
// Config.MaxSpillBytes or Config.SpillQuota is zero.
const (
	DefaultMaxSpillBytes = 1 << 30
	DefaultSpillQuota    = 8 << 30
)

// Open returns a reader of the whole kept copy: Bytes followed by the part
// spilled to disk past the memory cap, if any (see Config.SpillDir).
func (b *Body) Open() (io.ReadCloser, error) {
	if b.spill == nil {
		return io.NopCloser(bytes.NewReader(b.Bytes)), nil
	}
	f, err := b.spill.Open()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b.Bytes), f), f}, nil
}

// Spilled is the number of bytes of the copy on disk, after Bytes.
func (b *Body) Spilled() int64 {
	if b.spill == nil {
		return 0
	}
	return b.spill.Size()
}

// Release removes the body's spill file, if any. A sink that is done with
// an Exchange should release both bodies; spill files not released are
// removed when the Exchange is garbage collected, and at the next start.
// Reading a released body's Bytes still works; Open fails.
func (b *Body) Release() {
	if b.spill != nil {
		b.spill.Release()
	}
}

// Release releases both bodies; see [Body.Release].
func (x *Exchange) Release() {
	x.Request.Body.Release()
	x.Response.Body.Release()
}
