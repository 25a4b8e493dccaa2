// Command benchcore compares bodytap's core middleware with the cheapest
// of its peers (chi's Tee and httpsnoop, each keeping the same bounded
// copy and handing a record to a callback), in one run. bodytap and
// bodytap-noredact reuse their exchanges, as a sink that keeps nothing
// of a record lets them; bodytap-keep is bodytap-noredact with a sink
// that keeps its records:
//
//	cd bench && go run ./cmd/benchcore            # about 4 minutes
//	cd bench && go run ./cmd/benchcore -rounds 12 -o core.md
//
// Each round runs, in a fresh process for each implementation and with
// the implementations in a rotated order:
//
//   - BenchmarkLoopback on json1k (a real HTTP/1.1 server on loopback,
//     keep-alive, 1 KiB posted and 1 KiB answered): requests/s and process
//     CPU per request (getrusage), at saturation;
//   - BenchmarkInProcess on json1k, json64k and json1m: process CPU per
//     request, with the tight loop at saturation;
//   - BenchmarkInProcess again for bodytap and bodytap-noredact at each size, paced at
//     half the rate that variant reached in the saturated run of the same
//     round (-bench.interval); and, where that run dropped records, once
//     more at half the rate it captured at (requests/s times the share
//     of records its sink got): a saturated loop whose queue drops most
//     records makes requests faster than the Tap can deliver them, and
//     half of that rate can still be more than the machine can redact.
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
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/bodytap/bodytap/bench/internal/rounds"
)

// The implementations compared (package bench's names).
var (
	bodytaps = []string{"bodytap", "bodytap-noredact"}
	peers    = []string{"chi", "httpsnoop"}
	// bodytap-keep (a sink that keeps its exchanges) is measured at
	// saturation, not paced: it shows what reusing exchanges saves.
	impls = append(append(append([]string{"bare"}, bodytaps...), "bodytap-keep"), peers...)
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
	start := time.Now()
	load0 := rounds.Loadavg()
	bin, cleanup, err := rounds.Build("benchcore-")
	if err != nil {
		return err
	}
	defer cleanup()
	res := rounds.NewResults()
	for r := range o.rounds {
		t0 := time.Now()
		runs := [][]string{
			{"-test.bench", "^BenchmarkLoopback$/^work=json1k$", "-test.benchtime", o.loopTime,
				"-bench.parallelism", strconv.Itoa(o.parallelism)},
			{"-test.bench", "^BenchmarkInProcess$", "-test.benchtime", o.procTime},
		}
		for _, args := range runs {
			// Each implementation in a process of its own, in an order
			// rotated each round: none inherits the heap (and so the
			// garbage collector's work) another left.
			for _, impl := range rotate(impls, r) {
				out, err := rounds.Run(bin, r, append(args[:len(args):len(args)], "-bench.impls", impl)...)
				if err != nil {
					return err
				}
				res.Parse(r, "", out)
			}
		}
		// Half the saturation rate, for each variant and size: the
		// interval between requests is twice its ns/op of this round.
		for _, work := range res.Works["InProcess"] {
			for _, impl := range rotate(bodytaps, r) {
				ns, ok := res.Samples[key("InProcess", work, impl, "ns/op")][r]
				if !ok {
					continue
				}
				paced := func(group string, every time.Duration) error {
					out, err := rounds.Run(bin, r, "-test.bench", "^BenchmarkInProcess$/^work="+work+"$/^impl="+impl+"$",
						"-test.benchtime", o.pacedTime, "-bench.impls", impl, "-bench.interval", every.String())
					if err == nil {
						res.Parse(r, group, out)
					}
					return err
				}
				if err := paced("Paced", time.Duration(2*ns)); err != nil {
					return err
				}
				lost := res.Samples[key("InProcess", work, impl, "lost/op")][r]
				if lost > 0 && lost < 1 {
					if err := paced("PacedCaptured", time.Duration(2*ns/(1-lost))); err != nil {
						return err
					}
				}
			}
		}
		log.Printf("round %d/%d done in %v", r+1, o.rounds, time.Since(t0).Round(time.Second))
	}
	var md bytes.Buffer
	report(&md, o, res, load0, rounds.Loadavg(), time.Since(start))
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

// key names a series of samples.
func key(group, work, impl, unit string) rounds.Key {
	return rounds.Key{Group: group, Work: work, Impl: impl, Unit: unit}
}

// cheapest returns the peer with the lower median CPU per request in a
// group and workload.
func cheapest(res *rounds.Results, group, work string) string {
	best, bestV := "", math.Inf(1)
	for _, p := range peers {
		if v, ok := res.Median(key(group, work, p, "cpu-ns/op")); ok && v < bestV {
			best, bestV = p, v
		}
	}
	return best
}

// ratioCell is the median of the per-round ratios of a to b, with their
// interquartile range.
func ratioCell(res *rounds.Results, a, b rounds.Key) string {
	r := res.Ratios(a, b)
	if len(r) == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", rounds.Quantile(r, 0.5), rounds.Quantile(r, 0.25), rounds.Quantile(r, 0.75))
}

// eachRow calls row for each workload of group and each implementation
// measured in it, with the workload's cheapest peer and the name the
// table gives the implementation.
func eachRow(res *rounds.Results, group string, row func(work, impl, name, peer string)) {
	for _, work := range res.Works[group] {
		cp := cheapest(res, group, work)
		for _, impl := range impls {
			if _, ok := res.Median(key(group, work, impl, "cpu-ns/op")); !ok {
				continue
			}
			name := impl
			if impl == cp {
				name += " (cheapest peer)"
			}
			row(work, impl, name, cp)
		}
	}
}

func report(w io.Writer, o options, res *rounds.Results, load0, load1 string, took time.Duration) {
	fmt.Fprintf(w, "Generated by `cd bench && go run ./cmd/benchcore` on %s in %v: %s %s/%s, %d cores, load average %s at the start, %s at the end.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), load0, load1)
	fmt.Fprintf(w, "%d rounds (loopback -benchtime %s with %d client goroutines per core; in process -benchtime %s, paced %s); "+
		"values are medians over the rounds, × columns the medians of the per-round ratios with their interquartile range; "+
		"lost is the count of records the sink never got, summed over the rounds; shed, of those it got, the count that came without their bodies (bodytap's ErrShed: its queue was nearly full).\n\n",
		o.rounds, o.loopTime, o.parallelism, o.procTime, o.pacedTime)

	if len(res.Works["Loopback"]) > 0 {
		fmt.Fprintln(w, "### Loopback HTTP/1.1, keep-alive, at saturation")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| workload | implementation | req/s | × cheapest peer | CPU/req | × cheapest peer | × bare | allocs/op | lost |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
		eachRow(res, "Loopback", func(work, impl, name, cp string) {
			k := func(u string) rounds.Key { return key("Loopback", work, impl, u) }
			p := func(u string) rounds.Key { return key("Loopback", work, cp, u) }
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", work, name,
				cell(res, k("req/s"), rounds.FmtCount), ratioCell(res, k("req/s"), p("req/s")),
				cell(res, k("cpu-ns/op"), fmtNs), ratioCell(res, k("cpu-ns/op"), p("cpu-ns/op")),
				ratioCell(res, k("cpu-ns/op"), key("Loopback", work, "bare", "cpu-ns/op")),
				cell(res, k("allocs/op"), rounds.FmtCount), lostCell(res, k("lost")))
		})
		fmt.Fprintln(w)
	}
	if len(res.Works["InProcess"]) > 0 {
		fmt.Fprintln(w, "### In process (handler called directly, httptest.ResponseRecorder)")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "CPU/req is the process CPU time per request, the delivery goroutine and the GC included. "+
			"Lost at saturation: the tight loop; lost at ½ rate: requests started at half the rate the same variant reached in the same round; "+
			"lost at ½ capture rate: where the tight loop dropped records, requests started at half the rate it captured at "+
			"(its rate times the share of records delivered), in the rounds where it dropped any.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| workload | implementation | CPU/req | × cheapest peer | × bare | ns/op | B/op | allocs/op | lost at saturation | lost at ½ rate | lost at ½ capture rate |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		eachRow(res, "InProcess", func(work, impl, name, cp string) {
			k := func(u string) rounds.Key { return key("InProcess", work, impl, u) }
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", work, name,
				cell(res, k("cpu-ns/op"), fmtNs), ratioCell(res, k("cpu-ns/op"), key("InProcess", work, cp, "cpu-ns/op")),
				ratioCell(res, k("cpu-ns/op"), key("InProcess", work, "bare", "cpu-ns/op")),
				cell(res, k("ns/op"), fmtNs), cell(res, k("B/op"), rounds.FmtBytes), cell(res, k("allocs/op"), rounds.FmtCount),
				lostCell(res, k("lost")), lostCell(res, key("Paced", work, impl, "lost")), lostCell(res, key("PacedCaptured", work, impl, "lost")))
		})
		fmt.Fprintln(w)
	}
}

func cell(res *rounds.Results, k rounds.Key, format func(float64) string) string {
	m, ok := res.Median(k)
	if !ok {
		return ""
	}
	return format(m)
}

// lostCell is the total lost over the rounds, of the requests made, and
// how many of those recorded came without their bodies (shed), if any.
func lostCell(res *rounds.Results, k rounds.Key) string {
	t, ok := res.Sum(k)
	if !ok {
		return ""
	}
	k.Unit = "shed"
	shed, _ := res.Sum(k)
	k.Unit = "requests"
	n, _ := res.Sum(k)
	if shed > 0 {
		return fmt.Sprintf("%.0f of %.0f (%.0f shed)", t, n, shed)
	}
	return fmt.Sprintf("%.0f of %.0f", t, n)
}

// fmtNs is [rounds.FmtNs] with three significant digits below a
// microsecond too.
func fmtNs(ns float64) string {
	if ns < 1e3 {
		return fmt.Sprintf("%.3g ns", ns)
	}
	return rounds.FmtNs(ns)
}
