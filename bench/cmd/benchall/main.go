// Command benchall runs the bench package's benchmarks in interleaved
// rounds, then wrk.sh, and writes the results as Markdown.
//
//	cd bench && go run ./cmd/benchall -o RESULTS.md
//
// Each round runs every benchmark once, in a fresh process, with the
// implementations in a different order (rotated each round), so that a
// noisy minute on a shared machine hits them all alike. The tables give
// medians over the rounds and, in the × columns, medians of the per-round
// ratios to bare (and for the echo family also to bare echo). The raw
// output, in the format benchstat reads, goes to -raw.
//
// If the -o file exists and holds the markers
//
//	<!-- benchall:begin --> ... <!-- benchall:end -->
//
// only the text between them is replaced, so that the analysis written
// around the tables stays.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/bodytap/bodytap/bench"
	"github.com/bodytap/bodytap/bench/internal/rounds"
)

const (
	beginMarker = "<!-- benchall:begin -->"
	endMarker   = "<!-- benchall:end -->"
)

type options struct {
	out, raw     string
	rounds       int
	budget       time.Duration
	benchtime    string
	streamOps    int
	streamPause  time.Duration
	downloadOps  int
	downloadSize int64
	wrk          string
	wrkDuration  string
	wrkReps      int
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("benchall: ")
	var o options
	flag.StringVar(&o.out, "o", "RESULTS.md", "Markdown file to write (- for standard output)")
	flag.StringVar(&o.raw, "raw", "results.txt", "file for the raw benchmark output (benchstat -col /impl reads it); empty for none")
	flag.IntVar(&o.rounds, "rounds", 8, "rounds: each runs every benchmark once")
	flag.DurationVar(&o.budget, "budget", 5*time.Minute+30*time.Second, "time for the Go benchmarks: no round starts that would end past it (at least 3 rounds run)")
	flag.StringVar(&o.benchtime, "benchtime", "100ms", "-test.benchtime of the in-process and loopback benchmarks")
	flag.IntVar(&o.streamOps, "stream", 8, "streamed responses per implementation and round")
	flag.DurationVar(&o.streamPause, "pause", time.Millisecond, "pause between the chunks of the streamed response")
	flag.IntVar(&o.downloadOps, "download", 2, "downloads per implementation and round")
	flag.Int64Var(&o.downloadSize, "size", 256<<20, "size of the downloaded file")
	flag.StringVar(&o.wrk, "wrk", "auto", "run wrk.sh afterwards: auto (if wrk is installed), on, off")
	flag.StringVar(&o.wrkDuration, "wrk-duration", "4s", "DURATION of each wrk run")
	flag.IntVar(&o.wrkReps, "wrk-reps", 3, "REPS (rounds) of wrk.sh")
	flag.Parse()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	start := time.Now()
	info := machine()
	info.loadStart = rounds.Loadavg()
	bin, cleanup, err := rounds.Build("benchall-")
	if err != nil {
		return err
	}
	defer cleanup()
	log.Printf("writing the %d MiB download file", o.downloadSize>>20)
	file, err := bench.WriteDownloadFile(o.downloadSize)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(file))

	var raw bytes.Buffer
	res := rounds.NewResults()
	var longest time.Duration
	for r := range o.rounds {
		if r >= 3 && time.Since(start)+longest > o.budget {
			log.Printf("stopping after %d rounds: another would end past the -budget of %v", r, o.budget)
			break
		}
		t0 := time.Now()
		runs := [][]string{
			{"-test.bench", "^Benchmark(InProcess|Loopback)$", "-test.benchtime", o.benchtime},
			{"-test.bench", "^BenchmarkStream$", "-test.benchtime", fmt.Sprintf("%dx", o.streamOps), "-bench.pause", o.streamPause.String()},
			{"-test.bench", "^BenchmarkDownload$", "-test.benchtime", fmt.Sprintf("%dx", o.downloadOps), "-bench.file", file},
		}
		for _, args := range runs {
			out, err := rounds.Run(bin, r, args...)
			raw.Write(out)
			if err != nil {
				return err
			}
			res.Parse(r, "", out)
		}
		d := time.Since(t0)
		longest = max(longest, d)
		log.Printf("round %d/%d done in %v", r+1, o.rounds, d.Round(time.Second))
	}
	if o.raw != "" {
		if err := os.WriteFile(o.raw, raw.Bytes(), 0o644); err != nil {
			return err
		}
	}
	goTime := time.Since(start)

	var wrkOut string
	if useWrk(o.wrk) {
		log.Print("running wrk.sh")
		cmd := rounds.Command("bash", "wrk.sh")
		cmd.Env = append(os.Environ(), "DURATION="+o.wrkDuration, "REPS="+strconv.Itoa(o.wrkReps))
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("wrk.sh: %v\n%s", err, out)
		}
		wrkOut = string(out)
	} else if o.wrk == "off" {
		wrkOut = "Not run (-wrk off).\n"
	} else {
		wrkOut = "Not run: wrk is not installed (Debian: `apt-get install -y wrk`, then `./wrk.sh`).\n"
	}
	info.loadEnd = rounds.Loadavg()

	var md bytes.Buffer
	writeReport(&md, o, info, res, wrkOut, goTime, time.Since(start))
	if o.out == "-" {
		_, err := os.Stdout.Write(md.Bytes())
		return err
	}
	if err := writeMarked(o.out, md.String()); err != nil {
		return err
	}
	log.Printf("wrote %s in %v", o.out, time.Since(start).Round(time.Second))
	return nil
}

func useWrk(mode string) bool {
	switch mode {
	case "on":
		return true
	case "off":
		return false
	}
	_, err := exec.LookPath("wrk")
	return err == nil
}

// writeMarked writes text into name between the markers, keeping what is
// around them, or writes a new file around text.
func writeMarked(name, text string) error {
	old, err := os.ReadFile(name)
	block := beginMarker + "\n" + text + endMarker
	if err == nil {
		s := string(old)
		i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
		if i >= 0 && j > i {
			return os.WriteFile(name, []byte(s[:i]+block+s[j+len(endMarker):]), 0o644)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	doc := "# bodytap and its peers: benchmark results\n\n" +
		"Run from `bench/`: `go run ./cmd/benchall -o RESULTS.md`.\n\n" + block + "\n"
	return os.WriteFile(name, []byte(doc), 0o644)
}

// info describes the machine and the run.
type info struct {
	goVersion, cpu, mem string
	cores               int
	loadStart, loadEnd  string
}

func machine() info {
	in := info{goVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, cores: runtime.NumCPU()}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		in.goVersion = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	}
	in.cpu = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		if n, err := strconv.ParseInt(strings.Fields(kb)[0], 10, 64); err == nil {
			in.mem = fmt.Sprintf("%.0f GiB RAM", float64(n)/(1<<20))
		}
	}
	return in
}

// procField returns the value of the first "field: value" line of a /proc
// file that starts with field.
func procField(file, field string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// key names a series of samples.
func key(group, work, impl, unit string) rounds.Key {
	return rounds.Key{Group: group, Work: work, Impl: impl, Unit: unit}
}

// A column of a table: one unit of the benchmark output.
type column struct {
	unit, title string
	format      func(float64) string
	higher      bool // higher is better
	ratio       bool // show × bare
}

// A table is one benchmark group.
type table struct {
	group, title, intro string
	cols                []column
	lost                bool
}

var tables = []table{
	{
		group: "InProcess", title: "In process: cost per request",
		intro: "The handler called directly with a new `httptest.ResponseRecorder` per request: " +
			"the client posts the JSON body and gets one of the same size. ns/op is the request path; " +
			"CPU/op is the CPU time of the whole process per request (bodytap's delivery goroutine, which " +
			"runs redaction, and the GC included). Records lost: exchanges the sink never got; bodytap drops them when its " +
			"delivery queue is full (by design the request path never waits), the others deliver synchronously.",
		cols: []column{
			{unit: "ns/op", title: "ns/op", format: rounds.FmtNs, ratio: true},
			{unit: "cpu-ns/op", title: "CPU/op", format: rounds.FmtNs, ratio: true},
			{unit: "B/op", title: "B/op", format: rounds.FmtBytes, ratio: true},
			{unit: "allocs/op", title: "allocs/op", format: rounds.FmtCount, ratio: true},
		},
		lost: true,
	},
	{
		group: "Loopback", title: "Loopback HTTP/1.1 server, keep-alive",
		intro: "A real server on 127.0.0.1 and 16 client goroutines in the same process on keep-alive connections " +
			"(B/op and allocs/op count client and server). CPU/req is the process CPU time per request.",
		cols: []column{
			{unit: "req/s", title: "req/s", format: rounds.FmtCount, higher: true, ratio: true},
			{unit: "cpu-ns/op", title: "CPU/req", format: rounds.FmtNs, ratio: true},
			{unit: "B/op", title: "B/op", format: rounds.FmtBytes, ratio: true},
			{unit: "allocs/op", title: "allocs/op", format: rounds.FmtCount, ratio: true},
		},
		lost: true,
	},
	{
		group: "Stream", title: "Streamed response: time to first byte",
		intro: fmt.Sprintf("GET of %d chunks of %d KiB, each flushed, with a pause between chunks; one request at a time over loopback. "+
			"TTFB is the median time from sending the request to reading the first body byte at the client; total is the whole response.",
			bench.StreamChunks, bench.StreamChunk>>10),
		cols: []column{
			{unit: "ttfb-ns", title: "TTFB", format: rounds.FmtNs, ratio: true},
			{unit: "ns/op", title: "total", format: rounds.FmtNs, ratio: true},
			{unit: "B/op", title: "B/op", format: rounds.FmtBytes, ratio: true},
			{unit: "allocs/op", title: "allocs/op", format: rounds.FmtCount, ratio: true},
		},
	},
	{
		group: "Download", title: "Large download through io.Copy from a file",
		intro: "The handler sets Content-Length and calls `io.Copy(w, f)`; the client reads the whole file over loopback. " +
			"sendfile is the share of the response bytes that reached the socket through ReadFrom with the file as source " +
			"(counted by a wrapper around the server's connections), which Linux serves with sendfile. " +
			"Peak heap is the high-water mark of the heap during the download (sampled every millisecond). " +
			"CPU/op is the process CPU time per download, client included.",
		cols: []column{
			{unit: "MB/s", title: "MB/s", format: rounds.FmtCount, higher: true, ratio: true},
			{unit: "peak-heap-B", title: "peak heap", format: rounds.FmtBytes, ratio: true},
			{unit: "sendfile-%", title: "sendfile", format: rounds.FmtPct, higher: true},
			{unit: "cpu-ns/op", title: "CPU/op", format: rounds.FmtNs, ratio: true},
			{unit: "B/op", title: "B/op", format: rounds.FmtBytes, ratio: true},
		},
	},
}

// peers are the implementations bodytap is compared with in the "bodytap
// loses to" column.
var peers = []string{"httpsnoop", "chi", "bufferall", "echo-bodydump"}

func writeReport(w io.Writer, o options, in info, res *rounds.Results, wrkOut string, goTime, total time.Duration) {
	fmt.Fprintf(w, "Generated by `go run ./cmd/benchall -o RESULTS.md` on %s in %v (Go benchmarks %v, wrk the rest).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), total.Round(time.Second), goTime.Round(time.Second))
	fmt.Fprintf(w, "- go: %s\n", in.goVersion)
	fmt.Fprintf(w, "- machine: %s, %d cores, %s, shared with other work\n", in.cpu, in.cores, in.mem)
	fmt.Fprintf(w, "- load average (1, 5, 15 min): %s at the start, %s at the end\n", in.loadStart, in.loadEnd)
	fmt.Fprintf(w, "- %d rounds; each runs, in a fresh process, the in-process and loopback benchmarks at -benchtime %s, "+
		"%d streamed responses (pause %v between chunks) and %d download(s) of %d MiB per implementation, "+
		"the implementations rotated each round\n", res.Rounds, o.benchtime, o.streamOps, o.streamPause, o.downloadOps, o.downloadSize>>20)
	fmt.Fprintf(w, "- values are medians over the rounds; **× columns are medians of the per-round ratios** to `bare` "+
		"(for echo-bodydump also to bare `echo`, in parentheses); bodies are kept up to %d KiB by bodytap, httpsnoop and chi, whole by bufferall and echo-bodydump\n", bench.Cap>>10)
	if o.raw != "" {
		fmt.Fprintf(w, "- raw output: `%s` (`benchstat -col /impl %s`)\n", o.raw, o.raw)
	}
	fmt.Fprintf(w, "- **bodytap loses to**: peers that beat bodytap on a figure by more than 5%% in the median of the per-round ratios and in at least 75%% of the rounds "+
		"(for echo-bodydump, its overhead over bare echo against bodytap's over bare)\n\n")

	for _, t := range tables {
		works := res.Works[t.group]
		if len(works) == 0 {
			continue
		}
		fmt.Fprintf(w, "### %s\n\n%s\n\n", t.title, t.intro)
		fmt.Fprint(w, "| workload | implementation |")
		align := "|---|---|"
		for _, c := range t.cols {
			fmt.Fprintf(w, " %s |", c.title)
			align += "---:|"
			if c.ratio {
				fmt.Fprint(w, " × |")
				align += "---:|"
			}
		}
		if t.lost {
			fmt.Fprint(w, " records lost |")
			align += "---:|"
		}
		fmt.Fprintln(w, " bodytap loses to |")
		fmt.Fprintln(w, align+"---|")
		for _, work := range works {
			for _, impl := range bench.Impls {
				if _, ok := res.Samples[key(t.group, work, impl.Name, t.cols[0].unit)]; !ok {
					continue
				}
				fmt.Fprintf(w, "| %s | %s |", work, impl.Name)
				for _, c := range t.cols {
					k := key(t.group, work, impl.Name, c.unit)
					m, ok := res.Median(k)
					if !ok {
						fmt.Fprint(w, " |")
					} else {
						fmt.Fprintf(w, " %s |", c.format(m))
					}
					if c.ratio {
						fmt.Fprintf(w, " %s |", ratioCell(res, k, impl))
					}
				}
				if t.lost {
					fmt.Fprintf(w, " %s |", lostCell(res, key(t.group, work, impl.Name, "lost/op"), impl))
				}
				fmt.Fprintf(w, " %s |\n", losesCell(res, t, work, impl.Name))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "### End to end with wrk\n\n`./wrk.sh` (DURATION=%s REPS=%d): separate server processes, wrk on the same machine. "+
		"rproxy is `httputil.ReverseProxy` set up like bodytap's proxy (its transport, flushing every read, full duplex) without capture; "+
		"proxy is `github.com/bodytap/bodytap/proxy`; both forward to a separate bare upstream process.\n\n", o.wrkDuration, o.wrkReps)
	fmt.Fprintln(w, strings.TrimSpace(wrkOut))
	fmt.Fprintln(w)
}

func ratioCell(res *rounds.Results, k rounds.Key, impl bench.Impl) string {
	base := k
	base.Impl = "bare"
	r := res.Ratios(k, base)
	if len(r) == 0 {
		return ""
	}
	s := fmt.Sprintf("%.2f", rounds.Quantile(r, 0.5))
	if impl.Family != "bare" && impl.Name != impl.Family {
		base.Impl = impl.Family
		if r := res.Ratios(k, base); len(r) > 0 {
			s += fmt.Sprintf(" (%.2f)", rounds.Quantile(r, 0.5))
		}
	}
	return s
}

func lostCell(res *rounds.Results, k rounds.Key, impl bench.Impl) string {
	if !impl.Captures() {
		return ""
	}
	m, ok := res.Median(k)
	if !ok {
		return ""
	}
	if m == 0 {
		return "0"
	}
	return rounds.FmtPct(100 * m)
}

// losesCell lists, for the bodytap rows, the peers that beat bodytap on
// some figure of the table, with bodytap's factor (how many times worse).
func losesCell(res *rounds.Results, t table, work, impl string) string {
	if !strings.HasPrefix(impl, "bodytap") {
		return ""
	}
	var parts []string
	for _, peer := range peers {
		var lost []string
		for _, c := range t.cols {
			a := key(t.group, work, impl, c.unit)
			var r []float64
			if peer == "echo-bodydump" {
				r = overheadRatios(res, a)
			} else {
				r = res.Ratios(a, key(t.group, work, peer, c.unit))
			}
			if len(r) == 0 {
				continue
			}
			worse := 0
			for i, x := range r {
				if c.higher {
					r[i] = 1 / x // how many times worse
				}
				if r[i] > 1 {
					worse++
				}
			}
			if f := rounds.Quantile(r, 0.5); f > 1.05 && 4*worse >= 3*len(r) {
				lost = append(lost, fmt.Sprintf("%s %.2f×", c.title, f))
			}
		}
		if len(lost) > 0 {
			parts = append(parts, peer+": "+strings.Join(lost, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

// overheadRatios compares overheads round by round: bodytap's (a) over
// bare, divided by echo-bodydump's over bare echo.
func overheadRatios(res *rounds.Results, a rounds.Key) []float64 {
	bare := a
	bare.Impl = "bare"
	peer := a
	peer.Impl = "echo-bodydump"
	echo := a
	echo.Impl = "echo"
	var s []float64
	for r, x := range res.Samples[a] {
		b, ok1 := res.Samples[bare][r]
		p, ok2 := res.Samples[peer][r]
		e, ok3 := res.Samples[echo][r]
		if ok1 && ok2 && ok3 && b != 0 && e != 0 && p != 0 {
			s = append(s, (x/b)/(p/e))
		}
	}
	return s
}
