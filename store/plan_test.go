package store

import (
	"context"
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
// cursor, Get, the tail, and the indexed filters.
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
		{name: "method", q: Query{Limit: 50, Filter: mustParse(t, "~m PROPFIND")}, want: "USING INDEX exchanges_method (method=?)", wantNot: "TEMP B-TREE"},
		{name: "method and status", q: Query{Limit: 50, Filter: mustParse(t, "~m POST & ~c 5xx")}, want: "USING INDEX exchanges_method (method=?)", wantNot: "TEMP B-TREE"},
		{name: "domain", q: Query{Limit: 50, Filter: mustParse(t, "~d api.example.com")}, want: "USING INDEX exchanges_domain (domain=?)", wantNot: "TEMP B-TREE"},
		{name: "status", q: Query{Limit: 50, Filter: mustParse(t, "~c 404")}, want: "USING INDEX exchanges_status (status=?)", wantNot: "TEMP B-TREE"},
		{name: "rare path prefix", q: Query{Limit: 50, Filter: mustParse(t, `~path "/rare/**"`)}, want: "USING INDEX exchanges_path (seg=? AND path>? AND path<?)"},
		{name: "common path prefix", q: Query{Limit: 50, Filter: mustParse(t, `~path "/api/**"`)}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "rare status class", q: Query{Limit: 50, Filter: mustParse(t, "~c 1xx")}, want: "USING INDEX exchanges_status (status>? AND status<?)"},
		{name: "slow", q: Query{Limit: 50, Filter: mustParse(t, "~dur >1h")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "large", q: Query{Limit: 50, Filter: mustParse(t, "~size >1G")}, want: "SCAN e USING INDEX sqlite_autoindex_exchanges_1", wantNot: "TEMP B-TREE"},
		{name: "slow and rare method", q: Query{Limit: 50, Filter: mustParse(t, "~m PROPFIND & ~dur >1h")}, want: "USING INDEX exchanges_method (method=?)", wantNot: "TEMP B-TREE"},
		{name: "errors", q: Query{Limit: 50, Filter: mustParse(t, "~e")}, want: "USING INDEX exchanges_error", wantNot: "TEMP B-TREE"},
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
