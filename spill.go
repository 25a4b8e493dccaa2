package bodytap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
)

// Spill files are named so that New can find the ones a crashed process
// left behind.
const spillPattern = "bodytap-*.spill"

// ErrSpillQuota is recorded in Body.Err when a copy stopped because the
// spill quota or the per-body disk cap was reached.
var ErrSpillQuota = errors.New("bodytap: spill quota reached")

// ErrReleased is returned by Body.Open after Body.Release.
var ErrReleased = errors.New("bodytap: body already released")

// A spiller holds the disk side of the capture policy: where copies past
// the memory cap go, and how much of the disk they may take.
type spiller struct {
	dir   string
	max   int64 // per body
	quota int64 // all bodies
	used  atomic.Int64
}

// newSpiller returns nil when spilling is off. It removes spill files left
// in dir by an earlier process.
func newSpiller(dir string, max, quota int64) *spiller {
	if dir == "" {
		return nil
	}
	if max <= 0 {
		max = DefaultMaxSpillBytes
	}
	if quota <= 0 {
		quota = DefaultSpillQuota
	}
	os.MkdirAll(dir, 0o700)
	if old, err := filepath.Glob(filepath.Join(dir, spillPattern)); err == nil {
		for _, f := range old {
			os.Remove(f)
		}
	}
	return &spiller{dir: dir, max: max, quota: quota}
}

// Default bounds of spilling, used when SpillDir is set and
// Config.MaxSpillBytes or Config.SpillQuota is zero.
const (
	DefaultMaxSpillBytes = 1 << 30
	DefaultSpillQuota    = 8 << 30
)

// reserve takes up to n bytes of the quota and returns how many it took.
func (sp *spiller) reserve(n int64) int64 {
	for n > 0 {
		u := sp.used.Load()
		k := min(n, sp.quota-u)
		if k <= 0 {
			return 0
		}
		if sp.used.CompareAndSwap(u, u+k) {
			return k
		}
	}
	return n
}

// spillFile is the disk part of a body copy: the bytes after Body.Bytes.
type spillFile struct {
	mu       sync.Mutex
	path     string
	size     int64
	sp       *spiller
	released bool
	cleanup  runtime.Cleanup
}

// spillState is what a capture keeps while writing its spill file.
type spillState struct {
	sp   *spiller
	f    *os.File
	file *spillFile
	err  error
	done bool // stopped: cap, quota or error
}

// write appends p to the spill file, within the per-body cap and the
// quota. It reports how many bytes it kept.
func (s *spillState) write(p []byte) {
	if s.done || len(p) == 0 {
		return
	}
	var size int64
	if s.file != nil {
		size = s.file.size
	}
	n := int64(len(p))
	if size+n > s.sp.max {
		n = s.sp.max - size
	}
	n = s.sp.reserve(n)
	if n <= 0 {
		s.stop(ErrSpillQuota)
		return
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.sp.dir, spillPattern)
		if err != nil {
			s.sp.used.Add(-n)
			s.stop(fmt.Errorf("bodytap: spill: %w", err))
			return
		}
		s.f = f
		s.file = &spillFile{path: f.Name(), sp: s.sp}
	}
	m, err := s.f.Write(p[:n])
	s.file.size += int64(m)
	if int64(m) < n {
		s.sp.used.Add(int64(m) - n)
	}
	if err != nil {
		s.stop(fmt.Errorf("bodytap: spill: %w", err))
	} else if int64(m) < int64(len(p)) {
		s.stop(ErrSpillQuota)
	}
}

func (s *spillState) stop(err error) {
	s.done = true
	if s.err == nil {
		s.err = err
	}
}

// finish closes the file being written and returns it, set up to be
// removed when the Body is released or garbage collected.
func (s *spillState) finish() *spillFile {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	sf := s.file
	if sf == nil {
		return nil
	}
	if sf.size == 0 {
		sf.release()
		return nil
	}
	sf.cleanup = runtime.AddCleanup(sf, removeSpill, spillRef{sf.path, sf.size, sf.sp})
	return sf
}

type spillRef struct {
	path string
	size int64
	sp   *spiller
}

func removeSpill(r spillRef) {
	os.Remove(r.path)
	r.sp.used.Add(-r.size)
}

func (sf *spillFile) release() {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if sf.released {
		return
	}
	sf.released = true
	sf.cleanup.Stop()
	removeSpill(spillRef{sf.path, sf.size, sf.sp})
}

// Open returns a reader of the whole kept copy: Bytes followed by the part
// spilled to disk past the memory cap, if any (see Config.SpillDir).
func (b *Body) Open() (io.ReadCloser, error) {
	if b.spill == nil {
		return io.NopCloser(bytes.NewReader(b.Bytes)), nil
	}
	b.spill.mu.Lock()
	defer b.spill.mu.Unlock()
	if b.spill.released {
		return nil, ErrReleased
	}
	f, err := os.Open(b.spill.path)
	if err != nil {
		return nil, fmt.Errorf("bodytap: open spilled body: %w", err)
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
	return b.spill.size
}

// Release removes the body's spill file, if any. A sink that is done with
// an Exchange should release both bodies; spill files not released are
// removed when the Exchange is garbage collected, and at the next start.
// Reading a released body's Bytes still works; Open fails.
func (b *Body) Release() {
	if b.spill != nil {
		b.spill.release()
	}
}

// Release releases both bodies; see [Body.Release].
func (x *Exchange) Release() {
	x.Request.Body.Release()
	x.Response.Body.Release()
}
