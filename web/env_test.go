package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/web/internal/webtest"
)

// testEnv is a viewer on a real store, served by a real HTTP server.
type testEnv struct {
	*webtest.Env
	viewer *Server
}

// storeOptions are the options of the test stores: the defaults, so
// that the live tests measure what a user gets.
var storeOptions = store.Options{}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A backend is a kind of store that the viewer's tests run on.
type backend struct {
	name string
	dsn  func(testing.TB) string // names a new, empty store
}

var backends = []backend{
	{"local", func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "bodytap.db") }},
	{"postgres", pgtest.DB},
}

// eachStore runs test as a subtest on each backend: a local store and a
// PostgreSQL one.
func eachStore(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// newEnv starts a viewer with cfg on a new local store in a temporary
// directory.
func newEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	return backends[0].newEnv(t, cfg)
}

// newEnv starts a viewer with cfg on a new store of b.
func (b backend) newEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	e := &testEnv{Env: webtest.OpenDSN(t, b.dsn(t), storeOptions)}
	cfg.Store = e.Store
	if cfg.Logger == nil {
		cfg.Logger = webtest.Logger(t)
	}
	var err error
	e.viewer, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Serve(e.viewer, e.viewer.Close)
	return e
}

// importAll stores many exchanges: with Record and Flush, as a capture
// does, or in one Import transaction, as "bodytap import" does.
func (e *testEnv) importAll(xs []*bodytap.Exchange, viaImport bool) {
	e.T.Helper()
	if !viaImport {
		for _, x := range xs {
			e.Store.Record(x)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Store.Flush(ctx); err != nil {
			e.T.Fatal(err)
		}
		if st := e.Store.Stats(); st.Stored != int64(len(xs)) {
			e.T.Fatalf("stored %d exchanges of %d: %+v", st.Stored, len(xs), st)
		}
		return
	}
	n, err := e.Store.Import(context.Background(), func(yield func(*bodytap.Exchange, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	})
	if err != nil || n != len(xs) {
		e.T.Fatalf("Import: %d, %v; want %d", n, err, len(xs))
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// newRequest returns a GET request from loopback, as a browser there
// makes it.
func newRequest(path string) *http.Request {
	return httptest.NewRequest("GET", "http://127.0.0.1:8080"+path, nil)
}

// TestLazyLimitMirrored: the browser tests size their bodies by
// webtest.LazyLimit, which must be the viewer's.
func TestLazyLimitMirrored(t *testing.T) {
	if webtest.LazyLimit != lazyLimit {
		t.Errorf("webtest.LazyLimit is %d, the viewer's lazyLimit %d", webtest.LazyLimit, lazyLimit)
	}
}
