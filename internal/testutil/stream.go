package testutil

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// Chunks checks that a response is streamed: its handler calls Write,
// which sends each chunk and flushes it, and does not send the next until
// the client, calling Read, has read it. Through a middleware that held
// flushed bytes back, Write would time out.
type Chunks struct {
	chunks []string
	read   chan struct{}
}

// NewChunks returns a Chunks that streams chunks in turn.
func NewChunks(chunks ...string) *Chunks {
	return &Chunks{chunks: chunks, read: make(chan struct{})}
}

// Write writes the chunks to w, flushing after each one and waiting until
// Read has it. It is called by the handler: when the client has not read a
// chunk within 10s it reports an error to tb and returns.
func (c *Chunks) Write(tb testing.TB, w http.ResponseWriter) {
	for _, chunk := range c.chunks {
		io.WriteString(w, chunk)
		w.(http.Flusher).Flush()
		select {
		case <-c.read:
		case <-time.After(10 * time.Second):
			tb.Error("client never received a flushed chunk")
			return
		}
	}
}

// Read reads the chunks from r, the response body, in turn, and lets
// Write go on after each one.
func (c *Chunks) Read(tb testing.TB, r io.Reader) {
	tb.Helper()
	for _, want := range c.chunks {
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil {
			tb.Fatal(err)
		}
		if string(got) != want {
			tb.Fatalf("got %q, want %q", got, want)
		}
		c.read <- struct{}{}
	}
}

// Get fetches url with client and reads the chunks from the response body,
// as Read does, then the rest of it.
func (c *Chunks) Get(tb testing.TB, client *http.Client, url string) {
	tb.Helper()
	resp, err := client.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	c.Read(tb, resp.Body)
	io.Copy(io.Discard, resp.Body)
}
