package store

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
)

// filterExprs are filters to check the store against Filter.Match with.
var filterExprs = []string{
	"",
	"~all",
	"~http",
	"~m POST",
	"~m post",
	"~m ^P",
	"~m XYZ",
	"!~m GET",
	"~d example.com",
	"~d ^example\\.com$",
	"~d ::1",
	"~d EXAMPLE",
	"~u /api",
	"api",
	"~u https://",
	"~u q=needle",
	"~u \"(?i)Q=NEEDLE\"",
	"~u \"(?i)user_id\"",
	"~u \"(?i)q=user.id\"",
	"~u \"(?i)API/USERS/7\"",
	"~u %",
	"~u \"(?i)s\"",
	"~src \"(?i)192\\.0\"",
	"~c 200",
	"~c 5xx",
	"~c 400-499",
	"!~c 200",
	"~q",
	"~s",
	"~e",
	"!~e",
	"~a",
	"!~a",
	"~websocket",
	"~h Authorization",
	"~hq ^Authorization: Bearer",
	"~hs Content-Type",
	"!~h Authorization",
	"~h Authorization | ~c 5xx",
	"~h Authorization & ~m POST",
	"~b needle",
	"~bq needle",
	"~bs needle",
	"~bs Haystack",
	"~bs haystack",
	"~b user_id",
	"~b quantité",
	"~b 日本語",
	"~b \"ne+dle\"",
	"~b \"(alpha|beta)\"",
	"!~b needle",
	"~bs ^$",
	"~bq ^$",
	"~b \\x89PNG",
	"~bs color",
	"~t json",
	"~tq json",
	"~ts json",
	"~ts text/plain",
	"~ts ^$",
	"!~ts css",
	"~src 192.0.2.1",
	"~dst :443$",
	"~dst example.com:80",
	"~route users",
	"~route ^$",
	"~route \"GET /api/users/{id}\"",
	"~dur >250ms",
	"~dur <=100ms",
	"~size >=300",
	"~sizeq >100",
	"~sizes =0",
	"!~dur >250ms",
	"!(~size >=300 | ~m GET)",
	"~path /api/users",
	"~path \"/api/*\"",
	"~path \"/api/**\"",
	"~path \"/api/users/*/orders\"",
	"~path \"/static/*.css\"",
	"~path \"/?\"",
	"~path \"**.png\"",
	"~c 5xx & ~m POST",
	"~m POST ~c 201",
	"(~m GET | ~m DELETE) & !~c 200",
	"~d example.com & ~path \"/api/**\" & ~dur >100ms",
	"!(~m GET & ~c 200)",
	"~b needle & ~h Accept",
	"!(~b needle | ~bs Haystack)",
}

// handASTs are trees Parse does not build.
func handASTs() []filter.Node {
	re := regexp.MustCompile
	return []filter.Node{
		filter.Match{Op: filter.OpURL, Pattern: "/api"},                          // no Re: Match compiles it
		&filter.Flag{Op: filter.OpAll},                                           // pointer: matches nothing
		filter.Flag{Op: "~nonsense"},                                             // unknown: nothing
		filter.Match{Op: "~nonsense", Pattern: "x", Re: re("x")},                 // unknown: nothing
		filter.Compare{Op: filter.OpDuration, Cmp: "!=", Value: 1},               // bad comparison
		filter.Not{X: filter.Match{Op: filter.OpURL, Pattern: "/api"}},           // not of a Go-only node
		filter.Path{Glob: "/api/*", Prefix: "/zzz"},                              // a prefix not of the glob
		filter.Match{Op: filter.OpBody, Pattern: "NEEDLE", Re: re("(?i)NEEDLE")}, // case-insensitive body
		filter.Match{Op: filter.OpBody, Pattern: "SKS", Re: re("(?i)sks")},       // folds to ſ and K
		filter.Or{X: filter.Status{Lo: 500, Hi: 599}, Y: filter.Not{X: filter.Flag{Op: filter.OpResponse}}},
	}
}

func allFilters(t *testing.T) []*filter.Filter {
	var fs []*filter.Filter
	for _, e := range filterExprs {
		f, err := filter.Parse(e)
		if err != nil {
			t.Fatalf("Parse(%q): %v", e, err)
		}
		fs = append(fs, f)
	}
	for _, n := range handASTs() {
		fs = append(fs, &filter.Filter{Root: n})
	}
	return fs
}

// fill records n generated exchanges and returns them as Get returns
// them, newest first.
func fill(t *testing.T, s *Store, g *gen, n int) []*bodytap.Exchange {
	t.Helper()
	for range n {
		s.Record(g.next())
	}
	flush(t, s)
	return scanAll(t, s, n)
}

// scanAll returns all exchanges, newest first, and checks there are n.
func scanAll(t *testing.T, s *Store, n int) []*bodytap.Exchange {
	t.Helper()
	return scanN(t, s, Query{}, n)
}

// scanN returns the exchanges q selects, newest first, and checks there
// are n.
func scanN(t *testing.T, s *Store, q Query, n int) []*bodytap.Exchange {
	t.Helper()
	var all []*bodytap.Exchange
	for x, err := range s.Scan(context.Background(), q) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, x)
	}
	if len(all) != n {
		t.Fatalf("stored %d exchanges, want %d", len(all), n)
	}
	return all
}

func ids(sums []Summary) []bodytap.ID {
	var out []bodytap.ID
	for _, s := range sums {
		out = append(out, s.ID)
	}
	return out
}

func want(all []*bodytap.Exchange, f *filter.Filter) []bodytap.ID {
	var out []bodytap.ID
	for _, x := range all {
		if f.Match(x) {
			out = append(out, x.ID)
		}
	}
	return out
}

// TestFilters checks List, Count, Scan and paging against Filter.Match on
// the exchanges Get returns, with chunks of 16 exchanges whose skip
// index is built as they are written ("sealed"), built from the stored
// bodies after a reopen and when missing ("rebuilt"), missing
// ("missing"), and with the skip index off ("nofts").
func TestFilters(t *testing.T) {
	defer smallChunks(4)()
	for _, mode := range []string{"sealed", "rebuilt", "missing", "nofts"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{NoFullText: mode == "nofts"}
			s, path := openTest(t, opts)
			n := 1000
			if raceEnabled {
				n = 250
			}
			all := fill(t, s, newGen(1), n)
			switch mode {
			case "rebuilt":
				s.Close()
				s = openAt(t, path, opts)
				g := newGen(2)
				g.t = all[0].Start
				for range 300 {
					s.Record(g.next())
				}
				flush(t, s)
				all = scanAll(t, s, n+300)
				s.w.mu.Lock()
				_, err := s.w.conn.ExecContext(context.Background(), "DELETE FROM blooms WHERE chunk % 3 = 1")
				s.w.mu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
				buildAll(t, s)
			case "missing":
				s.w.mu.Lock()
				_, err := s.w.conn.ExecContext(context.Background(), "DELETE FROM blooms WHERE chunk % 3 = 1; DELETE FROM chunk_keys WHERE chunk % 3 = 2; DELETE FROM chunk_pairs WHERE chunk % 3 = 0")
				s.w.bloomPending = false // keep the writer from building them
				s.w.mu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
			}
			// Only body filters depend on the body filters; all,
			// on the keys.
			checkFilters(t, s, all, mode != "sealed" && mode != "missing")
		})
	}
}

// smallChunks makes new stores index bodies in chunks of 1<<shift
// exchanges, until the function it returns is called.
func smallChunks(shift int64) func() {
	old := newChunkShift
	newChunkShift = shift
	return func() { newChunkShift = old }
}

// buildAll builds the skip index of every sealed chunk that lacks it.
func buildAll(t *testing.T, s *Store) {
	t.Helper()
	s.w.mu.Lock()
	s.w.bloomPending = true
	s.w.mu.Unlock()
	for {
		if err := s.w.buildStep(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.w.mu.Lock()
		more := s.w.bloomPending
		s.w.mu.Unlock()
		if !more {
			return
		}
	}
}

func checkFilters(t *testing.T, s *Store, all []*bodytap.Exchange, bodyOnly bool) {
	ctx := context.Background()
	for _, f := range allFilters(t) {
		name := f.String()
		if name == "" && f.Root != nil {
			name = filter.Format(f.Root)
		}
		if bodyOnly && !strings.Contains(name, "~b") {
			continue
		}
		w := want(all, f)
		got, err := s.List(ctx, Query{Filter: f})
		if err != nil {
			t.Errorf("%s: List: %v", name, err)
			continue
		}
		if !slices.Equal(ids(got), w) {
			t.Errorf("%s: List returned %d exchanges, Filter.Match %d", name, len(got), len(w))
			continue
		}
		n, err := s.Count(ctx, Query{Filter: f})
		if err != nil || n != int64(len(w)) {
			t.Errorf("%s: Count = %d, %v; want %d", name, n, err, len(w))
		}
		// Pages by the Before cursor.
		if paged := pagedIDs(t, s, Query{Filter: f, Limit: 97, MaxScan: 300}); !slices.Equal(paged, w) {
			t.Errorf("%s: pages hold %d exchanges, want %d", name, len(paged), len(w))
		}
		// Scan with a limit.
		if scanned := scannedIDs(t, s, Query{Filter: f, Limit: 300}); !slices.Equal(scanned, w[:min(300, len(w))]) {
			t.Errorf("%s: Scan yielded %d exchanges, want %d", name, len(scanned), min(300, len(w)))
		}
		if testing.Verbose() {
			t.Logf("%-45s %4d", name, len(w))
		}
	}
}

func TestTimeRange(t *testing.T) {
	s, _ := openTest(t, Options{})
	all := fill(t, s, newGen(3), 500)
	ctx := context.Background()
	since := all[400].Start.Add(500 * time.Microsecond)
	until := all[100].Start.Add(-time.Nanosecond)
	var w []bodytap.ID
	for _, x := range all {
		if !x.Start.Before(since) && x.Start.Before(until) {
			w = append(w, x.ID)
		}
	}
	got, err := s.List(ctx, Query{Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), w) {
		t.Errorf("Since/Until: got %d, want %d", len(got), len(w))
	}
	n, _ := s.Count(ctx, Query{Since: since, Until: until})
	if n != int64(len(w)) {
		t.Errorf("Count = %d, want %d", n, len(w))
	}
	got, _ = s.List(ctx, Query{After: all[10].ID})
	if !slices.Equal(ids(got), ids(summaries(all[:10]))) {
		t.Errorf("After: got %d", len(got))
	}
}

func summaries(xs []*bodytap.Exchange) []Summary {
	var out []Summary
	for _, x := range xs {
		out = append(out, Summary{ID: x.ID})
	}
	return out
}

// TestOrDroppedBranchArgs: an | whose one side SQL cannot narrow (a header
// match, decided in Go) drops the other side's condition, and must drop
// its arguments too; left behind, they bound to the next page's cursor
// and lists stopped after the first page of candidates.
func TestOrDroppedBranchArgs(t *testing.T) {
	s, _ := openTest(t, Options{})
	g := newGen(7)
	var xs []*bodytap.Exchange
	for range 3 * 256 {
		xs = append(xs, g.next())
	}
	s.RecordBatch(xs)
	flush(t, s)
	for _, expr := range []string{"~u needle | ~h User-Agent", "~h User-Agent | ~d shop", "!(~u needle | ~h Accept) | ~m GET"} {
		f := mustParse(t, expr)
		want := 0
		for _, x := range xs {
			if f.Match(x) {
				want++
			}
		}
		got, err := s.List(context.Background(), Query{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Errorf("%q: listed %d, want %d", expr, len(got), want)
		}
	}
}
