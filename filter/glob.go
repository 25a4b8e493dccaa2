package filter

import "unicode/utf8"

// matchGlob reports whether path matches glob as a whole. In glob, "*"
// matches any run of characters other than '/', "**" (or more stars) any
// run of characters, "?" one character other than '/'; every other
// character matches itself.
//
// It simulates the glob as a nondeterministic automaton whose states are
// the byte offsets of the glob's elements, so it takes time proportional
// to len(path)*len(glob) whatever the glob, and allocates nothing for
// globs shorter than 256 bytes.
func matchGlob(glob, path string) bool {
	n := len(glob) // the accepting state
	words := n/64 + 1
	var small [2 * 4]uint64
	var sets []uint64
	if 2*words <= len(small) {
		sets = small[:2*words]
	} else {
		sets = make([]uint64, 2*words)
	}
	cur, next := bitset(sets[:words]), bitset(sets[words:])

	cur.set(0)
	closeStars(glob, cur)
	for len(path) > 0 {
		r, w := utf8.DecodeRuneInString(path)
		c := path[:w]
		path = path[w:]

		next.clear()
		alive := false
		for i := 0; i < n; i++ {
			if !cur.has(i) {
				continue
			}
			switch glob[i] {
			case '*':
				if i+1 < n && glob[i+1] == '*' || r != '/' {
					next.set(i) // a star stays put as it consumes c
					alive = true
				}
			case '?':
				if r != '/' {
					next.set(i + 1)
					alive = true
				}
			default:
				_, gw := utf8.DecodeRuneInString(glob[i:])
				if glob[i:i+gw] == c {
					next.set(i + gw)
					alive = true
				}
			}
		}
		if !alive {
			return false
		}
		closeStars(glob, next)
		cur, next = next, cur
	}
	return cur.has(n)
}

// closeStars adds to s, for each star of glob whose state is in s, the
// state after it: a star may match nothing. A star is a run of '*': a
// state is the offset of the run's first '*' only.
func closeStars(glob string, s bitset) {
	for i := 0; i < len(glob); i++ {
		if glob[i] != '*' {
			continue
		}
		j := i + 1
		for j < len(glob) && glob[j] == '*' {
			j++
		}
		if s.has(i) {
			s.set(j)
		}
		i = j - 1
	}
}

// A bitset is a set of small non-negative integers.
type bitset []uint64

func (s bitset) set(i int)      { s[i/64] |= 1 << (i % 64) }
func (s bitset) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }

func (s bitset) clear() {
	for i := range s {
		s[i] = 0
	}
}
