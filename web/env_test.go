package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/store"
)

// testEnv is a viewer on a real store, served by a real HTTP server.
type testEnv struct {
	t      testing.TB
	store  *store.Store
	viewer *Server
	srv    *httptest.Server
}

// storeOptions are the options of the test stores: the defaults, so
// that the live tests measure what a user gets.
var storeOptions = store.Options{}

// newEnv starts a viewer with cfg on a new store in a temporary directory.
func newEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	e := &testEnv{t: t}
	st, err := store.Open(filepath.Join(t.TempDir(), "bodytap.db"), storeOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	cfg.Store = st
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	e.viewer, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.viewer)
	t.Cleanup(func() {
		e.viewer.Close()
		e.srv.Close()
	})
	return e
}

// record stores exchanges and waits until they are committed.
func (e *testEnv) record(xs ...ex) {
	e.t.Helper()
	for _, x := range xs {
		e.store.Record(x.Exchange)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.store.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// recordAsync stores an exchange without waiting, as a capture does.
func (e *testEnv) recordAsync(x ex) {
	e.store.Record(x.Exchange)
}

// importAll stores many exchanges: with Record and Flush, as a capture
// does, or in one Import transaction, as "bodytap import" does.
func (e *testEnv) importAll(xs []*bodytap.Exchange, viaImport bool) {
	e.t.Helper()
	if !viaImport {
		for _, x := range xs {
			e.store.Record(x)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.store.Flush(ctx); err != nil {
			e.t.Fatal(err)
		}
		if st := e.store.Stats(); st.Stored != int64(len(xs)) {
			e.t.Fatalf("stored %d exchanges of %d: %+v", st.Stored, len(xs), st)
		}
		return
	}
	n, err := e.store.Import(context.Background(), func(yield func(*bodytap.Exchange, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	})
	if err != nil || n != len(xs) {
		e.t.Fatalf("Import: %d, %v; want %d", n, err, len(xs))
	}
}

// get fetches a path of the viewer.
func (e *testEnv) get(path string, header ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

// testWriter sends log output to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// newRequest returns a GET request from loopback, as a browser there
// makes it.
func newRequest(path string) *http.Request {
	return httptest.NewRequest("GET", "http://127.0.0.1:8080"+path, nil)
}
