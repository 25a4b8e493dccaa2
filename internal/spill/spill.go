// Package spill holds the disk side of bodytap's capture policy: copies of
// bodies that go on past the memory cap into temporary files, within a cap
// per body and a quota for all of them.
package spill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
)

// Spill files are named so that New can find the ones a crashed process
// left behind.
const pattern = "bodytap-*.spill"

// ErrQuota is the error of a copy that stopped because the quota or the
// per-body cap was reached.
var ErrQuota = errors.New("bodytap: spill quota reached")

// ErrReleased is returned by File.Open after File.Release.
var ErrReleased = errors.New("bodytap: body already released")

// A Dir is where copies past the memory cap go, and how much of the disk
// they may take.
type Dir struct {
	dir   string
	max   int64 // per body
	quota int64 // all bodies
	used  atomic.Int64
}

// New returns the Dir dir, or nil when dir is "" (spilling is off). It
// removes the spill files an earlier process left in dir. max and quota
// must be positive.
func New(dir string, max, quota int64) *Dir {
	if dir == "" {
		return nil
	}
	os.MkdirAll(dir, 0o700)
	if old, err := filepath.Glob(filepath.Join(dir, pattern)); err == nil {
		for _, f := range old {
			os.Remove(f)
		}
	}
	return &Dir{dir: dir, max: max, quota: quota}
}

// reserve takes up to n bytes of the quota and returns how many it took.
func (d *Dir) reserve(n int64) int64 {
	for n > 0 {
		u := d.used.Load()
		k := min(n, d.quota-u)
		if k <= 0 {
			return 0
		}
		if d.used.CompareAndSwap(u, u+k) {
			return k
		}
	}
	return n
}

// A File is the disk part of a body copy: the bytes after those kept in
// memory.
type File struct {
	mu       sync.Mutex
	path     string
	size     int64
	d        *Dir
	released bool
	cleanup  runtime.Cleanup
}

// Size is the number of bytes in the file.
func (f *File) Size() int64 { return f.size }

// Open opens the file for reading; it fails with ErrReleased once the file
// is released.
func (f *File) Open() (*os.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.released {
		return nil, ErrReleased
	}
	r, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("bodytap: open spilled body: %w", err)
	}
	return r, nil
}

// Release removes the file and gives its bytes back to the quota. It is
// safe to call more than once.
func (f *File) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.released {
		return
	}
	f.released = true
	f.cleanup.Stop()
	remove(ref{f.path, f.size, f.d})
}

// A Writer writes one body's spill file, within the per-body cap and the
// quota. Its zero value with a nil Dir writes nothing.
type Writer struct {
	d    *Dir
	f    *os.File
	file *File
	err  error
	done bool // stopped: cap, quota or error
}

// Reset readies w for a new body spilling into d; off (or a nil d) keeps it
// from spilling at all.
func (w *Writer) Reset(d *Dir, off bool) { *w = Writer{d: d, done: d == nil || off} }

// Stop stops w from spilling any more.
func (w *Writer) Stop() { w.done = true }

// Active reports whether w may still spill.
func (w *Writer) Active() bool { return !w.done }

// Room is how many more bytes w may spill under the per-body cap.
func (w *Writer) Room() int64 {
	if w.done {
		return 0
	}
	var used int64
	if w.file != nil {
		used = w.file.size
	}
	return w.d.max - used
}

// Err is why w stopped, if it stopped on a quota or an error.
func (w *Writer) Err() error { return w.err }

// Write appends p to the spill file, within the per-body cap and the
// quota; past them it stops and notes why.
func (w *Writer) Write(p []byte) {
	if w.done || len(p) == 0 {
		return
	}
	var size int64
	if w.file != nil {
		size = w.file.size
	}
	n := min(int64(len(p)), w.d.max-size)
	n = w.d.reserve(n)
	if n <= 0 {
		w.stop(ErrQuota)
		return
	}
	if w.f == nil {
		f, err := os.CreateTemp(w.d.dir, pattern)
		if err != nil {
			w.d.used.Add(-n)
			w.stop(fmt.Errorf("bodytap: spill: %w", err))
			return
		}
		w.f = f
		w.file = &File{path: f.Name(), d: w.d}
	}
	m, err := w.f.Write(p[:n])
	w.file.size += int64(m)
	if int64(m) < n {
		w.d.used.Add(int64(m) - n)
	}
	if err != nil {
		w.stop(fmt.Errorf("bodytap: spill: %w", err))
	} else if int64(m) < int64(len(p)) {
		w.stop(ErrQuota)
	}
}

func (w *Writer) stop(err error) {
	w.done = true
	if w.err == nil {
		w.err = err
	}
}

// Finish closes the file being written and returns it, set up to be
// removed when released or garbage collected; nil if nothing spilled.
func (w *Writer) Finish() *File {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	f := w.file
	if f == nil {
		return nil
	}
	if f.size == 0 {
		f.Release()
		return nil
	}
	f.cleanup = runtime.AddCleanup(f, remove, ref{f.path, f.size, f.d})
	return f
}

// ref is what removing a file needs, without the File itself (so that a
// cleanup does not keep it alive).
type ref struct {
	path string
	size int64
	d    *Dir
}

func remove(r ref) {
	os.Remove(r.path)
	r.d.used.Add(-r.size)
}
