package browsertest

import (
	"net/http"
	"sync"
	"testing"

	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/web"
	"github.com/bodytap/bodytap/web/internal/webtest"
)

// testEnv is a viewer on a real store, served by a real HTTP server, with
// a /pwned endpoint that the XSS payloads call when they run.
type testEnv struct {
	*webtest.Env

	mu    sync.Mutex
	pwned []string // requests that reached /pwned: a payload ran
}

// newEnv starts a viewer with cfg on a new store in a temporary directory.
func newEnv(t testing.TB, cfg web.Config) *testEnv {
	t.Helper()
	e := &testEnv{Env: webtest.Open(t, store.Options{})}
	cfg.Store = e.Store
	if cfg.Logger == nil {
		cfg.Logger = webtest.Logger(t)
	}
	viewer, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/pwned", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.pwned = append(e.pwned, r.URL.String())
		e.mu.Unlock()
	})
	mux.Handle("/", viewer)
	e.Serve(mux, viewer.Close)
	return e
}

// pwnedRequests returns the requests that reached /pwned.
func (e *testEnv) pwnedRequests() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.pwned...)
}
