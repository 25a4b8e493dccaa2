// Command benchcore compares bodytap's core middleware with the cheapest
// of its peers (chi's Tee and httpsnoop, each keeping the same bounded
// copy and handing a record to a callback), in one run:
//
//	cd bench && go run ./cmd/benchcore            # about 4 minutes
//	cd bench && go run ./cmd/benchcore -rounds 12 -o core.md
//
// Each round runs, in fresh processes and with the implementations in a
// rotated order:
//
//   - BenchmarkLoopback on json1k (a real HTTP/1.1 server on loopback,
//     keep-alive, 1 KiB posted and 1 KiB answered): requests/s and process
//     CPU per request (getrusage), at saturation;
//   - BenchmarkInProcess on json1k, json64k and json1m: process CPU per
//     request, with the tight loop at saturation;
//   - BenchmarkInProcess again for each bodytap variant and size, paced at
//     half the rate that variant reached in the saturated run of the same
//     round (-bench.interval).
//
// Every figure is a median over the rounds; every ratio is the median of
// the per-round ratios (each round's value divided by the same round's
// value of the peer), with their interquartile range, so that a noisy
// minute on a shared machine hits both sides of a ratio alike. The
// cheapest peer of a row is the one of chi and httpsnoop with the lower
// median CPU per request. Records lost are summed over the rounds: the
// exchanges a sink never got, which for bodytap are the ones its delivery
// queue dropped (default queue settings).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The implementations compared (package bench's names).
var (
	bodytaps = []string{"bodytap", "bodytap-noredact"}
	peers    = []string{"chi", "httpsnoop"}
	impls    = append(append([]string{"bare"}, bodytaps...), peers...)
)

type options struct {
	out         string
	rounds      int
	loopTime    string
	procTime    string
	pacedTime   string
	parallelism int
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("benchcore: ")
	var o options
	flag.StringVar(&o.out, "o", "-", "Markdown file to write (- for standard output)")
	flag.IntVar(&o.rounds, "rounds", 6, "rounds; each runs every benchmark once per implementation")
	flag.StringVar(&o.loopTime, "loopback-benchtime", "1s", "-test.benchtime of BenchmarkLoopback")
	flag.StringVar(&o.procTime, "inprocess-benchtime", "200ms", "-test.benchtime of the saturated BenchmarkInProcess")
	flag.StringVar(&o.pacedTime, "paced-benchtime", "200ms", "-test.benchtime of the paced BenchmarkInProcess")
	flag.IntVar(&o.parallelism, "parallelism", 8, "loopback client goroutines per GOMAXPROCS (-bench.parallelism)")
	flag.Parse()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run me from the bench directory (the bench module's root): %v", err)
	}
	start := time.Now()
	load0 := loadavg()
	tmp, err := os.MkdirTemp("", "benchcore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bench.test")
	log.Print("building the benchmarks")
	if err := command("go", "test", "-c", "-o", bin, ".").Run(); err != nil {
		return fmt.Errorf("go test -c: %v", err)
	}
	res := newResults()
	for r := range o.rounds {
		t0 := time.Now()
		common := []string{"-test.run", "^$", "-test.benchmem", "-bench.rotate", strconv.Itoa(r)}
		runs := [][]string{
			{"-test.bench", "^BenchmarkLoopback$/^work=json1k$", "-test.benchtime", o.loopTime,
				"-bench.parallelism", strconv.Itoa(o.parallelism), "-bench.impls", strings.Join(impls, ",")},
			{"-test.bench", "^BenchmarkInProcess$", "-test.benchtime", o.procTime, "-bench.impls", strings.Join(impls, ",")},
		}
		for _, args := range runs {
			out, err := command(bin, append(common, args...)...).Output()
			if err != nil {
				return fmt.Errorf("round %d: %s: %v\n%s", r+1, strings.Join(args, " "), err, out)
			}
			res.parse(r, "", out)
		}
		// Half the saturation rate, for each variant and size: the
		// interval between requests is twice its ns/op of this round.
		for _, work := range res.works["InProcess"] {
			for _, impl := range rotate(bodytaps, r) {
				ns, ok := res.v[key{"InProcess", work, impl, "ns/op"}][r]
				if !ok {
					continue
				}
				every := time.Duration(2 * ns)
				args := []string{"-test.bench", "^BenchmarkInProcess$/^work=" + work + "$/^impl=" + impl + "$",
					"-test.benchtime", o.pacedTime, "-bench.impls", impl, "-bench.interval", every.String()}
				out, err := command(bin, append(common, args...)...).Output()
				if err != nil {
					return fmt.Errorf("round %d: %s: %v\n%s", r+1, strings.Join(args, " "), err, out)
				}
				res.parse(r, "Paced", out)
			}
		}
		log.Printf("round %d/%d done in %v", r+1, o.rounds, time.Since(t0).Round(time.Second))
	}
	var md bytes.Buffer
	report(&md, o, res, load0, loadavg(), time.Since(start))
	if o.out == "-" {
		_, err := os.Stdout.Write(md.Bytes())
		return err
	}
	return os.WriteFile(o.out, md.Bytes(), 0o644)
}

func rotate(s []string, r int) []string {
	k := r % len(s)
	return append(slices.Clone(s[k:]), s[:k]...)
}

func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	return cmd
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// results holds one sample per round for each group, workload,
// implementation and unit; "lost" is the count of records lost (lost/op
// times the iterations).
type results struct {
	v     map[key]map[int]float64
	works map[string][]string // group -> workloads in order of appearance
}

type key struct{ group, work, impl, unit string }

func newResults() *results {
	return &results{v: map[key]map[int]float64{}, works: map[string][]string{}}
}

var benchLine = regexp.MustCompile(`^Benchmark(\w+)/work=([^/\s]+)/impl=(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// parse reads go test -bench output of round r; group, if not empty,
// replaces the benchmark's own group name.
func (res *results) parse(r int, group string, out []byte) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		g, work, impl := m[1], m[2], m[3]
		if group != "" {
			g = group
		}
		if !slices.Contains(res.works[g], work) {
			res.works[g] = append(res.works[g], work)
		}
		n, _ := strconv.ParseFloat(m[4], 64)
		res.set(key{g, work, impl, "requests"}, r, n)
		f := strings.Fields(m[5])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res.set(key{g, work, impl, f[i+1]}, r, v)
			if f[i+1] == "lost/op" {
				res.set(key{g, work, impl, "lost"}, r, math.Round(v*n))
			}
		}
	}
}

func (res *results) set(k key, r int, v float64) {
	if res.v[k] == nil {
		res.v[k] = map[int]float64{}
	}
	res.v[k][r] = v
}

func (res *results) median(k key) (float64, bool) {
	var s []float64
	for _, v := range res.v[k] {
		s = append(s, v)
	}
	if len(s) == 0 {
		return 0, false
	}
	return quantile(s, 0.5), true
}

func (res *results) sum(k key) (float64, bool) {
	var t float64
	for _, v := range res.v[k] {
		t += v
	}
	return t, len(res.v[k]) > 0
}

// ratios returns, round by round, a's value over b's.
func (res *results) ratios(a, b key) []float64 {
	var s []float64
	for r, x := range res.v[a] {
		if y, ok := res.v[b][r]; ok && y != 0 {
			s = append(s, x/y)
		}
	}
	return s
}

// cheapest returns the peer with the lower median CPU per request in a
// group and workload.
func (res *results) cheapest(group, work string) string {
	best, bestV := "", math.Inf(1)
	for _, p := range peers {
		if v, ok := res.median(key{group, work, p, "cpu-ns/op"}); ok && v < bestV {
			best, bestV = p, v
		}
	}
	return best
}

// quantile of v by linear interpolation between closest ranks.
func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

// ratioCell is the median of the per-round ratios of a to b, with their
// interquartile range.
func ratioCell(res *results, a, b key) string {
	r := res.ratios(a, b)
	if len(r) == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", quantile(r, 0.5), quantile(r, 0.25), quantile(r, 0.75))
}

func report(w io.Writer, o options, res *results, load0, load1 string, took time.Duration) {
	fmt.Fprintf(w, "Generated by `cd bench && go run ./cmd/benchcore` on %s in %v: %s %s/%s, %d cores, load average %s at the start, %s at the end.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), load0, load1)
	fmt.Fprintf(w, "%d rounds (loopback -benchtime %s with %d client goroutines per core; in process -benchtime %s, paced %s); "+
		"values are medians over the rounds, × columns the medians of the per-round ratios with their interquartile range; "+
		"lost is the count of records the sink never got, summed over the rounds.\n\n",
		o.rounds, o.loopTime, o.parallelism, o.procTime, o.pacedTime)

	if works := res.works["Loopback"]; len(works) > 0 {
		fmt.Fprintln(w, "### Loopback HTTP/1.1, keep-alive, at saturation")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| workload | implementation | req/s | × cheapest peer | CPU/req | × cheapest peer | × bare | allocs/op | lost |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
		for _, work := range works {
			cp := res.cheapest("Loopback", work)
			for _, impl := range impls {
				k := func(u string) key { return key{"Loopback", work, impl, u} }
				p := func(u string) key { return key{"Loopback", work, cp, u} }
				bare := func(u string) key { return key{"Loopback", work, "bare", u} }
				if _, ok := res.median(k("cpu-ns/op")); !ok {
					continue
				}
				name := impl
				if impl == cp {
					name += " (cheapest peer)"
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", work, name,
					cell(res, k("req/s"), fmtCount), ratioCell(res, k("req/s"), p("req/s")),
					cell(res, k("cpu-ns/op"), fmtNs), ratioCell(res, k("cpu-ns/op"), p("cpu-ns/op")),
					ratioCell(res, k("cpu-ns/op"), bare("cpu-ns/op")),
					cell(res, k("allocs/op"), fmtCount), lostCell(res, k("lost")))
			}
		}
		fmt.Fprintln(w)
	}
	if works := res.works["InProcess"]; len(works) > 0 {
		fmt.Fprintln(w, "### In process (handler called directly, httptest.ResponseRecorder)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "CPU/req is the process CPU time per request, the delivery goroutine and the GC included. "+
			"Lost at saturation: the tight loop; lost at ½ rate: requests started at half the rate the same variant reached in the same round.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| workload | implementation | CPU/req | × cheapest peer | × bare | ns/op | B/op | allocs/op | lost at saturation | lost at ½ rate |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, work := range works {
			cp := res.cheapest("InProcess", work)
			for _, impl := range impls {
				k := func(u string) key { return key{"InProcess", work, impl, u} }
				if _, ok := res.median(k("cpu-ns/op")); !ok {
					continue
				}
				name := impl
				if impl == cp {
					name += " (cheapest peer)"
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", work, name,
					cell(res, k("cpu-ns/op"), fmtNs), ratioCell(res, k("cpu-ns/op"), key{"InProcess", work, cp, "cpu-ns/op"}),
					ratioCell(res, k("cpu-ns/op"), key{"InProcess", work, "bare", "cpu-ns/op"}),
					cell(res, k("ns/op"), fmtNs), cell(res, k("B/op"), fmtBytes), cell(res, k("allocs/op"), fmtCount),
					lostCell(res, k("lost")), lostCell(res, key{"Paced", work, impl, "lost"}))
			}
		}
		fmt.Fprintln(w)
	}
}

func cell(res *results, k key, format func(float64) string) string {
	m, ok := res.median(k)
	if !ok {
		return ""
	}
	return format(m)
}

// lostCell is the total lost over the rounds, of the requests made.
func lostCell(res *results, k key) string {
	t, ok := res.sum(k)
	if !ok {
		return ""
	}
	k.unit = "requests"
	n, _ := res.sum(k)
	return fmt.Sprintf("%.0f of %.0f", t, n)
}

func fmtNs(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3g ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3g µs", v/1e3)
	}
	return fmt.Sprintf("%.3g ns", v)
}

func fmtCount(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func fmtBytes(v float64) string {
	switch {
	case v >= 1<<20:
		return fmt.Sprintf("%.3g MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.3g KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}
