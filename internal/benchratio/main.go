// Command benchratio reads `go test -bench` output and prints a Markdown
// table of medians, each as a ratio to the baseline measured in the same
// run.
//
// Benchmark names are taken as Group/Row/Variant (the last element is the
// variant; the rest is the row), so BenchmarkLoopback/1KiB/capture is row
// Loopback/1KiB, variant capture. The baseline variant is "bare" unless
// -base says otherwise.
//
// With -paired, each ratio is instead the median of the per-round ratios
// (the i-th result of a variant against the i-th of the baseline), with
// their interquartile range: on a shared machine whose speed drifts from
// minute to minute, comparing each round with the baseline measured next
// to it cancels most of the drift.
//
//	go test -run XXX -bench . -count 6 . | go run ./internal/benchratio
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

type key struct{ row, variant string }

func main() {
	log.SetFlags(0)
	base := flag.String("base", "bare", "baseline variant")
	paired := flag.Bool("paired", false, "ratios are medians of per-round ratios, with their interquartile range")
	flag.Parse()
	vals, rows, variants, units, err := parse(os.Stdin)
	if err != nil {
		log.Fatal(err)
	}
	if len(rows) == 0 {
		log.Fatal("benchratio: no benchmark lines on standard input")
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "| benchmark | variant |")
	for _, u := range units {
		fmt.Fprintf(w, " %s | ×%s |", u, *base)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "|---|---|")
	for range units {
		fmt.Fprint(w, "---:|---:|")
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		for _, v := range variants {
			m, ok := vals[key{r, v}]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "| %s | %s |", r, v)
			for _, u := range units {
				med, ok := median(m[u])
				if !ok {
					fmt.Fprint(w, " | |")
					continue
				}
				ratio := ""
				if *paired {
					ratio = pairedRatio(m[u], vals[key{r, *base}][u])
				} else if b, ok := median(vals[key{r, *base}][u]); ok && b != 0 {
					ratio = strconv.FormatFloat(med/b, 'f', 2, 64)
				}
				fmt.Fprintf(w, " %s | %s |", format(med), ratio)
			}
			fmt.Fprintln(w)
		}
	}
}

func parse(r io.Reader) (map[key]map[string][]float64, []string, []string, []string, error) {
	vals := map[key]map[string][]float64{}
	var rows, variants, units []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name := m[1]
		i := strings.LastIndex(name, "/")
		if i < 0 {
			continue
		}
		k := key{name[:i], name[i+1:]}
		if !slices.Contains(rows, k.row) {
			rows = append(rows, k.row)
		}
		if !slices.Contains(variants, k.variant) {
			variants = append(variants, k.variant)
		}
		f := strings.Fields(m[2])
		for j := 0; j+1 < len(f); j += 2 {
			v, err := strconv.ParseFloat(f[j], 64)
			if err != nil {
				continue
			}
			u := f[j+1]
			if u == "MB/s" {
				continue
			}
			if vals[k] == nil {
				vals[k] = map[string][]float64{}
			}
			vals[k][u] = append(vals[k][u], v)
			if !slices.Contains(units, u) {
				units = append(units, u)
			}
		}
	}
	return vals, rows, variants, units, sc.Err()
}

// pairedRatio returns the median of v[i]/base[i] and the interquartile
// range of those ratios, as "1.04 (1.01–1.07)".
func pairedRatio(v, base []float64) string {
	var rs []float64
	for i := range min(len(v), len(base)) {
		if base[i] != 0 {
			rs = append(rs, v[i]/base[i])
		}
	}
	med, ok := median(rs)
	if !ok {
		return ""
	}
	// Quartiles as the medians of the lower and upper halves.
	sort.Float64s(rs)
	q1, _ := median(rs[:len(rs)/2])
	q3, _ := median(rs[(len(rs)+1)/2:])
	if len(rs) == 1 {
		q1, q3 = rs[0], rs[0]
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", med, q1, q3)
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func format(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
