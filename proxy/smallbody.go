package proxy

import (
	"bytes"
	"io"
)

// The transport writes a request's headers, then its body, and flushes
// the headers first unless the body is already in memory (a
// *bytes.Reader, say), in case the body only comes once the upstream has
// answered the headers. For the proxy's usual request, a small JSON body
// that came in the same packet as its headers, that is one write system
// call (and one packet to the upstream) more per request: a third of the
// proxy's writes. So a body of known length up to smallBody is read
// first, and goes to the upstream with the headers in one write. A client
// that sends such a body only once it has the response's headers would
// wait for them forever; none does but one that asks for 100 Continue,
// whose body is left to the transport, as are bodies of unknown length
// and larger ones (which take more than one write anyway).

// smallBody is the largest request body that the proxy reads before
// forwarding the request: with the headers it fits the transport's write
// buffer (4 KiB).
const smallBody = 3 << 10

// readSmall reads body, of n bytes by its Content-Length, and returns what
// the transport sends in its place: the bytes, in memory, when they were
// all there; else what came, followed by what the transport would have
// met reading body itself (the rest, or the error).
func readSmall(body io.Reader, n int64) io.ReadCloser {
	buf := make([]byte, n+1)
	k := 0
	var err error
	for k < len(buf) && err == nil {
		var m int
		m, err = body.Read(buf[k:])
		k += m
	}
	if k == int(n) && err == io.EOF {
		return io.NopCloser(bytes.NewReader(buf[:k]))
	}
	rest := body
	if err != nil {
		rest = errReader{err}
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(buf[:k]), rest))
}

// errReader is a reader whose every Read fails with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
