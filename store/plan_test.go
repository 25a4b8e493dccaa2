package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
)

// explain returns SQLite's plan of query.
func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// TestQueryPlans checks that the queries that must stay fast on a large
// store use their indexes: pages newest first without sorting, the
// cursor, Get, the tail, and the indexed filters; filters on the columns
// the keys of chunks serve (see keys.go) walk the ID index newest first
// when they run a page at a time (TestKeyedChunks checks when they do).
func TestQueryPlans(t *testing.T) {
	s, _ := openTest(t, Options{NoFullText: true})
	tmpl := templates(64, 64)
	ingest(t, s, tmpl, 3000, time.Now().Add(-time.Hour))
	// A rare value and a rare path, that the probes find few of.
	rare := *tmpl[0]
	rare.Start = time.Now()
	rare.ID = bodytap.NewID(rare.Start)
	rare.Request.Method = "PROPFIND"
	rare.Request.URL = mustURL("https://api.example.com/rare/path")
	s.Record(&rare)
	flush(t, s)
	ctx := context.Background()
	// Let the planner know the data, as PRAGMA optimize does.
	if _, err := s.w.conn.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	cursor := rare.ID
	cases := []struct {
		name     string
		q        Query
		want     string // in the plan
		wantNot  string
		fromTail bool
	}{
		{name: "first page", q: Query{Limit: 50}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "cursor", q: Query{Limit: 50, Before: cursor}, want: "SEARCH e USING INDEX sqlite_autoindex_exchanges_1 (id<?)", wantNot: "TEMP B-TREE"},
		{name: "since", q: Query{Limit: 50, Since: time.Now().Add(-time.Minute)}, want: "USING INDEX sqlite_autoindex_exchanges_1 (id>?)"},
		{name: "method", q: Query{Limit: 50, Filter: mustParse(t, "~m PROPFIND")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "method and status", q: Query{Limit: 50, Filter: mustParse(t, "~m POST & ~c 5xx")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "domain", q: Query{Limit: 50, Filter: mustParse(t, "~d api.example.com")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "status", q: Query{Limit: 50, Filter: mustParse(t, "~c 404")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "rare path prefix", q: Query{Limit: 50, Filter: mustParse(t, `~path "/rare/**"`)}, want: "USING INDEX exchanges_path (seg=? AND path>? AND path<?)"},
		{name: "common path prefix", q: Query{Limit: 50, Filter: mustParse(t, `~path "/api/**"`)}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "status class", q: Query{Limit: 50, Filter: mustParse(t, "~c 1xx")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "slow", q: Query{Limit: 50, Filter: mustParse(t, "~dur >1h")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "large", q: Query{Limit: 50, Filter: mustParse(t, "~size >1G")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "slow and rare path", q: Query{Limit: 50, Filter: mustParse(t, `~path "/rare/**" & ~dur >1h`)}, want: "USING INDEX exchanges_path (seg=? AND path>? AND path<?)"},
		{name: "errors", q: Query{Limit: 50, Filter: mustParse(t, "~e")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "tail", q: Query{Filter: mustParse(t, "~m POST & ~c 5xx")}, want: "SEARCH e USING INTEGER PRIMARY KEY (rowid>?)", wantNot: "TEMP B-TREE", fromTail: true},
	}
	for _, c := range cases {
		tx, err := s.rdb.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var query string
		var args []any
		if c.fromTail {
			p, err := s.compile(ctx, tx, c.q, modeTail, 0)
			if err != nil {
				t.Fatal(err)
			}
			query, args = tailQuery(p, 0)
			p.close()
		} else {
			p, err := s.compile(ctx, tx, c.q, modePage, c.q.Limit)
			if err != nil {
				t.Fatal(err)
			}
			query, args = listQuery(p, c.q.Limit)
			p.close()
		}
		tx.Rollback()
		plan := explain(t, s, query, args...)
		if !strings.Contains(plan, c.want) || c.wantNot != "" && strings.Contains(plan, c.wantNot) {
			t.Errorf("%s: plan\n%s\nwant %q, not %q\n(query %s)", c.name, plan, c.want, c.wantNot, query)
		}
	}
	plan := explain(t, s, s.loadQuery("id"), rare.ID[:])
	if !strings.Contains(plan, "SEARCH e USING INDEX sqlite_autoindex_exchanges_1 (id=?)") ||
		!strings.Contains(plan, "SEARCH b USING INTEGER PRIMARY KEY (rowid=?)") {
		t.Errorf("Get: plan\n%s", plan)
	}
}

// TestKeyedChunks checks that a filter on a value few exchanges have, of
// a column that the keys of chunks serve, runs chunk by chunk and reads
// only the chunks that may hold it, and that one on a value most chunks
// hold runs a page at a time; both select what Filter.Match does.
func TestKeyedChunks(t *testing.T) {
	defer smallChunks(4)()
	s, _ := openTest(t, Options{NoFullText: true})
	tmpl := templates(64, 64)
	t0 := time.Now().Add(-time.Hour)
	// Rare values, in three exchanges far apart.
	const n = 2000
	// And a pair of a common method and a common status that no
	// template has, in three others.
	pairs := map[string]bool{}
	for _, x := range tmpl {
		pairs[x.Request.Method+" "+strconv.Itoa(x.Response.Status)] = true
	}
	var pairMethod string
	var pairStatus int
	for _, x := range tmpl {
		for _, y := range tmpl {
			if !pairs[x.Request.Method+" "+strconv.Itoa(y.Response.Status)] {
				pairMethod, pairStatus = x.Request.Method, y.Response.Status
			}
		}
	}
	if pairMethod == "" {
		t.Fatal("every pair of method and status is common")
	}
	var xs []*bodytap.Exchange
	for i := range n {
		x := *tmpl[i%len(tmpl)]
		x.Start = t0.Add(time.Duration(i) * time.Millisecond)
		x.ID = bodytap.NewID(x.Start)
		switch i {
		case 100, 900, 1700:
			x.Request.Method = "PROPFIND"
			x.Request.Host = "rare.example.org"
			x.Request.URL = mustURL("https://rare.example.org/rare")
			x.Response.Status = 418
			x.Err = errors.New("teapot")
		case 300, 1100, 1900:
			x.Request.Method = pairMethod
			x.Response.Status = pairStatus
		}
		xs = append(xs, &x)
	}
	s.RecordBatch(xs)
	flush(t, s)
	ctx := context.Background()
	var chunks int64
	if err := s.rdb.QueryRow("SELECT count(*) FROM chunk_keys").Scan(&chunks); err != nil || chunks < n/16-1 {
		t.Fatalf("%d chunks have keys (%v), want every sealed one", chunks, err)
	}
	all := scanAll(t, s, n)
	for _, c := range []struct {
		filter string
		chunky bool
	}{
		{"~m PROPFIND", true},
		{"~d rare.example.org", true},
		{"~c 418", true},
		{"~c 418 & ~m PROPFIND", true},
		{"~e & ~u rare", true},
		{fmt.Sprintf("~m %s & ~c %d", pairMethod, pairStatus), true}, // a rare pair
		{"~m " + pairMethod, false},
		{fmt.Sprintf("~c %d", pairStatus), false},
		{"~m PROPFIND | ~m GET", false}, // not a conjunct the keys serve
		{"~m GET", false},
		{"~c 2xx", false},
		{"!~m PROPFIND", false},
	} {
		q := Query{Filter: mustParse(t, c.filter)}
		p, err := s.chunkPlan(ctx, q, false)
		if err != nil {
			t.Fatal(err)
		}
		if (p != nil) != c.chunky {
			t.Errorf("%s: runs chunk by chunk: %v, want %v", c.filter, p != nil, c.chunky)
		}
		// A page decides by the newest chunks first (keysProbe).
		pp, err := s.chunkPlan(ctx, Query{Filter: q.Filter, Limit: 50}, true)
		if err != nil {
			t.Fatal(err)
		}
		if (pp != nil) != c.chunky {
			t.Errorf("%s: a page runs chunk by chunk: %v, want %v", c.filter, pp != nil, c.chunky)
		}
		if pp != nil {
			pp.close()
		}
		if p != nil {
			// The three chunks of the rare exchanges, and the newest,
			// unsealed, at most.
			if left := (p.rids[1]>>p.shift - p.rids[0]>>p.shift + 1) - int64(len(p.skip)); left > 4 {
				t.Errorf("%s: %d chunks left to read, want at most 4", c.filter, left)
			}
			p.close()
		}
		w := want(all, q.Filter)
		got, err := s.List(ctx, q)
		if err != nil || !slices.Equal(ids(got), w) {
			t.Errorf("%s: List = %d exchanges (%v), Filter.Match %d", c.filter, len(got), err, len(w))
		}
		if n, err := s.Count(ctx, q); err != nil || n != int64(len(w)) {
			t.Errorf("%s: Count = %d (%v), want %d", c.filter, n, err, len(w))
		}
		if paged := pagedIDs(t, s, Query{Filter: q.Filter, Limit: 2}); !slices.Equal(paged, w) {
			t.Errorf("%s: pages hold %d exchanges, want %d", c.filter, len(paged), len(w))
		}
	}
}
