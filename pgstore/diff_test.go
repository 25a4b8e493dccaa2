package pgstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/testutil"
	"github.com/bodytap/bodytap/store"
)

// filterExprs are the filters of the local store's test, which every
// store must decide as Filter.Match does.
var filterExprs = []string{
	"", "~all", "~http", "~m POST", "~m post", "~m ^P", "~m XYZ", "!~m GET",
	"~d example.com", "~d ^example\\.com$", "~d ::1", "~d EXAMPLE",
	"~u /api", "api", "~u https://", "~u q=needle", "~u \"(?i)Q=NEEDLE\"", "~u \"(?i)user_id\"",
	"~u \"(?i)q=user.id\"", "~u \"(?i)API/USERS/7\"", "~u %", "~u _", "~u \"(?i)s\"", "~u \\\\",
	"~src \"(?i)192\\.0\"", "~c 200", "~c 5xx", "~c 400-499", "!~c 200",
	"~q", "~s", "~e", "!~e", "~a", "!~a", "~websocket",
	"~h Authorization", "~hq ^Authorization: Bearer", "~hs Content-Type", "!~h Authorization",
	"~h Authorization | ~c 5xx", "~h Authorization & ~m POST",
	"~b needle", "~bq needle", "~bs needle", "~bs Haystack", "~bs haystack", "~b user_id",
	"~b quantité", "~b 日本語", "~b \"ne+dle\"", "~b \"(alpha|beta)\"", "!~b needle",
	"~bs ^$", "~bq ^$", "~b \\x89PNG", "~bs color",
	"~t json", "~tq json", "~ts json", "~ts text/plain", "~ts ^$", "!~ts css", "~t \"^$\"",
	"~src 192.0.2.1", "~dst :443$", "~dst example.com:80", "~dst \"^\\[::1\\]\"",
	"~route users", "~route ^$", "~route \"GET /api/users/{id}\"", "~m \"G.T\"", "~d \"a.b\"",
	"~dur >250ms", "~dur <=100ms", "~size >=300", "~sizeq >100", "~sizes =0",
	"~path /api/users", "~path \"/api/*\"", "~path \"/api/**\"", "~path \"/api/users/*/orders\"",
	"~path \"/static/*.css\"", "~path \"/?\"", "~path \"**.png\"",
	"~c 5xx & ~m POST", "~m POST ~c 201", "(~m GET | ~m DELETE) & !~c 200",
	"~d example.com & ~path \"/api/**\" & ~dur >100ms", "!(~m GET & ~c 200)",
	"~b needle & ~h Accept", "!(~b needle | ~bs Haystack)", "!~u api & ~s", "!(~u api | ~d shop)",
	// URL and client address matches that SQL decides (pgRegexp): folds
	// beyond ASCII, metacharacters of Go and of PostgreSQL, anchors,
	// newlines, classes, repetition, alternation.
	"~u /orders/", `~u "(?-i)/ORDERS/"`, "~u ſ", "~u K", `~u "\x{212A}"`, `~u "(?-i)k"`, "~u é", "~u É", "~u ß",
	"~u ẞ", "~u Ω", "~u 😀", `~u "^https://"`, `~u "7$"`, `~u "x.y"`, `~u "x=.*"`, `~u "^.+$"`,
	`~src "^198"`, `~src "(?m)^198"`, `~src "(?m)^$"`, `~src "^.198"`, `~src "(?s)^.198"`, `~src "(?m):80$"`, `~u "\Ahttp"`, `~u "[0-9]\z"`, `~u "a\.b\*c\+d\?\(e\)\[f\]\{g\}\|h\^i\$j\\\\k"`,
	`~u "[%_]"`, `~u "\\\\y"`, `~u "\bk\b"`, `~u "\Bs"`, `~u "users/[0-9]{1,2}(/orders)?$"`, `~u "users/7/?$"`,
	`~u "(alpha|needle|ße)"`, `~u "q=.*É"`, `~u "[k-s]{3}"`, `~u "[^a-z/:.]"`, `~u "\pL{4}"`, `~u "\p{Greek}"`,
	`~u "[[:upper:]]"`, `~u "(?U)a+?b"`, `~u "(x|)y"`, `~u "o{2,}"`, `~u "(?i:K)(?-i:s)"`, `~u "\x00"`,
	`~src "^\[::1\]"`, `~src ":10[0-3][0-9]$"`, "~src Ké", `~src "^\n"`, `~src "\.0\."`,
	"!~u /orders/", "~u /orders/ & ~m POST", "~u /orders/ | ~c 500", "!(~u ſ | ~src Ké)",
}

// handASTs are trees Parse does not build.
func handASTs() []filter.Node {
	re := regexp.MustCompile
	return []filter.Node{
		filter.Match{Op: filter.OpURL, Pattern: "/api"},
		&filter.Flag{Op: filter.OpAll},
		filter.Flag{Op: "~nonsense"},
		filter.Match{Op: "~nonsense", Pattern: "x", Re: re("x")},
		filter.Compare{Op: filter.OpDuration, Cmp: "!=", Value: 1},
		filter.Not{X: filter.Match{Op: filter.OpURL, Pattern: "/api"}},
		filter.Path{Glob: "/api/*", Prefix: "/zzz"},
		filter.Match{Op: filter.OpBody, Pattern: "NEEDLE", Re: re("(?i)NEEDLE")},
		filter.Match{Op: filter.OpBody, Pattern: "SKS", Re: re("(?i)sks")},
		filter.Or{X: filter.Status{Lo: 500, Hi: 599}, Y: filter.Not{X: filter.Flag{Op: filter.OpResponse}}},
	}
}

var (
	dMethods = []string{"GET", "GET", "POST", "PUT", "DELETE", "get", "G\xffT"}
	dHosts   = []string{"example.com", "api.example.com", "localhost:8080", "[::1]:9000", "shop.test", "EXAMPLE.com", "a\x00b"}
	dPaths   = []string{"/", "/api/users", "/api/users/7", "/api/users/7/orders", "/static/style.css", "/img/logo.png", "/a_b%c", "/s\xff"}
	dRoutes  = []string{"", "GET /api/users", "GET /api/users/{id}", "POST /api/items"}
	dWords   = []string{"alpha", "beta", "needle", "Haystack", "user_id", "quantité", "日本語", "NEEDLE", "ſks"}
	dCtypes  = [][]string{nil, {"application/json"}, {"text/css"}, {"image/png"}, {"text/plain", "application/json"}, {""}, {"text/\xffodd"}}
	// Queries as they are written in URLs (RawQuery, which URL.String
	// does not escape) with what case folding and regular expressions
	// make much of, and one that is not UTF-8. None holds a newline,
	// which no request's URL does (net/url refuses it, and the local
	// store, which parses the URL back, would lose it): the addresses
	// hold one instead.
	dRawQueries = []string{"k=K", "\u212A=kelvin", "s=ſ", "é=É", "ß=SS", "ẞ", "Ω=ω", "😀", "x=y",
		"a.b*c+d?(e)[f]{g}|h^i$j\\k", "%_", "\\y\\m", "user_id=7", "q=ße", "a b", "\xffs"}
	dPathsURL = []string{"/orders/12", "/ORDERS/7", "/api/users/7/orders", "/ſtatic/a.css", "/café", "/Kelvin/\u212A"}
	dRemotes  = []string{"192.0.2.0:1024", "192.0.2.1:1030", "[::1]:9000", "Ké:1", "\n198.51.100.1:80", "x\xffy"}
)

// randomExchange makes an exchange with odd strings now and then: not
// UTF-8, NUL, several Content-Types, withheld bodies.
func randomExchange(r *rand.Rand, t time.Time) *bodytap.Exchange {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	host := pick(dHosts)
	u := &url.URL{Scheme: pick([]string{"http", "https"}), Host: strings.ReplaceAll(host, "\x00", ""), Path: pick(dPaths)}
	if r.IntN(3) == 0 {
		u.Path = pick(dPathsURL)
	}
	switch r.IntN(4) {
	case 0:
		u.RawQuery = "q=" + url.QueryEscape(pick(dWords))
	case 1:
		u.RawQuery = pick(dRawQueries)
	}
	remote := fmt.Sprintf("192.0.2.%d:%d", r.IntN(3), 1024+r.IntN(9))
	if r.IntN(4) == 0 {
		remote = pick(dRemotes)
	}
	x := &bodytap.Exchange{
		ID:       bodytap.NewID(t),
		Start:    t,
		Duration: time.Duration(r.IntN(500)) * time.Millisecond,
		Route:    pick(dRoutes),
		Request: bodytap.Request{
			Method: pick(dMethods), URL: u, Proto: "HTTP/1.1", Host: host,
			RemoteAddr: remote,
			Header:     http.Header{"Accept": {"*/*"}},
		},
	}
	if r.IntN(2) == 0 {
		b := []byte(pick(dWords) + " " + pick(dWords))
		if r.IntN(3) == 0 {
			b = []byte(strings.Repeat(string(b)+" ", 50))
		}
		x.Request.Body = bodytap.Body{Bytes: b, Size: int64(len(b)), EOF: true}
		if ct := dCtypes[r.IntN(len(dCtypes))]; ct != nil {
			x.Request.Header["Content-Type"] = ct
		}
	}
	if r.IntN(8) == 0 {
		x.Request.Header.Set("Authorization", "Bearer x")
	}
	if r.IntN(10) != 0 {
		x.Response.Status = []int{200, 201, 301, 404, 500, 503}[r.IntN(6)]
		x.Response.Header = http.Header{}
		if ct := dCtypes[r.IntN(len(dCtypes))]; ct != nil {
			x.Response.Header["Content-Type"] = ct
		}
		switch r.IntN(5) {
		case 0:
			p := []byte("\x89PNG\r\n\x1a\n\x00needle\xff")
			x.Response.Body = bodytap.Body{Bytes: p, Size: 4096, Truncated: true}
		case 1:
			x.Response.Body = bodytap.Body{Bytes: []byte{}, EOF: true}
		case 2:
			x.Response.Body = bodytap.Body{Withheld: true, Size: 10}
		default:
			b := "<p>" + pick(dWords) + " color Haystack</p>"
			x.Response.Body = bodytap.Body{Bytes: []byte(b), Size: int64(len(b)), EOF: true}
		}
	}
	if r.IntN(10) == 0 {
		x.Err = bodytap.ErrClientGone
	}
	if r.IntN(20) == 0 {
		x.Hijacked = true
		x.Request.Header.Set("Upgrade", "websocket")
	}
	return x
}

// randomFilter combines filters of the corpus with !, & and |.
func randomFilter(r *rand.Rand, atoms []filter.Node, depth int) filter.Node {
	if depth == 0 || r.IntN(3) == 0 {
		return atoms[r.IntN(len(atoms))]
	}
	switch r.IntN(3) {
	case 0:
		return filter.Not{X: randomFilter(r, atoms, depth-1)}
	case 1:
		return filter.And{X: randomFilter(r, atoms, depth-1), Y: randomFilter(r, atoms, depth-1)}
	}
	return filter.Or{X: randomFilter(r, atoms, depth-1), Y: randomFilter(r, atoms, depth-1)}
}

// TestDifferential stores the same random exchanges in PostgreSQL and in
// the local store and checks that both select, count and page what
// Filter.Match selects, for every filter of the corpus and random
// combinations of them.
func TestDifferential(t *testing.T) {
	// Small chunks, some of whose lists of keys overflow: filters read
	// the ranges of chunks that list a value, and of those that list none.
	// Walks of the chunks take windows of 2, 8, 32...
	defer func(n, k, w int) { chunkRows, maxChunkKeys, firstWindow = n, k, w }(chunkRows, maxChunkKeys, firstWindow)
	chunkRows, maxChunkKeys, firstWindow = 32, 4, 2
	n := 600
	if testutil.RaceEnabled {
		n = 200
	}
	pg, _ := openTest(t, Options{})
	local, err := store.Open(filepath.Join(t.TempDir(), "local.db"), store.Options{Logger: pg.log})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2024, 2, 20, 22, 0, 0, 0, time.UTC)
	var xs []*bodytap.Exchange
	for i := range n {
		xs = append(xs, randomExchange(r, t0.Add(time.Duration(i)*17*time.Second))) // across midnight
	}
	for b := 0; b < n; b += 100 {
		pg.RecordBatch(xs[b:min(b+100, n)])
		local.RecordBatch(xs[b:min(b+100, n)])
	}
	ctx := context.Background()
	for _, st := range []interface{ Flush(context.Context) error }{pg, local} {
		if err := st.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var filters []*filter.Filter
	var atoms []filter.Node
	for _, e := range filterExprs {
		f, err := filter.Parse(e)
		if err != nil {
			t.Fatalf("Parse(%q): %v", e, err)
		}
		filters = append(filters, f)
		if f.Root != nil {
			atoms = append(atoms, f.Root)
		}
	}
	for _, a := range handASTs() {
		filters = append(filters, &filter.Filter{Root: a})
	}
	atoms = append(atoms, handASTs()...)
	for range 100 {
		filters = append(filters, &filter.Filter{Root: randomFilter(r, atoms, 3)})
	}
	for _, f := range filters {
		var want []bodytap.ID
		for _, x := range slices.Backward(xs) {
			if f.Match(x) {
				want = append(want, x.ID)
			}
		}
		name := f.String()
		if name == "" {
			name = fmt.Sprintf("%#v", f.Root)
		}
		for _, src := range []struct {
			name string
			list func(store.Query) ([]store.Summary, bodytap.ID, error)
			cnt  func(store.Query) (int64, error)
		}{
			{"postgres", func(q store.Query) ([]store.Summary, bodytap.ID, error) { return pg.ListPage(ctx, q) },
				func(q store.Query) (int64, error) { return pg.Count(ctx, q) }},
			{"local", func(q store.Query) ([]store.Summary, bodytap.ID, error) { return local.ListPage(ctx, q) },
				func(q store.Query) (int64, error) { return local.Count(ctx, q) }},
		} {
			sums, _, err := src.list(store.Query{Filter: f})
			if err != nil {
				t.Fatalf("%s: %s: %v", src.name, name, err)
			}
			if got := sumIDs(sums); !slices.Equal(got, want) {
				t.Errorf("%s: filter %q: got %d exchanges, want %d (first difference at %d)", src.name, name, len(got), len(want), firstDiff(got, want))
				continue
			}
			if c, err := src.cnt(store.Query{Filter: f}); err != nil || c != int64(len(want)) {
				t.Errorf("%s: Count(%q): got %d, %v, want %d", src.name, name, c, err, len(want))
			}
			// Pages of 13 add up to the whole list.
			paged := pageAll(t, src.list, store.Query{Filter: f, Limit: 13})
			if !slices.Equal(paged, want) {
				t.Errorf("%s: filter %q: pages of 13 gave %d exchanges, want %d", src.name, name, len(paged), len(want))
			}
		}
	}
}

// pageAll returns the IDs of the pages that list returns for q, one
// after the other.
func pageAll(t *testing.T, list func(store.Query) ([]store.Summary, bodytap.ID, error), q store.Query) []bodytap.ID {
	t.Helper()
	var ids []bodytap.ID
	for range 10_000 {
		sums, next, err := list(q)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sumIDs(sums)...)
		if next.IsZero() {
			return ids
		}
		q.Before = next
	}
	t.Fatalf("pages of %+v never end", q)
	return nil
}

func sumIDs(sums []store.Summary) []bodytap.ID {
	out := []bodytap.ID{}
	for _, s := range sums {
		out = append(out, s.ID)
	}
	return out
}

func firstDiff(a, b []bodytap.ID) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
