package stores_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/pgstore"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open opens a store of each kind, closed when the test ends.
func open(t *testing.T) map[string]stores.Store {
	t.Helper()
	out := map[string]stores.Store{}
	for name, dsn := range map[string]string{
		"local":    filepath.Join(t.TempDir(), "bodytap.db"),
		"postgres": pgtest.DB(t),
	} {
		st, err := stores.Open(context.Background(), dsn, store.Options{Logger: quiet})
		if err != nil {
			t.Fatalf("Open(%s): %v", stores.Name(dsn), err)
		}
		t.Cleanup(func() { st.Close() })
		out[name] = st
	}
	return out
}

func TestOpenChoosesByScheme(t *testing.T) {
	sts := open(t)
	if _, ok := sts["local"].(*store.Store); !ok {
		t.Errorf("a file path opened a %T, want *store.Store", sts["local"])
	}
	if _, ok := sts["postgres"].(*pgstore.Store); !ok {
		t.Errorf("a postgres:// URL opened a %T, want *pgstore.Store", sts["postgres"])
	}
	for name, st := range sts {
		x := exchangetest.Full(t)
		st.Record(x)
		if err := st.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(context.Background(), x.ID)
		if err != nil {
			t.Fatalf("%s: Get: %v", name, err)
		}
		exchangetest.Same(t, got, x)
		if s := st.Stats(); s.Stored != 1 {
			t.Errorf("%s: Stats().Stored = %d, want 1", name, s.Stored)
		}
		if _, err := st.Get(context.Background(), bodytap.NewID(time.Now())); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Get of a missing ID: %v, want store.ErrNotFound", name, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	u, err := url.Parse(pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("nobody", "s3cret-pw")
	ctx := context.Background()
	for _, dsn := range []string{u.String(), "postgresql://nobody:s3cret-pw@127.0.0.1:1/x?connect_timeout=2"} {
		if _, err := stores.Open(ctx, dsn, store.Options{}); err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "nobody:xxxxx@") {
			t.Errorf("Open(%s): got %v, want an error naming the URL with its password masked", stores.Name(dsn), err)
		}
	}
	if got := stores.Name(u.String()); strings.Contains(got, "s3cret-pw") {
		t.Errorf("Name: got %q, want the password masked", got)
	}
	if _, err := stores.Open(ctx, "", store.Options{}); err == nil {
		t.Error(`Open(""): no error`)
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	if _, err := stores.Open(ctx, missing, store.Options{ReadOnly: true}); err == nil {
		t.Errorf("Open(%s, ReadOnly): no error for a missing file", missing)
	}
}

// TestImportSame imports the same exchanges into both stores: the same
// ones are stored, those already there skipped, a zero ID given one,
// and a failed import stores nothing.
func TestImportSame(t *testing.T) {
	sts := open(t)
	now := time.Now()
	var xs []*bodytap.Exchange
	for i := range 120 {
		x := exchangetest.Full(t)
		x.Response.Body.Bytes = fmt.Appendf(nil, "body %d", i)
		x.Response.Body.Size = int64(len(x.Response.Body.Bytes))
		// Over four days, so that the import needs partitions of days
		// that no write made.
		x.Start = now.Add(-time.Duration(i) * 47 * time.Minute)
		x.ID = bodytap.NewID(x.Start)
		x.Request.URL = &url.URL{Scheme: "http", Host: "api.test", Path: fmt.Sprintf("/items/%d", i)}
		xs = append(xs, x)
	}
	zero := exchangetest.Full(t)
	zero.ID = bodytap.ID{}
	seq := func(xs []*bodytap.Exchange, fail error) func(func(*bodytap.Exchange, error) bool) {
		return func(yield func(*bodytap.Exchange, error) bool) {
			for _, x := range xs {
				if !yield(x, nil) {
					return
				}
			}
			if fail != nil {
				yield(nil, fail)
			}
		}
	}
	ctx := context.Background()
	for name, st := range sts {
		st.Record(xs[0]) // there already
		if err := st.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := st.Import(ctx, seq(xs[:60], errors.New("bad entry"))); err == nil || n != 0 {
			t.Errorf("%s: a failing import: %d, %v; want 0 and the error", name, n, err)
		}
		if n, _ := st.Count(ctx, store.Query{}); n != 1 {
			t.Errorf("%s: after a failed import the store holds %d exchanges, want 1", name, n)
		}
		n, err := st.Import(ctx, seq(append([]*bodytap.Exchange{zero}, xs...), nil))
		if err != nil || n != len(xs) {
			t.Errorf("%s: Import: %d, %v; want %d (one of %d there already)", name, n, err, len(xs), len(xs)+1)
		}
		if !zero.ID.IsZero() {
			t.Fatalf("%s: Import changed the exchange it was given", name)
		}
		if n, err := st.Import(ctx, seq(xs, nil)); err != nil || n != 0 {
			t.Errorf("%s: Import again: %d, %v; want 0", name, n, err)
		}
		for _, x := range xs[:3] {
			got, err := st.Get(ctx, x.ID)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			exchangetest.Same(t, got, x)
		}
	}
	local, err := sts["local"].List(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sts["postgres"].List(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(local) != len(xs)+1 || len(pg) != len(local) {
		t.Fatalf("listed %d (local) and %d (postgres) exchanges, want %d", len(local), len(pg), len(xs)+1)
	}
	for i := range local {
		if local[i].ID != pg[i].ID && !local[i].Start.Equal(zero.Start) {
			t.Errorf("row %d: local %s, postgres %s", i, local[i].ID, pg[i].ID)
		}
	}
}
