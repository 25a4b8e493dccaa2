package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// newServer serves h on a loopback HTTP/1.1 server whose connections count
// sendfile use, and returns it with a client that keeps connections alive.
func newServer(tb testing.TB, h http.Handler, conns int) (*httptest.Server, *SendfileListener, *http.Client) {
	tb.Helper()
	srv := httptest.NewUnstartedServer(h)
	l := &SendfileListener{Listener: srv.Listener}
	srv.Listener = l
	srv.Start()
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}
	tb.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return srv, l, &http.Client{Transport: tr}
}

func TestPayload(t *testing.T) {
	for _, wl := range JSONWorkloads {
		for seed := range 2 {
			p := Payload(wl.Size, seed)
			if len(p) != wl.Size || !json.Valid(p) {
				t.Errorf("Payload(%d, %d): %d bytes, valid JSON %v", wl.Size, seed, len(p), json.Valid(p))
			}
		}
	}
	if bytes.Equal(Payload(1<<10, 0), Payload(1<<10, 1)) {
		t.Error("request and response payloads are the same")
	}
}

// wantSeen is what impl's sink must hold after one exchange with bodies of
// reqSize and respSize bytes.
func wantSeen(impl Impl, reqSize, respSize int64) Seen {
	if !impl.Captures() {
		return Seen{}
	}
	kept := func(n int64) int64 {
		if impl.Bounded {
			return min(n, Cap)
		}
		return n
	}
	return Seen{N: 1, ReqKept: kept(reqSize), ReqSize: reqSize, RespKept: kept(respSize), RespSize: respSize}
}

// TestJSON checks that every implementation answers every JSON workload
// with the right bytes, over loopback and in process, and that its sink
// saw both bodies at their full size (and kept up to the cap, or all).
func TestJSON(t *testing.T) {
	for _, impl := range Impls {
		for _, wl := range JSONWorkloads {
			req, resp := Payload(wl.Size, 0), Payload(wl.Size, 1)
			t.Run(impl.Name+"/"+wl.Name+"/loopback", func(t *testing.T) {
				var s Sink
				h, done := impl.Build(&s, AppOptions{})
				srv, _, client := newServer(t, h, 1)
				r, err := client.Post(srv.URL+wl.Path, "application/json", bytes.NewReader(req))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r.Body)
				r.Body.Close()
				if err != nil || r.StatusCode != 200 || !bytes.Equal(got, resp) {
					t.Fatalf("status %d, %d bytes (%v), want 200 and the %d-byte payload", r.StatusCode, len(got), err, len(resp))
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				srv.Close()
				done()
				if got, want := s.Seen(), wantSeen(impl, int64(len(req)), int64(len(resp))); got != want {
					t.Errorf("sink saw %+v, want %+v", got, want)
				}
			})
			t.Run(impl.Name+"/"+wl.Name+"/inprocess", func(t *testing.T) {
				var s Sink
				h, done := impl.Build(&s, AppOptions{})
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", wl.Path, bytes.NewReader(req)))
				done()
				if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), resp) {
					t.Fatalf("status %d, %d bytes, want 200 and the %d-byte payload", rec.Code, rec.Body.Len(), len(resp))
				}
				if got, want := s.Seen(), wantSeen(impl, int64(len(req)), int64(len(resp))); got != want {
					t.Errorf("sink saw %+v, want %+v", got, want)
				}
			})
		}
	}
}

// TestStream checks the streamed response: the right bytes, the sink's
// sizes, and whether the client gets the first chunk while the handler is
// still running (it must for every implementation but bufferall, and must
// not for bufferall: that is its nature).
func TestStream(t *testing.T) {
	const total = StreamChunks * StreamChunk
	want := bytes.Repeat(Payload(StreamChunk, 2), StreamChunks)
	for _, impl := range Impls {
		t.Run(impl.Name, func(t *testing.T) {
			var s Sink
			gotFirst := make(chan struct{})
			var waited atomic.Bool
			wait := 5 * time.Second
			if !impl.Streams {
				wait = 100 * time.Millisecond
			}
			h, done := impl.Build(&s, AppOptions{StreamGate: func(i int) {
				if i != 0 {
					return
				}
				select {
				case <-gotFirst:
				case <-time.After(wait):
					waited.Store(true)
				}
			}})
			srv, _, client := newServer(t, h, 1)
			r, err := client.Get(srv.URL + StreamPath)
			if err != nil {
				t.Fatal(err)
			}
			first := make([]byte, 1)
			if _, err := io.ReadFull(r.Body, first); err != nil {
				t.Fatal(err)
			}
			close(gotFirst)
			rest, err := io.ReadAll(r.Body)
			r.Body.Close()
			if got := append(first, rest...); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes (%v), want %d", len(got), err, len(want))
			}
			srv.Close()
			done()
			if impl.Streams && waited.Load() {
				t.Error("the client did not get the first chunk while the handler ran")
			}
			if !impl.Streams && !waited.Load() {
				t.Error("the client got a byte while the handler ran; bufferall cannot stream")
			}
			if got, want := s.Seen(), wantSeen(impl, 0, total); got != want {
				t.Errorf("sink saw %+v, want %+v", got, want)
			}
		})
	}
}

// TestDownload serves a 3 MiB file with io.Copy through every
// implementation: the client gets the file, the sink its size, and the log
// says how much went by sendfile. bare and bodytap must keep sendfile.
func TestDownload(t *testing.T) {
	const size = 3 << 20
	data := make([]byte, size)
	rand.Read(data)
	file := filepath.Join(t.TempDir(), "download")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, impl := range Impls {
		t.Run(impl.Name, func(t *testing.T) {
			var s Sink
			h, done := impl.Build(&s, AppOptions{DownloadFile: file})
			srv, l, client := newServer(t, h, 1)
			r, err := client.Get(srv.URL + DownloadPath)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r.Body)
			r.Body.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes (%v), want the %d-byte file", len(got), err, size)
			}
			srv.Close()
			done()
			if got, want := s.Seen(), wantSeen(impl, 0, size); got != want {
				t.Errorf("sink saw %+v, want %+v", got, want)
			}
			share := l.FileShare()
			t.Logf("%s: %.1f%% of the response bytes by sendfile", impl.Name, 100*share)
			if (impl.Name == "bare" || impl.Name == "bodytap") && share < 0.9 {
				t.Errorf("%s: %.1f%% by sendfile, want most", impl.Name, 100*share)
			}
		})
	}
}

func TestImplNames(t *testing.T) {
	seen := map[string]bool{}
	for _, i := range Impls {
		if seen[i.Name] {
			t.Errorf("duplicate implementation %q", i.Name)
		}
		seen[i.Name] = true
		if b, ok := ImplByName(i.Family); !ok || b.Captures() {
			t.Errorf("%s: baseline %q is not a bare implementation", i.Name, i.Family)
		}
	}
}
