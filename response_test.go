package bodytap

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bodytap/bodytap/internal/testutil"
	"github.com/bodytap/bodytap/internal/wrap/wraptest"
)

// TestTapInterfaces checks, for every combination of the optional
// interfaces, that the writer the handler gets implements exactly those of
// the server's writer, that each reaches it, and that Unwrap returns it.
func TestTapInterfaces(t *testing.T) {
	tap := New(Config{})
	defer tap.Close()
	for mask := range uint(wraptest.Combinations) {
		under, calls := wraptest.New(mask)
		var err error
		h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err = wraptest.Check(w, under, mask, calls)
		}))
		h.ServeHTTP(under, httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Error(err)
		}
	}
}

// TestTapResponseController: SetReadDeadline, SetWriteDeadline and
// EnableFullDuplex reach the server's writer through Unwrap, with the
// results they have without the Tap, over HTTP/1.1 and HTTP/2.
func TestTapResponseController(t *testing.T) {
	tap := New(Config{})
	defer tap.Close()
	for _, p := range testutil.Protos {
		t.Run(p.Name, func(t *testing.T) { testutil.CheckController(t, tap.Handler, p.H2) })
	}
}
