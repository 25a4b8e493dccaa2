package stores_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
)

// Capture a server's exchanges into a store named by a setting, then
// query it. The same program writes a shared PostgreSQL store when the
// setting is a postgres://user:password@host/db URL.
func Example() {
	dir, err := os.MkdirTemp("", "bodytap-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := filepath.Join(dir, "bodytap.db") // or postgres://...

	ctx := context.Background()
	st, err := stores.Open(ctx, dsn, store.Options{MaxCount: 100_000})
	if err != nil {
		log.Fatal(err) // names the store, its password masked
	}
	defer st.Close()

	tap := bodytap.New(bodytap.Config{Sink: st})
	srv := httptest.NewServer(tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, `{"got":%q}`, b)
	})))
	for _, body := range []string{"apple", "banana", "cherry"} {
		resp, err := http.Post(srv.URL+"/fruit", "text/plain", strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}
	srv.Close()
	tap.Close() // delivers what its queue holds to the store
	// Flush: queries see everything the store was given.
	if err := st.Flush(ctx); err != nil {
		log.Fatal(err)
	}

	f, err := filter.Parse("~m POST & ~bq an")
	if err != nil {
		log.Fatal(err)
	}
	sums, err := st.List(ctx, store.Query{Filter: f})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range sums {
		x, err := st.Get(ctx, s.ID)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.Method, s.Path, s.Status, string(x.Response.Body.Bytes))
	}
	fmt.Println(stores.Name("postgres://ada:s3cret@db.internal/bodytap"))
	// Output:
	// POST /fruit 200 {"got":"banana"}
	// postgres://ada:xxxxx@db.internal/bodytap
}
