package rounds

import (
	"bufio"
	"bytes"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Results holds every sample: one per round for each group, workload,
// implementation and unit.
//
// Besides the units of the benchmark output, Parse records "requests",
// the iterations of the benchmark, and, where the output has lost/op,
// "lost", the count of records lost (lost/op times the iterations).
type Results struct {
	Samples map[Key]map[int]float64 // key -> round -> value
	Works   map[string][]string     // group -> workloads in order of appearance
	Rounds  int                     // rounds parsed: the highest round plus one
}

// A Key names a series of samples: Benchmark<Group>/work=<Work>/impl=<Impl>
// in <Unit>.
type Key struct{ Group, Work, Impl, Unit string }

// NewResults returns empty Results.
func NewResults() *Results {
	return &Results{Samples: map[Key]map[int]float64{}, Works: map[string][]string{}}
}

var benchLine = regexp.MustCompile(`^Benchmark(\w+)/work=([^/\s]+)/impl=(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// Parse reads go test -bench output of round r; group, if not empty,
// replaces the benchmark's own group name.
func (res *Results) Parse(r int, group string, out []byte) {
	res.Rounds = max(res.Rounds, r+1)
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
		if !slices.Contains(res.Works[g], work) {
			res.Works[g] = append(res.Works[g], work)
		}
		n, _ := strconv.ParseFloat(m[4], 64)
		res.Set(Key{g, work, impl, "requests"}, r, n)
		f := strings.Fields(m[5])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res.Set(Key{g, work, impl, f[i+1]}, r, v)
			switch f[i+1] {
			case "lost/op":
				res.Set(Key{g, work, impl, "lost"}, r, math.Round(v*n))
			case "shed/op":
				res.Set(Key{g, work, impl, "shed"}, r, math.Round(v*n))
			}
		}
	}
}

// Set records v as the sample of k in round r.
func (res *Results) Set(k Key, r int, v float64) {
	if res.Samples[k] == nil {
		res.Samples[k] = map[int]float64{}
	}
	res.Samples[k][r] = v
}

// Median of the samples of k, and whether there are any.
func (res *Results) Median(k Key) (float64, bool) {
	var s []float64
	for _, v := range res.Samples[k] {
		s = append(s, v)
	}
	if len(s) == 0 {
		return 0, false
	}
	return Quantile(s, 0.5), true
}

// Sum of the samples of k, and whether there are any.
func (res *Results) Sum(k Key) (float64, bool) {
	var t float64
	for _, v := range res.Samples[k] {
		t += v
	}
	return t, len(res.Samples[k]) > 0
}

// Ratios returns, round by round, the value of a divided by the value of
// b, for the rounds that have both.
func (res *Results) Ratios(a, b Key) []float64 {
	var s []float64
	for r, x := range res.Samples[a] {
		if y, ok := res.Samples[b][r]; ok && y != 0 {
			s = append(s, x/y)
		}
	}
	return s
}

// Quantile q of v by linear interpolation between closest ranks; v must
// not be empty. Quantile(v, 0.5) is the median.
func Quantile(v []float64, q float64) float64 {
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
