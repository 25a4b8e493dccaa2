package replay

import (
	"fmt"
	"strings"
)

// maxLCSCells bounds the table of the longest-common-subsequence line diff
// (2 bytes a cell): texts whose differing middles are larger are compared
// line by line at the same numbers instead.
const maxLCSCells = 1 << 21

// lines compares two texts line by line, as diff does: the lines of the
// longest common subsequence match, and the others are reported in runs.
// Within a run, a recorded line and a new one side by side are one
// difference, "line N" by the recorded numbering; a recorded line with no
// counterpart is "line N" with the new value absent, and a new line with no
// counterpart "new line M" by the new numbering, the recorded value
// absent.
func (c *comparer) lines(a, b []byte) {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	// The common start and end need no table.
	pre := 0
	for pre < min(len(la), len(lb)) && la[pre] == lb[pre] {
		pre++
	}
	suf := 0
	for suf < min(len(la), len(lb))-pre && la[len(la)-1-suf] == lb[len(lb)-1-suf] {
		suf++
	}
	ma, mb := la[pre:len(la)-suf], lb[pre:len(lb)-suf]
	if len(ma)*len(mb) > maxLCSCells {
		c.positional(ma, mb, pre)
		return
	}
	// lcs[i*(m+1)+j] is the length of the longest common subsequence of
	// ma[i:] and mb[j:]. It fits in 16 bits: n*m <= maxLCSCells makes
	// min(n, m) at most 1448.
	n, m := len(ma), len(mb)
	ia, ib := lineIDs(ma, mb)
	lcs := make([]uint16, (n+1)*(m+1))
	at := func(i, j int) uint16 { return lcs[i*(m+1)+j] }
	for i := n - 1; i >= 0; i-- {
		row, next := lcs[i*(m+1):(i+1)*(m+1)], lcs[(i+1)*(m+1):(i+2)*(m+1)]
		for j := m - 1; j >= 0; j-- {
			if ia[i] == ib[j] {
				row[j] = next[j+1] + 1
			} else {
				row[j] = max(next[j], row[j+1])
			}
		}
	}
	var del, ins []int // the current run: indexes into ma and mb
	flush := func() {
	run:
		for k := range max(len(del), len(ins)) {
			switch {
			case c.full():
				break run
			case k < len(del) && k < len(ins):
				c.add(Diff{Where: fmt.Sprintf("line %d", pre+del[k]+1), Recorded: orEmpty(ma[del[k]]), Got: orEmpty(mb[ins[k]])})
			case k < len(del):
				c.add(Diff{Where: fmt.Sprintf("line %d", pre+del[k]+1), Recorded: orEmpty(ma[del[k]])})
			default:
				c.add(Diff{Where: fmt.Sprintf("new line %d", pre+ins[k]+1), Got: orEmpty(mb[ins[k]])})
			}
		}
		del, ins = del[:0], ins[:0]
	}
	i, j := 0, 0
	for (i < n || j < m) && !c.full() {
		switch {
		case i < n && j < m && ma[i] == mb[j]: // always part of a longest one
			flush()
			i, j = i+1, j+1
		case j == m || (i < n && at(i+1, j) >= at(i, j+1)):
			del, i = append(del, i), i+1
		default:
			ins, j = append(ins, j), j+1
		}
	}
	flush()
}

// lineIDs numbers the distinct lines of a and b, so that the table
// compares numbers rather than strings.
func lineIDs(a, b []string) (ia, ib []int32) {
	ids := map[string]int32{}
	number := func(ls []string) []int32 {
		out := make([]int32, len(ls))
		for i, l := range ls {
			id, ok := ids[l]
			if !ok {
				id = int32(len(ids))
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	return number(a), number(b)
}

// positional compares lines at the same numbers, from line pre+1: a
// shifted block shows as many differences.
func (c *comparer) positional(la, lb []string, pre int) {
	for i := range max(len(la), len(lb)) {
		if c.full() {
			return
		}
		switch {
		case i >= len(lb):
			c.add(Diff{Where: fmt.Sprintf("line %d", pre+i+1), Recorded: orEmpty(la[i])})
		case i >= len(la):
			c.add(Diff{Where: fmt.Sprintf("new line %d", pre+i+1), Got: orEmpty(lb[i])})
		case la[i] != lb[i]:
			c.add(Diff{Where: fmt.Sprintf("line %d", pre+i+1), Recorded: orEmpty(la[i]), Got: orEmpty(lb[i])})
		}
	}
}

// orEmpty is a line as a Diff shows it: an empty line as "", as a Diff
// shows a value that is absent as nothing.
func orEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return short(s)
}
