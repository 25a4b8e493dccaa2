package testutil

import (
	"io"
	"net/http"
	"syscall"
)

// ReadFromCounter is a ResponseWriter that counts what reaches its Write
// and its ReadFrom, and whether a file reached ReadFrom as net's sendfile
// would see it. H must be set.
type ReadFromCounter struct {
	H            http.Header
	Writes       int64 // bytes written with Write
	ReadFromN    int64 // bytes copied by ReadFrom
	ReadFromCall int   // calls of ReadFrom
	SawFile      bool  // a ReadFrom call got a file
}

func (c *ReadFromCounter) Header() http.Header { return c.H }
func (c *ReadFromCounter) WriteHeader(int)     {}
func (c *ReadFromCounter) Write(p []byte) (int, error) {
	c.Writes += int64(len(p))
	return len(p), nil
}

func (c *ReadFromCounter) ReadFrom(src io.Reader) (int64, error) {
	c.ReadFromCall++
	// What net's sendfile looks for: an *os.File, or the wrapper io.Copy
	// hands over when it goes through (*os.File).WriteTo, under an
	// io.LimitedReader or not.
	r := src
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	if _, ok := r.(syscall.Conn); ok {
		c.SawFile = true
	}
	n, err := io.Copy(io.Discard, src)
	c.ReadFromN += n
	return n, err
}
