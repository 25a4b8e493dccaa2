package pgstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/cputime"
	"github.com/bodytap/bodytap/internal/pgtest"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5"
)

// TestPerf measures the PostgreSQL store as the issue asks (scripts/pg-bench.sh
// runs it): ingest from 4 concurrent writers with 1 KiB bodies, as
// shipped, without NOTIFY, without the xid index and with the B-trees
// that schema v4 dropped; the first page of filtered queries and body
// searches at BODYTAP_PG_PERF stored exchanges; and viewer paging
// against the local store holding the same exchanges. It prints a report
// in Markdown, and runs only when BODYTAP_PG_PERF is set (to the number of
// exchanges, such as 1000000). BODYTAP_PG_PERF_ROUNDS sets the rounds of
// the ingest variants (0: none). BODYTAP_PG_PERF_URL names a database to
// use instead of a throwaway cluster's: TestPerf drops its tables.
func TestPerf(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BODYTAP_PG_PERF"))
	if n <= 0 {
		t.Skip("set BODYTAP_PG_PERF to the number of exchanges to measure at (scripts/pg-bench.sh)")
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("BODYTAP_PG_PERF_ROUNDS")); err == nil && v >= 0 {
		rounds = v
	}
	p := &perf{t: t, quiet: slog.New(slog.NewTextHandler(io.Discard, nil))}
	p.report("## PostgreSQL store: %d exchanges (%s, %d cores, %s)\n", n, serverVersion(t, p.newDB()), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	if rounds > 0 {
		p.ingestVariants(min(n, 100_000), rounds)
	}
	pg, local := p.load(n)
	p.firstPages(n, pg, local)
	p.paging(n, pg, local)
	p.counts(n, pg, local)
}

type perf struct {
	t     *testing.T
	quiet *slog.Logger
}

func (p *perf) report(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func (p *perf) newDB() string {
	if u := os.Getenv("BODYTAP_PG_PERF_URL"); u != "" {
		return u
	}
	return pgtest.DB(p.t)
}

// ingestVariants measures ingest as shipped, without NOTIFY, without
// the xid index and with the B-trees on status, method and domain of
// schema v3, in rotated rounds, each on a fresh database.
func (p *perf) ingestVariants(n, rounds int) {
	t := p.t
	variants := []struct {
		name            string
		noNotify, noXid bool
		before          string // SQL run before the round
	}{{"as shipped (NOTIFY + xid index)", false, false, ""}, {"without NOTIFY", true, false, ""}, {"without the xid index", false, true, ""},
		{"with B-trees on status, method, domain (as schema v3)", false, false,
			"CREATE INDEX ON exchanges (status, id); CREATE INDEX ON exchanges (method, id); CREATE INDEX ON exchanges (domain, id)"}}
	rates := make([][]float64, len(variants))
	gocpu := make([][]float64, len(variants))
	pgcpu := make([][]float64, len(variants))
	for round := range rounds {
		for k := range variants {
			i := (k + round) % len(variants)
			u := p.newDB()
			resetDB(t, u)
			ss := openWriters(t, u, 4, p.quiet)
			if variants[i].noXid {
				if _, err := ss[0].pool.Exec(context.Background(), "DROP INDEX exchanges_xid"); err != nil {
					t.Fatal(err)
				}
			}
			if sql := variants[i].before; sql != "" {
				if _, err := ss[0].pool.Exec(context.Background(), sql); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range ss {
				s.noNotify = variants[i].noNotify
			}
			rate, goCPU, pgCPU := ingest(t, ss, n)
			rates[i] = append(rates[i], rate)
			gocpu[i] = append(gocpu[i], float64(goCPU.Microseconds()))
			pgcpu[i] = append(pgcpu[i], float64(pgCPU.Microseconds()))
		}
	}
	p.report("Ingest, 4 writers (4 Stores, batches of 1,000), 1 KiB response bodies, %d exchanges a round into an empty database, medians of %d rotated rounds:\n", n, rounds)
	p.report("| variant | exchanges/s | ratio to as shipped | CPU µs an exchange: writers | server |")
	p.report("|---|---:|---:|---:|---:|")
	for i, v := range variants {
		p.report("| %s | %.0f | %.3f | %.0f | %.0f |", v.name, median(rates[i]), median(ratios(rates[i], rates[0])), median(gocpu[i]), median(pgcpu[i]))
	}
}

type lister interface {
	ListPage(context.Context, store.Query) ([]store.Summary, bodytap.ID, error)
	Count(context.Context, store.Query) (int64, error)
}

// load writes n exchanges into a fresh PostgreSQL database from 4
// writers and into a local store, and opens both for queries.
func (p *perf) load(n int) (pg *Store, local *store.Store) {
	t, ctx := p.t, context.Background()
	u := p.newDB()
	resetDB(t, u)
	ss := openWriters(t, u, 4, p.quiet)
	rate, goCPU, pgCPU := ingest(t, ss, n)
	p.report("\nLoad of %d exchanges into PostgreSQL, 4 writers: %.0f exchanges/s, CPU an exchange: %v in the writers, %v in the server", n, rate, goCPU, pgCPU)
	pg, err := Open(ctx, u, Options{ReadOnly: true, Logger: p.quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	if _, err := pg.pool.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	local, err = store.Open(filepath.Join(t.TempDir(), "local.db"), store.Options{Logger: p.quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	start := time.Now()
	g := newPerfGen()
	for i := 0; i < n; i += 1000 {
		local.RecordBatch(g.batch(n, i, min(i+1000, n)))
	}
	if err := local.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	p.report("Load of the same exchanges into the local store, 1 writer: %.0f exchanges/s", float64(n)/time.Since(start).Seconds())
	for name, c := range map[string]lister{"PostgreSQL": pg, "local": local} {
		got, err := c.Count(ctx, store.Query{})
		if err != nil || got != int64(n) {
			t.Fatalf("%s store holds %d exchanges (%v), want %d", name, got, err, n)
		}
	}
	return pg, local
}

// fullLimit bounds a first page without MaxScan.
const fullLimit = 20 * time.Second

// firstPages times the first page of filtered queries and body searches,
// as the viewer asks it (MaxScan 5,000) and whole.
func (p *perf) firstPages(n int, pg *Store, local *store.Store) {
	t := p.t
	queries := []struct{ name, filter string }{
		{"method and status", "~m POST & ~c 500"},
		{"domain", "~d api-3.example.com"},
		{"URL regexp", `~u "/orders/1\d+"`},
		{"status, method, duration", "~c 404 & ~m GET & ~dur >300ms"},
		{"no exchange: status", "~c 418"},
		{"body search, 1% of exchanges", "~b zebracorn"},
		{"body search, 1 exchange (the oldest)", "~b quokkaquartz"},
		{"body search, no exchange", "~b nowhere-to-be-found"},
	}
	p.report("\nFirst page at %d exchanges (101 rows, newest first), in ms, median of 3 runs: \"viewer\" stops after 5,000 candidates examined in Go (MaxScan, as web/ asks), \"whole\" does not (one run, given up after %v):\n", n, fullLimit)
	p.report("| query | PostgreSQL viewer | PostgreSQL whole | local viewer | local whole | rows (whole) |")
	p.report("|---|---:|---:|---:|---:|---:|")
	for _, q := range queries {
		f, err := filter.Parse(q.filter)
		if err != nil {
			t.Fatal(err)
		}
		var cells []string
		rows := -1
		for _, st := range []lister{pg, local} {
			var times []float64
			for range 3 {
				start := time.Now()
				if _, _, err := st.ListPage(context.Background(), store.Query{Filter: f, Limit: 101, MaxScan: 5000}); err != nil {
					t.Fatal(err)
				}
				times = append(times, ms(time.Since(start)))
			}
			cells = append(cells, fmt.Sprintf("%.1f", median(times)))
			ctx, cancel := context.WithTimeout(context.Background(), fullLimit)
			start := time.Now()
			sums, _, err := st.ListPage(ctx, store.Query{Filter: f, Limit: 101})
			d := time.Since(start)
			timedOut := ctx.Err() != nil
			cancel()
			switch {
			case timedOut:
				cells = append(cells, fmt.Sprintf("> %.0f", ms(fullLimit)))
			case err != nil:
				t.Fatal(err)
			default:
				cells = append(cells, fmt.Sprintf("%.1f", ms(d)))
				rows = len(sums)
			}
		}
		p.report("| %s `%s` | %s | %d |", q.name, q.filter, strings.Join(cells, " | "), rows)
	}
}

// paging times the viewer's pages one after the other on both stores.
func (p *perf) paging(n int, pg *Store, local *store.Store) {
	t := p.t
	const pages = 20
	p.report("\nViewer paging at %d exchanges: %d pages of 101 rows one after the other (keyset on the ID, MaxScan 5,000), median ms a page, rounds rotated between the stores:\n", n, pages)
	p.report("| query | PostgreSQL | local | ratio |")
	p.report("|---|---:|---:|---:|")
	stores := []lister{pg, local}
	for _, fs := range []string{"", "~m POST", "~c 500", "~u /orders/", "~b zebracorn"} {
		var f *filter.Filter
		if fs != "" {
			var err error
			if f, err = filter.Parse(fs); err != nil {
				t.Fatal(err)
			}
		}
		per := make([][]float64, len(stores))
		for round := range 3 {
			for k := range stores {
				i := (k + round) % len(stores)
				var before bodytap.ID
				for range pages {
					start := time.Now()
					sums, next, err := stores[i].ListPage(context.Background(), store.Query{Filter: f, Before: before, Limit: 101, MaxScan: 5000})
					if err != nil {
						t.Fatal(err)
					}
					per[i] = append(per[i], ms(time.Since(start)))
					if next.IsZero() && len(sums) == 0 {
						break
					}
					before = next
				}
			}
		}
		name := "all"
		if fs != "" {
			name = "`" + fs + "`"
		}
		p.report("| %s | %.2f | %.2f | %.2f |", name, median(per[0]), median(per[1]), median(per[0])/median(per[1]))
	}
}

// counts times the count of filtered queries (what the viewer shows above
// a list, if it comes within 300 ms), then again in PostgreSQL with the
// B-trees on status, method and domain that schema v4 dropped, made for
// the purpose: it runs last.
func (p *perf) counts(n int, pg *Store, local *store.Store) {
	t, ctx := p.t, context.Background()
	exprs := []string{"~c 500", "~m POST", "~d api-3.example.com", "~m POST & ~c 500", "~c 418", "~u /orders/"}
	times := func(c lister) []string {
		var cells []string
		for _, e := range exprs {
			f, err := filter.Parse(e)
			if err != nil {
				t.Fatal(err)
			}
			var ds []float64
			for range 3 {
				start := time.Now()
				if _, err := c.Count(ctx, store.Query{Filter: f}); err != nil {
					t.Fatal(err)
				}
				ds = append(ds, ms(time.Since(start)))
			}
			cells = append(cells, fmt.Sprintf("%.1f", median(ds)))
		}
		return cells
	}
	rows := [][]string{times(pg), times(local)}
	if _, err := pg.pool.Exec(ctx, "CREATE INDEX ON exchanges (status, id); CREATE INDEX ON exchanges (method, id); "+
		"CREATE INDEX ON exchanges (domain, id); ANALYZE exchanges"); err != nil {
		t.Fatal(err)
	}
	rows = append(rows, times(pg))
	p.report("\nCount of a filter at %d exchanges (the viewer's, above the list), ms, median of 3:\n", n)
	p.report("| store | `%s` |", strings.Join(exprs, "` | `"))
	p.report("|---|%s", strings.Repeat("---:|", len(exprs)))
	for i, name := range []string{"PostgreSQL", "local", "PostgreSQL with schema v3's B-trees"} {
		p.report("| %s | %s |", name, strings.Join(rows[i], " | "))
	}
}

func serverVersion(t *testing.T, u string) string {
	t.Helper()
	c, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var v string
	if err := c.QueryRow(context.Background(), "SELECT 'PostgreSQL ' || current_setting('server_version')").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// resetDB empties the database at u.
func resetDB(t *testing.T, u string) {
	t.Helper()
	s, err := Open(context.Background(), u, Options{SpoolMaxBytes: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.pool.Exec(context.Background(), "DROP TABLE exchanges, bodies, terms, blooms, counts, schema_version; DROP FUNCTION bodytap_day"); err != nil {
		t.Fatal(err)
	}
}

func openWriters(t *testing.T, u string, k int, log *slog.Logger) []*Store {
	t.Helper()
	var ss []*Store
	for range k {
		s, err := Open(context.Background(), u, Options{SpoolMaxBytes: -1, Logger: log, MaxConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	return ss
}

func closeAll(ss []*Store) {
	for _, s := range ss {
		s.Close()
	}
}

// ingest writes n exchanges through the writers, each taking every
// len(ss)-th in batches of 1000, and returns exchanges per second.
// It closes the writers. It also reports the CPU time an exchange cost
// the writers (this process) and the server (its processes, when it is
// the throwaway cluster on Linux; else 0).
func ingest(t *testing.T, ss []*Store, n int) (rate float64, goCPU, pgCPU time.Duration) {
	t.Helper()
	var wg sync.WaitGroup
	go0, _ := cputime.Process()
	pg0 := serverCPU()
	start := time.Now()
	for k, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newPerfGen()
			for i := k * 1000; i < n; i += len(ss) * 1000 {
				s.RecordBatch(g.batch(n, i, min(i+1000, n)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	go1, _ := cputime.Process()
	defer closeAll(ss)
	var stored int64
	for _, s := range ss {
		st := s.Stats()
		if st.Errors+st.Dropped > 0 {
			t.Fatalf("writer: %+v", st)
		}
		stored += st.Stored
	}
	if stored != int64(n) {
		t.Fatalf("stored %d exchanges, want %d", stored, n)
	}
	closeAll(ss)
	time.Sleep(200 * time.Millisecond) // the server reaps the backends
	if pg1 := serverCPU(); pg0 > 0 && pg1 > pg0 {
		pgCPU = (pg1 - pg0) / time.Duration(n)
	}
	return float64(n) / elapsed.Seconds(), (go1 - go0) / time.Duration(n), pgCPU
}

// serverCPU returns the CPU time that the throwaway cluster's processes
// have used, those that ended included (their postmaster's children
// times), or 0 where it cannot tell: not Linux, or another server.
func serverCPU() time.Duration {
	c, err := pgtest.Current()
	if err != nil || os.Getenv("BODYTAP_PG_PERF_URL") != "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(c.Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	// Fields of /proc/PID/stat after the command's closing parenthesis:
	// [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime, in
	// clock ticks of 10 ms.
	stat := func(p string) []string {
		b, err := os.ReadFile(filepath.Join("/proc", p, "stat"))
		if i := strings.LastIndexByte(string(b), ')'); err == nil && i > 0 {
			return strings.Fields(string(b[i+1:]))
		}
		return nil
	}
	ticks := func(f []string, idx ...int) (n int64) {
		for _, i := range idx {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			n += v
		}
		return n
	}
	f := stat(strconv.Itoa(pid))
	if len(f) < 15 {
		return 0
	}
	total := ticks(f, 11, 12, 13, 14)
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		if f := stat(e.Name()); len(f) >= 15 && f[1] == strconv.Itoa(pid) {
			total += ticks(f, 11, 12)
		}
	}
	return time.Duration(total) * 10 * time.Millisecond
}

// perfGen makes the exchanges of TestPerf: a thousand made-up API calls
// (methods, hosts, paths, statuses, durations, and a 1 KiB JSON response
// body of words and numbers), repeated with new IDs and times, spread
// evenly over the 7 days before now.
type perfGen struct {
	tmpl []bodytap.Exchange
	end  time.Time
}

var perfWords = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu order item price total user account invoice shipping status pending paid")

func newPerfGen() *perfGen {
	r := rand.New(rand.NewPCG(1, 14))
	g := &perfGen{end: time.Now()}
	for i := range 1000 {
		var x bodytap.Exchange
		x.Request.Method = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}[r.IntN(6)]
		host := fmt.Sprintf("api-%d.example.com", r.IntN(8))
		x.Request.Host = host
		path := []string{"/orders/%d", "/users/%d", "/items/%d/price", "/search"}[r.IntN(4)]
		if strings.Contains(path, "%d") {
			path = fmt.Sprintf(path, r.IntN(100000))
		}
		x.Request.URL = &url.URL{Scheme: "https", Host: host, Path: path}
		x.Request.Header = http.Header{"User-Agent": {"perf/1"}, "Accept": {"application/json"}}
		x.Response.Status = []int{200, 200, 200, 200, 201, 204, 404, 400, 500}[r.IntN(9)]
		x.Response.Header = http.Header{"Content-Type": {"application/json"}}
		x.Duration = time.Duration(r.IntN(500)) * time.Millisecond
		x.TimeToHeaders = x.Duration / 2
		var b strings.Builder
		b.WriteString("{")
		if i%100 == 7 {
			b.WriteString(`"flag":"zebracorn",`)
		}
		fmt.Fprintf(&b, `"id":%d,"items":[`, r.IntN(1_000_000))
		for b.Len() < 1000 {
			fmt.Fprintf(&b, `{"sku":"%s-%d","qty":%d,"note":"%s %s"},`, perfWords[r.IntN(len(perfWords))], r.IntN(10000), r.IntN(20),
				perfWords[r.IntN(len(perfWords))], perfWords[r.IntN(len(perfWords))])
		}
		body := strings.TrimSuffix(b.String(), ",") + "]}"
		body = body[:min(len(body), 1024)]
		x.Response.Body = bodytap.Body{Bytes: []byte(body), Size: int64(len(body)), EOF: true}
		if x.Request.Method == "POST" || x.Request.Method == "PUT" {
			rb := fmt.Sprintf(`{"user":"%s","qty":%d}`, perfWords[r.IntN(len(perfWords))], r.IntN(50))
			x.Request.Body = bodytap.Body{Bytes: []byte(rb), Size: int64(len(rb)), EOF: true}
		}
		g.tmpl = append(g.tmpl, x)
	}
	return g
}

// batch returns the exchanges numbered [lo, hi) of n: exchange i starts
// at end - 7 days + i*(7 days/n). Exchange 0 alone holds "quokkaquartz".
func (g *perfGen) batch(n, lo, hi int) []*bodytap.Exchange {
	const span = 7 * 24 * time.Hour
	xs := make([]*bodytap.Exchange, 0, hi-lo)
	for i := lo; i < hi; i++ {
		x := g.tmpl[i%len(g.tmpl)]
		// span/n first: span*i overflows int64 past i = 15,250.
		x.Start = g.end.Add(-span + span/time.Duration(n)*time.Duration(i))
		x.ID = bodytap.NewID(x.Start)
		if i == 0 {
			x.Response.Body.Bytes = append([]byte(`{"quokkaquartz":1}`), x.Response.Body.Bytes...)
			x.Response.Body.Size = int64(len(x.Response.Body.Bytes))
		}
		xs = append(xs, &x)
	}
	return xs
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratios returns a[i]/b[i], round by round.
func ratios(a, b []float64) []float64 {
	out := make([]float64, min(len(a), len(b)))
	for i := range out {
		out[i] = a[i] / b[i]
	}
	return out
}
