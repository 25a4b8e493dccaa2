package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5"
)

// mustGrams returns the gram sets of a filter.
func mustGrams(t *testing.T, expr string) []gramSet {
	t.Helper()
	f, err := filter.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	return bodyGrams(f.Root)
}

// randomWord returns a word of n letters other than k and s, which a
// search ignoring case cannot look for in the filter (they also match
// the Kelvin sign and the long s).
func randomWord(r *rand.Rand, n int) string {
	const letters = "abcdefghijlmnopqrtuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// TestChunkFilter: a stored filter, folded, holds every trigram added,
// whatever the case of its ASCII letters; it is smaller for fewer
// trigrams; and it rules out most words never added.
func TestChunkFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 14))
	for _, n := range []int{1, 50, 4096} {
		t.Run(fmt.Sprint(n, " bodies"), func(t *testing.T) {
			var f chunkFilter
			var words []string
			for i := range n {
				w := randomWord(r, 10)
				words = append(words, w)
				f.add(&row{id: []byte{byte(i >> 8), byte(i)}}, nil, []byte(`{"note":"`+strings.ToUpper(w[:5])+w[5:]+`"}`))
			}
			b := f.stored()
			if n < 100 && len(b) >= bloomBytes {
				t.Errorf("filter of %d bodies stored in %d bytes, want folded", n, len(b))
			}
			for _, w := range words {
				for _, g := range mustGrams(t, "~bs "+w) {
					if !g.mayHold(b, f.unindexed) {
						t.Fatalf("filter of %d bytes lacks %q", len(b), w)
					}
				}
			}
			if n > 50 {
				return // random words of 24 letters hold most of their 13,824 trigrams
			}
			ruled := 0
			for range 1000 {
				g := mustGrams(t, "~bs "+randomWord(r, 8))[0]
				if !g.mayHold(b, f.unindexed) {
					ruled++
				}
			}
			if ruled < 950 {
				t.Errorf("%d bytes of filter ruled out %d of 1000 words never added, want 950 or more", len(b), ruled)
			}
			if g := mustGrams(t, "~bq "+words[0])[0]; !g.mayHold(b, f.unindexed) {
				t.Error("a request body search ruled out a chunk of empty request bodies")
			}
		})
	}
	var f chunkFilter
	f.add(&row{id: []byte{1}}, make([]byte, maxIndexBytes+1), []byte("short"))
	if f.unindexed != bloomReqUnindexed {
		t.Errorf("unindexed %b after a long request body, want %b", f.unindexed, bloomReqUnindexed)
	}
	if g := mustGrams(t, "~bq nothere")[0]; !g.mayHold(f.stored(), f.unindexed) {
		t.Error("a request body search ruled out a chunk with an unindexed request body")
	}
	if g := mustGrams(t, "~bs nothere")[0]; g.mayHold(f.stored(), f.unindexed) {
		t.Error("a response body search did not rule out a chunk whose response bodies lack the word")
	}
}

// TestBodyGrams: only body matches and-ed at the top of a filter, with
// a literal of three bytes or more, narrow a search.
func TestBodyGrams(t *testing.T) {
	for _, tc := range []struct {
		expr string
		sets int
	}{
		{"~b zebracorn", 1},
		{"~b zebracorn & ~m POST", 1},
		{"~bq one & ~bs two", 2},
		{"~b ab", 0},
		{"~b zebracorn | ~m POST", 0},
		{"!~b zebracorn", 0},
		{"~h zebracorn", 0},
		{`~b "zeb.*corn"`, 1},
		{"~b quokkaquartz", 1}, // "quo", "aquartz"
		{"~b kiss", 0},
	} {
		if got := len(mustGrams(t, tc.expr)); got != tc.sets {
			t.Errorf("%s: got %d gram sets, want %d", tc.expr, got, tc.sets)
		}
	}
}

// TestSkipIndex: two writers store interleaved batches into small
// chunks; body searches return what Filter.Match selects, newest first,
// and a search for a word of a few exchanges reads only the ranges of
// the chunks that hold it.
func TestSkipIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	start := time.Now().Add(-time.Hour)
	s, all := interleaved(t, 200, func(i int) *bodytap.Exchange {
		x := tailExchange(i, []string{"GET", "POST"}[i%2], "", start.Add(time.Duration(i)*time.Second))
		body := fmt.Sprintf(`{"n":%d,"w":"%s"}`, i, randomWord(r, 6))
		switch {
		case i == 37 || i == 38:
			body += " Quagga"
		case i%10 == 3:
			body += " common"
		}
		x.Response.Body = bodytap.Body{Bytes: []byte(body), Size: int64(len(body)), EOF: true}
		if i%7 == 0 {
			x.Request.Body = bodytap.Body{Bytes: []byte("a zebra in the request"), Size: 21, EOF: true}
		}
		return x
	})
	checkFilters(t, s, all, "~bs quagga", "~b quagga", "~bq quagga", "~b zebra", "~bs common & ~m POST", "~bs common | ~bs quagga",
		"~b nowhere-at-all", `~bs "(?i)QUAGGA"`, "~bs quagga & ~bq zebra", "~b common", "~bq zebra")
	// The response body search for "quagga" reads the ranges of the
	// chunks of exchanges 37 and 38 only: each writer's chunks hold 16
	// exchanges of batches of 5, so those ranges hold few of the 200.
	if n := candidateRows(t, s, "~bs quagga"); n == 0 || n > 70 {
		t.Errorf("the candidate chunks of a word in 2 of 200 exchanges span %d exchanges, want 1 to 70", n)
	}
}

// TestChunkKeys: filters on the method, the domain and the status read
// the ranges of the chunks that list a value they need, and select what
// Filter.Match selects, also where a chunk's list overflowed (none
// kept) or a row's strings are not its exchange's.
func TestChunkKeys(t *testing.T) {
	defer func(k, w int) { maxChunkKeys, firstWindow = k, w }(maxChunkKeys, firstWindow)
	maxChunkKeys, firstWindow = 3, 1
	start := time.Now().Add(-time.Hour)
	s, all := interleaved(t, 200, func(i int) *bodytap.Exchange {
		x := tailExchange(i, []string{"GET", "POST"}[i%2], "", start.Add(time.Duration(i)*time.Second))
		x.Response.Status = []int{200, 404}[i%2]
		switch {
		case i == 37:
			x.Request.Method, x.Response.Status = "PATCH", 418
		case i == 38:
			x.Request.Host, x.Response.Status = "rare.example", 418
		case i >= 150 && i < 170:
			// Overflows its chunks' lists of domains.
			x.Request.Host = fmt.Sprintf("host-%d.example", i)
		case i == 120:
			x.Request.Method = "PATCH\xff" // lossy: not a key
		}
		return x
	})
	checkFilters(t, s, all, "~c 418", "~m PATCH", "~d rare", "~c 4xx", "~c 418 | ~m PATCH", "~c 418 & ~m GET", "~c 599",
		"~m ^P", "~m XYZ", "~d host-16", "~d ^host", "~d example & ~c 404", "!~c 418", "~c 418 & ~d rare")
	for expr, most := range map[string]int{"~c 418": 70, "~m PATCH": 70, "~d rare": 70, "~c 599": 0, "~m XYZ": 70} {
		if n := candidateRows(t, s, expr); n > most {
			t.Errorf("%s: the candidate chunks span %d exchanges, want at most %d", expr, n, most)
		}
	}
	if n := candidateRows(t, s, "~c 404"); n < 100 {
		t.Errorf("~c 404 (every other exchange): the candidate chunks span %d exchanges, want them all", n)
	}
	var listed, unknown int
	if err := s.pool.QueryRow(context.Background(),
		"SELECT count(statuses), count(*) FILTER (WHERE domains IS NULL) FROM blooms").Scan(&listed, &unknown); err != nil {
		t.Fatal(err)
	}
	if listed == 0 || unknown == 0 {
		t.Errorf("chunks: %d list their statuses, %d do not list their domains; want some of each", listed, unknown)
	}
}

// interleaved stores n exchanges that mk makes, in batches of 5 from two
// writers in turn, into chunks of 16, and returns one of the writers and
// the exchanges.
func interleaved(t *testing.T, n int, mk func(i int) *bodytap.Exchange) (*Store, []*bodytap.Exchange) {
	t.Helper()
	defer func(n int) { chunkRows = n }(chunkRows)
	chunkRows = 16
	u := pgtest.DB(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var ws []*Store
	for range 2 {
		s, err := Open(context.Background(), u, Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ws = append(ws, s)
	}
	var all []*bodytap.Exchange
	for b := 0; b < n; b += 5 {
		var batch []*bodytap.Exchange
		for i := b; i < min(b+5, n); i++ {
			batch = append(batch, mk(i))
		}
		all = append(all, batch...)
		ws[b/5%2].RecordBatch(batch)
	}
	if got := checkCount(t, ws[0]); got != int64(n) {
		t.Errorf("Count: got %d, want %d", got, n)
	}
	return ws[0], all
}

// checkFilters checks that s lists (whole, and in pages of 2 with
// MaxScan 3) and counts what Filter.Match selects of all for each
// filter of exprs.
func checkFilters(t *testing.T, s *Store, all []*bodytap.Exchange, exprs ...string) {
	t.Helper()
	ctx := context.Background()
	for _, expr := range exprs {
		f, err := filter.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		var want []bodytap.ID
		for _, x := range slices.Backward(all) {
			if f.Match(x) {
				want = append(want, x.ID)
			}
		}
		sums, err := s.List(ctx, store.Query{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		if got := sumIDs(sums); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", expr, got, want)
		}
		list := func(q store.Query) ([]store.Summary, bodytap.ID, error) { return s.ListPage(ctx, q) }
		if paged := pageAll(t, list, store.Query{Filter: f, Limit: 2, MaxScan: 3}); !slices.Equal(paged, want) {
			t.Errorf("%s in pages: got %v, want %v", expr, paged, want)
		}
		if n, err := s.Count(ctx, store.Query{Filter: f}); err != nil || n != int64(len(want)) {
			t.Errorf("%s: Count %d (%v), want %d", expr, n, err, len(want))
		}
	}
}

// candidateRows returns how many stored exchanges the candidate chunks of
// the filter expr span.
func candidateRows(t *testing.T, s *Store, expr string) int {
	t.Helper()
	f, err := filter.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var inSpans int
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c := &compiler{ctx: ctx, tx: tx}
		keys, err := c.chunkConds(f.Root)
		if err != nil {
			return err
		}
		var spans []idSpan
		for w, more := newChunkWalk(tx, bodyGrams(f.Root), keys, c.args, nil), true; more; {
			var sps []idSpan
			if sps, more, err = w.next(ctx); err != nil {
				return err
			}
			spans = append(spans, sps...)
		}
		for _, sp := range spans {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM exchanges WHERE id BETWEEN $1 AND $2", sp.lo, sp.hi).Scan(&n); err != nil {
				return err
			}
			inSpans += n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return inSpans
}

// TestUpgradeToVersion3: exchanges stored by a writer of version 2,
// which keeps no skip index, are found by body searches after the
// migration to version 3, as are new ones; a word in no body is in none.
func TestUpgradeToVersion3(t *testing.T) {
	u := pgtest.DB(t)
	ctx := context.Background()
	at := time.Now().Add(-time.Minute)
	withBody := func(i int, body string) *bodytap.Exchange {
		x := tailExchange(i, "GET", "", at.Add(time.Duration(i)*time.Millisecond))
		x.Response.Body = bodytap.Body{Bytes: []byte(body), Size: int64(len(body)), EOF: true}
		return x
	}
	s := upgraded(t, u, 2, func(old *Store) {
		old.RecordBatch([]*bodytap.Exchange{withBody(1, "an ancient word"), withBody(2, "plain")})
	})
	s.Record(withBody(3, "a modern word"))
	for expr, want := range map[string]int{"~bs ancient": 1, "~bs modern": 1, "~bs word": 2, "~bs nowhere": 0} {
		f, err := filter.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if sums, err := s.List(ctx, store.Query{Filter: f}); err != nil || len(sums) != want {
			t.Errorf("%s: got %d exchanges (%v), want %d", expr, len(sums), err, want)
		}
	}
	if n := checkCount(t, s); n != 3 {
		t.Errorf("Count after the upgrade: got %d, want 3", n)
	}
	var unindexed int
	if err := s.pool.QueryRow(ctx, "SELECT unindexed FROM blooms WHERE key = 0").Scan(&unindexed); err != nil || unindexed != 3 {
		t.Errorf("the chunk of the exchanges before version 3: unindexed %d (%v), want 3", unindexed, err)
	}
}

// TestUpgradeToVersion4: exchanges stored by writers of versions 2 and 3,
// whose chunks list no keys, are found by filters on the method, the
// domain and the status after the migration to version 4, as are new
// ones; the B-trees those filters used are gone.
func TestUpgradeToVersion4(t *testing.T) {
	for _, from := range []int{2, 3} {
		t.Run(fmt.Sprintf("from%d", from), func(t *testing.T) {
			u := pgtest.DB(t)
			ctx := context.Background()
			at := time.Now().Add(-time.Minute)
			mk := func(i int, method string, status int) *bodytap.Exchange {
				x := tailExchange(i, method, "", at.Add(time.Duration(i)*time.Millisecond))
				x.Response.Status = status
				return x
			}
			var all []*bodytap.Exchange
			s := upgraded(t, u, from, func(old *Store) {
				all = append(all, mk(1, "PUT", 503), mk(2, "GET", 200))
				old.RecordBatch(all)
			})
			all = append(all, mk(3, "PUT", 200))
			s.Record(all[2])
			checkFilters(t, s, all, "~m PUT", "~c 503", "~c 5xx & ~m PUT", "~d example.com", "~c 418", "~m PUT & ~c 200")
			var indexes int
			if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname IN
				('exchanges_status', 'exchanges_method', 'exchanges_domain')`).Scan(&indexes); err != nil || indexes != 0 {
				t.Errorf("indexes on status, method, domain after the upgrade: %d (%v), want 0", indexes, err)
			}
		})
	}
}

// TestChunkWalk walks random chunks, overlapping as concurrent writers'
// do, in windows of several sizes: the ranges it returns are disjoint,
// newest first, below the bound, and hold every ID of every candidate
// chunk below it.
func TestChunkWalk(t *testing.T) {
	defer func(w int) { firstWindow = w }(firstWindow)
	s, _ := openTest(t, Options{})
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	id := func(v int) []byte { return idAt(int64(v)) }
	type span struct{ lo, hi int }
	var cands []span
	for k := range 60 {
		lo := r.IntN(1000)
		hi := lo + r.IntN(60)
		status := 1 + r.IntN(3)
		if status == 1 {
			cands = append(cands, span{lo, hi})
		}
		if _, err := s.pool.Exec(ctx, `INSERT INTO blooms (key, lo, hi, rows, unindexed, bits, statuses)
			VALUES ($1, $2, $3, 1, 0, '\x', $4)`, k+1, id(lo), id(hi), []int32{int32(status)}); err != nil {
			t.Fatal(err)
		}
	}
	c := &compiler{ctx: ctx, tx: s.pool}
	keys, err := c.chunkConds(filter.Status{Lo: 1, Hi: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, window := range []int{1, 2, 5, 100} {
		for _, before := range []int{0, 500, 1001} {
			firstWindow = window
			var bound []byte
			if before > 0 {
				bound = id(before)
			}
			var got []idSpan
			for w, more := newChunkWalk(s.pool, nil, keys, c.args, bound), true; more; {
				var sps []idSpan
				if sps, more, err = w.next(ctx); err != nil {
					t.Fatal(err)
				}
				got = append(got, sps...)
			}
			for i, sp := range got {
				if bytes.Compare(sp.lo, sp.hi) > 0 || i > 0 && bytes.Compare(sp.hi, got[i-1].lo) >= 0 {
					t.Fatalf("window %d, before %d: ranges not disjoint and newest first: %d %x..%x after %x", window, before, i, sp.lo, sp.hi, got[max(i-1, 0)].lo)
				}
			}
			for _, c := range cands {
				for v := c.lo; v <= c.hi && (before == 0 || v < before); v++ {
					in := false
					for _, sp := range got {
						in = in || bytes.Compare(sp.lo, id(v)) <= 0 && bytes.Compare(id(v), sp.hi) <= 0
					}
					if !in {
						t.Fatalf("window %d, before %d: ID %d of candidate chunk %d..%d in no range", window, before, v, c.lo, c.hi)
					}
				}
			}
		}
	}
}
