package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// outOfOrder stores n exchanges whose IDs are not in the order they are
// stored, as when long requests end after shorter ones that started
// later: each starts up to 2 s before the one stored before it. One in
// five has "needle" in a body. It returns them newest first by ID.
func outOfOrder(t *testing.T, s *Store, n int) []*bodytap.Exchange {
	t.Helper()
	g := newGen(9)
	r := rand.New(rand.NewPCG(9, 10))
	var xs []*bodytap.Exchange
	for i := range n {
		x := g.next()
		x.Start = base.Add(time.Duration(i)*10*time.Millisecond - time.Duration(r.IntN(2000))*time.Millisecond)
		x.ID = bodytap.NewID(x.Start)
		if i%5 == 0 {
			b := []byte(fmt.Sprintf(`{"n": %d, "text": "a NEEDLE in it"}`, i))
			x.Response.Body = bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
		}
		xs = append(xs, x)
		if len(xs) == 25 {
			s.RecordBatch(xs)
			xs = nil
		}
	}
	s.RecordBatch(xs)
	flush(t, s)
	return scanAll(t, s, n)
}

// TestBodySearchOrder: a body search, which reads the store chunk by
// chunk in the order exchanges were stored, returns them newest first by
// ID, as every list does, pages by the Before cursor without losing or
// repeating one, and its Scan and Count agree; Progress hears it go to
// the end.
func TestBodySearchOrder(t *testing.T) {
	defer smallChunks(4)()
	s, _ := openTest(t, Options{})
	all := outOfOrder(t, s, 600)
	ctx := context.Background()
	for _, expr := range []string{"~b needle", "~b needle & ~m GET", "~bs needle | ~c 404", `~b "n.edle" & !~m POST`, "~b nothingmatches"} {
		f := mustParse(t, expr)
		w := want(all, f)
		if len(w) == 0 && expr != "~b nothingmatches" {
			t.Fatalf("%s matches nothing", expr)
		}
		var calls, last, total int64
		q := Query{Filter: f, Progress: func(scanned, n int64) {
			if scanned < last {
				t.Errorf("%s: progress went back from %d to %d", expr, last, scanned)
			}
			calls, last, total = calls+1, scanned, n
		}}
		got, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), w) {
			t.Errorf("%s: List returned %d exchanges, Filter.Match %d, or not in ID order", expr, len(got), len(w))
		}
		if calls < 2 || last != total || total != 600 {
			t.Errorf("%s: progress called %d times, last (%d, %d), want (600, 600)", expr, calls, last, total)
		}
		if paged := pagedIDs(t, s, Query{Filter: f, Limit: 7}); !slices.Equal(paged, w) {
			t.Errorf("%s: pages of 7 returned %d exchanges, want %d", expr, len(paged), len(w))
		}
		if scanned := scannedIDs(t, s, Query{Filter: f}); !slices.Equal(scanned, w) {
			t.Errorf("%s: Scan returned %d exchanges, want %d", expr, len(scanned), len(w))
		}
		if n, err := s.Count(ctx, Query{Filter: f}); err != nil || n != int64(len(w)) {
			t.Errorf("%s: Count = %d, %v; want %d", expr, n, err, len(w))
		}
		// Until bounds the rows read as Before does.
		if len(w) > 3 {
			until := findID(all, w[3]).Start
			got, err := s.List(ctx, Query{Filter: f, Until: until})
			if err != nil {
				t.Fatal(err)
			}
			var wu []bodytap.ID
			for _, id := range w {
				if findID(all, id).Start.Before(until) {
					wu = append(wu, id)
				}
			}
			if !slices.Equal(ids(got), wu) {
				t.Errorf("%s --until: %d exchanges, want %d", expr, len(got), len(wu))
			}
		}
	}
}

// pagedIDs returns the IDs of the pages of q, paged by the cursor
// ListPage returns.
func pagedIDs(t *testing.T, s *Store, q Query) []bodytap.ID {
	t.Helper()
	var paged []bodytap.ID
	for range 10000 {
		sums, next, err := s.ListPage(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: ListPage: %v", q.Filter, err)
		}
		paged = append(paged, ids(sums)...)
		if next.IsZero() {
			break
		}
		q.Before = next
	}
	return paged
}

// scannedIDs returns the IDs of the exchanges Scan yields for q.
func scannedIDs(t *testing.T, s *Store, q Query) []bodytap.ID {
	t.Helper()
	var out []bodytap.ID
	for x, err := range s.Scan(context.Background(), q) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x.ID)
	}
	return out
}

func findID(all []*bodytap.Exchange, id bodytap.ID) *bodytap.Exchange {
	for _, x := range all {
		if x.ID == id {
			return x
		}
	}
	return nil
}

// TestBodySearchStreams: Scan yields the newest match of a body search
// before it has read the whole store, and a first page does not read it
// all either.
func TestBodySearchStreams(t *testing.T) {
	defer smallChunks(4)()
	s, _ := openTest(t, Options{})
	outOfOrder(t, s, 2000)
	ctx := context.Background()
	var scanned, total int64
	q := Query{Filter: mustParse(t, "~b needle"), Progress: func(n, of int64) { scanned, total = n, of }}
	for x, err := range s.Scan(ctx, q) {
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(bytes.ToLower(x.Response.Body.Bytes), []byte("needle")) {
			t.Errorf("Scan yielded %s, whose body has no needle", x.ID)
		}
		if scanned == 0 || scanned*4 > total {
			t.Errorf("the first match came after %d of %d exchanges were read", scanned, total)
		}
		break
	}
	q.Limit = 10
	sums, err := s.List(ctx, q)
	if err != nil || len(sums) != 10 {
		t.Fatalf("List = %d rows, %v", len(sums), err)
	}
	if scanned*4 > total {
		t.Errorf("a first page of 10 read %d of %d exchanges", scanned, total)
	}
}

// TestGetURLControl: Get returns the URL that Record was given when its
// text does not parse back (control characters in the query, the
// scheme or an opaque part; a host that is not one).
func TestGetURLControl(t *testing.T) {
	s, _ := openTest(t, Options{})
	g := newGen(3)
	urls := []*url.URL{
		{Scheme: "http", Host: "h", Path: "/a", RawQuery: "q=\x01&r=\x7f"},
		{Scheme: "http", Host: "h\x01", Path: "/a"},
		{Scheme: "http", Host: "h h", Path: "/a"},
		{Scheme: "http", Opaque: "/x\ny"},
		{Scheme: "ht\ttp", Host: "h", Path: "/a"},
		{Scheme: "http", Host: "h", Path: "/a", RawQuery: "q=\x01", User: url.UserPassword("u", "p\x01"), Fragment: "f"},
		{Scheme: "http", Host: "h", Path: "/a\x01b", RawQuery: "ok=1"},
	}
	var xs []*bodytap.Exchange
	for _, u := range urls {
		x := g.next()
		x.Request.URL = u
		xs = append(xs, x)
	}
	s.RecordBatch(xs)
	flush(t, s)
	if st := s.Stats(); st.Stored != int64(len(xs)) || st.Errors != 0 {
		t.Fatalf("stored %d, %d errors; want %d, 0", st.Stored, st.Errors, len(xs))
	}
	for _, x := range xs {
		got, err := s.Get(context.Background(), x.ID)
		if err != nil {
			t.Errorf("Get(%q): %v", x.Request.URL.String(), err)
			continue
		}
		if !reflect.DeepEqual(got.Request.URL, x.Request.URL) {
			t.Errorf("Get: URL %#v, want %#v", got.Request.URL, x.Request.URL)
		}
		sameExchange(t, x, got)
	}
	// The URL column holds the text, which ~u matches.
	sums, err := s.List(context.Background(), Query{Filter: mustParse(t, `~u "q=\x01"`)})
	if err != nil || len(sums) != 2 {
		t.Errorf(`~u "q=\x01": %d rows, %v; want 2`, len(sums), err)
	}
}
