// Command wrkratio reads the wrk outputs that wrk.sh leaves in a directory,
// named <mode>.<endpoint>.<round>.txt, and prints a Markdown table of
// requests/s, the server's CPU per request and latency percentiles per
// endpoint and mode: medians over the rounds, and ratios (medians of the
// per-round ratios) to the bare mode, to the cheapest peer (of the -peers
// modes present, the one with the least median CPU per request), and for
// the proxy mode also to the rproxy mode. The server's CPU is a line
// "Server CPU: <seconds> s" that wrk.sh appends to each output: the CPU
// time its process took during the run.
//
//	wrkratio -modes "bare bodytap rproxy proxy" -endpoints "json1k json64k" DIR
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// run is what one wrk run reported, and the server's CPU during it.
type run struct {
	rps      float64
	requests int64 // completed during the run
	cpu      float64
	p50, p99 time.Duration
	errors   int64 // non-2xx/3xx responses and socket errors
}

// cpuPerReq is the server's CPU time per request, in seconds; 0 if the
// output has no CPU line.
func (r run) cpuPerReq() float64 {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / float64(r.requests)
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("wrkratio: ")
	modes := flag.String("modes", "bare bodytap rproxy proxy", "modes in table order")
	endpoints := flag.String("endpoints", "json1k json64k", "endpoints in table order")
	settings := flag.String("settings", "", "a line describing the wrk settings, printed above the table")
	peers := flag.String("peers", "chi httpsnoop", "modes that are peers: the ×peer columns compare with the one of them with the least CPU per request")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: wrkratio [flags] DIR")
	}
	dir := flag.Arg(0)
	runs := map[string]map[int]run{} // mode.endpoint -> round -> run
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".txt"), ".")
		if len(parts) != 3 {
			continue
		}
		round, err := strconv.Atoi(parts[2])
		if err != nil {
			continue
		}
		r, err := parseFile(f)
		if err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		k := parts[0] + "." + parts[1]
		if runs[k] == nil {
			runs[k] = map[int]run{}
		}
		runs[k][round] = r
	}
	if len(runs) == 0 {
		log.Fatalf("no wrk outputs in %s", dir)
	}
	if *settings != "" {
		fmt.Printf("%s; medians of the rounds, ratios are medians of the per-round ratios.\n\n", *settings)
	}
	fmt.Println("| endpoint | server | req/s | ×bare | ×peer | ×rproxy | CPU/req | ×bare | ×peer | p50 | ×bare | p99 | ×bare | errors |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	rps := func(r run) float64 { return r.rps }
	cpu := run.cpuPerReq
	for _, ep := range strings.Fields(*endpoints) {
		base := runs["bare."+ep]
		peer := cheapest(runs, strings.Fields(*peers), ep)
		for _, m := range strings.Fields(*modes) {
			rs := runs[m+"."+ep]
			if len(rs) == 0 {
				continue
			}
			p50 := median(collect(rs, func(r run) float64 { return float64(r.p50) }))
			p99 := median(collect(rs, func(r run) float64 { return float64(r.p99) }))
			var errs int64
			for _, r := range rs {
				errs += r.errors
			}
			vsProxy := ""
			if m == "proxy" {
				vsProxy = ratio(rs, runs["rproxy."+ep], rps)
			}
			name := m
			if m == peer {
				name += " (cheapest peer)"
			}
			cpuCell := ""
			if c := median(collect(rs, cpu)); c > 0 {
				cpuCell = fmt.Sprintf("%.1f µs", c*1e6)
			}
			fmt.Printf("| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", ep, name,
				median(collect(rs, rps)), ratio(rs, base, rps), ratio(rs, runs[peer+"."+ep], rps), vsProxy,
				cpuCell, ratio(rs, base, cpu), ratio(rs, runs[peer+"."+ep], cpu),
				dur(p50), ratio(rs, base, func(r run) float64 { return float64(r.p50) }),
				dur(p99), ratio(rs, base, func(r run) float64 { return float64(r.p99) }),
				errs)
		}
	}
}

// cheapest returns the mode of peers that ran endpoint ep with the least
// median CPU per request, or "" if none did (or none has CPU figures).
func cheapest(runs map[string]map[int]run, peers []string, ep string) string {
	best, least := "", 0.0
	for _, p := range peers {
		rs := runs[p+"."+ep]
		if len(rs) == 0 {
			continue
		}
		if c := median(collect(rs, run.cpuPerReq)); c > 0 && (best == "" || c < least) {
			best, least = p, c
		}
	}
	return best
}

func collect(rs map[int]run, f func(run) float64) []float64 {
	var v []float64
	for _, r := range rs {
		v = append(v, f(r))
	}
	return v
}

// ratio is the median over the rounds of f(rs[round]) / f(base[round]),
// over the rounds where both are known (f not 0).
func ratio(rs, base map[int]run, f func(run) float64) string {
	var v []float64
	for round, r := range rs {
		b, ok := base[round]
		if ok && f(b) != 0 && f(r) != 0 {
			v = append(v, f(r)/f(b))
		}
	}
	if len(v) == 0 {
		return ""
	}
	return strconv.FormatFloat(median(v), 'f', 2, 64)
}

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

func dur(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f µs", float64(d)/1e3)
}

var (
	rpsLine     = regexp.MustCompile(`^Requests/sec:\s+([\d.]+)`)
	countLine   = regexp.MustCompile(`^\s*(\d+) requests in `)
	cpuLine     = regexp.MustCompile(`^Server CPU:\s+([\d.]+) s`)
	pctLine     = regexp.MustCompile(`^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	non2xxLine  = regexp.MustCompile(`^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	socketLine  = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	unitToNanos = map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9}
)

func parseFile(name string) (run, error) {
	f, err := os.Open(name)
	if err != nil {
		return run{}, err
	}
	defer f.Close()
	var r run
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := rpsLine.FindStringSubmatch(line); m != nil {
			r.rps, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := countLine.FindStringSubmatch(line); m != nil {
			r.requests, _ = strconv.ParseInt(m[1], 10, 64)
		}
		if m := cpuLine.FindStringSubmatch(line); m != nil {
			r.cpu, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := pctLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			d := time.Duration(v * unitToNanos[m[3]])
			if m[1] == "50" {
				r.p50 = d
			} else {
				r.p99 = d
			}
		}
		if m := non2xxLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			r.errors += n
		}
		if m := socketLine.FindStringSubmatch(line); m != nil {
			for _, s := range m[1:] {
				n, _ := strconv.ParseInt(s, 10, 64)
				r.errors += n
			}
		}
	}
	if err := sc.Err(); err != nil {
		return run{}, err
	}
	if r.rps == 0 {
		return run{}, fmt.Errorf("no Requests/sec line")
	}
	return r, nil
}
