package redact

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
)

// scanPlain is scan for the usual rules: no Options.Fields and no
// Options.JSONPaths, so that a key is hidden by its name alone and the
// scanner need not know where it is. It does what scan does, byte for
// byte (the tests hold the two together), but it is written for what
// the compiler makes of it:
//
//   - The common steps (a short key and its colon, a short string, a
//     number, a literal, a bracket, a comma, blanks) call nothing. Go
//     keeps no register across a call, so a value live across any call
//     is stored to the stack where it is made, on every path: the state
//     (i, depth, objs) goes into each rarer step's call and comes back
//     out of it, and the input and the memo are read again from s after
//     it, so that nothing is live across a call.
//   - Keys of 8 to 15 bytes, common too, are looked up in the memo from
//     the two words after the quote, without a call.
//   - Words are loaded as b[j:j+8] with j+8 <= len(b) known, which costs
//     no more than the load.
func (s *jsonScrubber) scanPlain() bool {
	b := s.in
	i := 0
	if bytes.HasPrefix(b, utf8BOM) {
		i = 3
	}
	// The open containers: depth of them, the innermost in the low bit of
	// objs (1 for an object), 63 more above it; deeper ones in s.outer.
	depth, objs := 0, uint64(0)
	memo := s.keys
	var c byte
	var st int
	var sensitive bool // of the key just read

value: // A value comes next.
	if i >= len(b) {
		return true
	}
	if c = b[i]; c == '"' {
		goto str
	}
	if c <= ' ' {
		for jsonSpace[c] {
			if i++; i >= len(b) {
				return true
			}
			c = b[i]
		}
		if c == '"' {
			goto str
		}
	}
	if c == '{' || c == '[' {
		if depth >= MaxJSONDepth {
			return false
		}
		if depth%64 == 0 && depth > 0 {
			i, depth, objs = s.pushOuter(i, depth, objs)
			b, memo = s.in, s.keys
		}
		objs = objs<<1 | uint64(c&0x20>>5) // 1 for '{' (0x7B), 0 for '[' (0x5B)
		depth++
		// The container may close at once.
		i++
		for i < len(b) && jsonSpace[b[i]] {
			i++
		}
		if i < len(b) && b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
			goto closing
		}
		if c == '{' {
			goto key
		}
		goto value
	}
	if c == '-' || c-'0' < 10 {
		start := i
		for i++; i < len(b) && jsonNumber[b[i]]; i++ {
		}
		if i-start >= 13 && c != '-' {
			i, depth, objs = s.cardNumber(start, i, depth, objs)
			b, memo = s.in, s.keys
		}
		goto after
	}
	// A literal, true, false or null, or not JSON.
	if i+5 <= len(b) {
		switch w := binary.LittleEndian.Uint32(b[i : i+4]); {
		case w == 't'|'r'<<8|'u'<<16|'e'<<24, w == 'n'|'u'<<8|'l'<<16|'l'<<24:
			i += 4
			goto after
		case w == 'f'|'a'<<8|'l'<<16|'s'<<24 && b[i+4] == 'e':
			i += 5
			goto after
		}
	}
	i, depth, objs, st = s.literal(i, depth, objs)
	b, memo = s.in, s.keys
	if st != 0 {
		return false
	}
	goto after

str: // A string value starts at b[i].
	if i+17 <= len(b) {
		// Most values end within two words: look there first.
		x := binary.LittleEndian.Uint64(b[i+1 : i+9])
		q := swarMatch(x, '"')
		m := q | swarMatch(x, '\\')
		if m&-m&q != 0 {
			// Too short to hold a secret.
			i += 2 + bits.TrailingZeros64(q)/8
			goto after
		}
		if m == 0 {
			x = binary.LittleEndian.Uint64(b[i+9 : i+17])
			q = swarMatch(x, '"')
			if m = q | swarMatch(x, '\\'); m&-m&q != 0 {
				end := i + 10 + bits.TrailingZeros64(q)/8
				if end-i > minSecret && s.det != 0 {
					i, depth, objs = s.stringValue(i, depth, objs)
					b, memo = s.in, s.keys
					goto after
				}
				i = end
				goto after
			}
		}
	}
	i, depth, objs = s.stringValue(i, depth, objs)
	b, memo = s.in, s.keys
	goto after

key: // A key comes next.
	if i >= len(b) {
		return true
	}
	if c = b[i]; c != '"' {
		if c > ' ' {
			return false
		}
		for jsonSpace[c] {
			if i++; i >= len(b) {
				return true
			}
			c = b[i]
		}
		if c != '"' {
			return false
		}
	}
	if i+9 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i+1 : i+9])
		q := swarMatch(x, '"')
		m := q | swarMatch(x, '\\')
		if low := m & -m; low&q != 0 && low > 0x80 {
			// A short key, whole in the word after the quote, is looked
			// up by that word, in its two places in the memo; and the
			// colon after it is most often the next byte, in that word.
			e, p, pq := shortKey(x, low>>7)
			k := bits.TrailingZeros64(q) / 8 // the key's length, 1 to 7
			if v := memo.shortKeys[p]; v&^(1<<63) == e {
				sensitive = v>>63 != 0
			} else if v := memo.shortKeys[pq]; v&^(1<<63) == e {
				sensitive = v>>63 != 0
			} else {
				sensitive, i, depth, objs = s.shortKeyMiss(e, p, pq, k, i, depth, objs)
				b, memo = s.in, s.keys
			}
			i += k + 2
			if k < 7 && byte(x>>(8*(k+1))) == ':' {
				i++
				if sensitive {
					goto hide
				}
				goto value
			}
			goto colon
		}
		if m == 0 && i+17 <= len(b) {
			x2 := binary.LittleEndian.Uint64(b[i+9 : i+17])
			q = swarMatch(x2, '"')
			if m = q | swarMatch(x2, '\\'); m&-m&q != 0 {
				// A key of 8 to 15 bytes, looked up as keyMemo.sensitive
				// does, by its first and last 8 bytes.
				k := 8 + bits.TrailingZeros64(q)/8
				last := binary.LittleEndian.Uint64(b[i+k-7 : i+k+1])
				h := (x ^ bits.RotateLeft64(last, 29) ^ uint64(k)) * 0x9E3779B97F4A7C15
				if e := &memo.keys[h>>(64-keyMemoBits)]; e.first == x && e.last == last && int(e.tag>>1) == k {
					sensitive = e.tag&1 != 0
				} else if e := &memo.keys[h>>(64-2*keyMemoBits)%keyMemoSize]; e.first == x && e.last == last && int(e.tag>>1) == k {
					sensitive = e.tag&1 != 0
				} else {
					sensitive, i, depth, objs = s.keyMiss(k, i, depth, objs)
					b, memo = s.in, s.keys
				}
				i += k + 2
				goto colon
			}
		}
	}
	i, depth, objs, st = s.key(i, depth, objs)
	b, memo = s.in, s.keys
	switch st {
	case keyPlain:
		goto value
	case keyHidden:
		goto hide
	case keyCut:
		return true
	}
	return false

colon: // After a key read here, blanks and the colon, then its value.
	for i < len(b) && jsonSpace[b[i]] {
		i++
	}
	if i >= len(b) {
		return true
	}
	if b[i] != ':' {
		return false
	}
	i++
	if sensitive {
		goto hide
	}
	goto value

hide: // A value to hide comes next.
	i, depth, objs, st = s.hideValue(i, depth, objs)
	b, memo = s.in, s.keys
	if st != 0 {
		return false
	}
	goto after

after: // A value has ended.
	if i >= len(b) {
		return true
	}
	if c = b[i]; c <= ' ' {
		for jsonSpace[c] {
			if i++; i >= len(b) {
				return true
			}
			c = b[i]
		}
	}
	if c == ',' && depth > 0 {
		i++
		if objs&1 != 0 {
			goto key
		}
		goto value
	}
	if depth == 0 {
		// Another top-level value, as in NDJSON, JSON Lines and JSON
		// text sequences (whose records start with RS).
		if c == 0x1E {
			i++
		}
		goto value
	}
	// '}' closes an object, ']' an array: they differ in bit 0x20, as
	// '{' and '[' do, which objs keeps.
	if c|0x20 == '}' && uint64(c>>5&1) == objs&1 {
		goto closing
	}
	return false

closing: // b[i] closes the innermost container.
	i++
	depth--
	objs >>= 1
	if depth%64 == 0 && depth > 0 {
		i, depth, objs = s.popOuter(i, depth)
		b, memo = s.in, s.keys
	}
	goto after
}

// The rarer steps of scanPlain. Each takes the scanner's state, i (where
// it is in s.in), depth and objs, and gives it back, changed or not, so
// that none of it is live across the call.

// pushOuter keeps objs, 64 open containers, in s.outer.
//
//go:noinline
func (s *jsonScrubber) pushOuter(i, depth int, objs uint64) (int, int, uint64) {
	s.outer = append(s.outer, objs)
	return i, depth, objs
}

// popOuter takes the 64 open containers around the innermost from
// s.outer, after one closed.
//
//go:noinline
func (s *jsonScrubber) popOuter(i, depth int) (int, int, uint64) {
	objs := s.outer[len(s.outer)-1]
	s.outer = s.outer[:len(s.outer)-1]
	return i, depth, objs
}

// cardNumber hides the number in[start:end] if it is a card number that
// the detectors are to find, and returns end.
//
//go:noinline
func (s *jsonScrubber) cardNumber(start, end, depth int, objs uint64) (int, int, uint64) {
	if s.det&DetectCard != 0 && cardEnd(s.in, start, end, modeText) == end {
		s.hide(start, end)
		s.found |= DetectCard
	}
	return end, depth, objs
}

// literal reads the literal (or number) at in[i], and returns where it
// ends, or st 1 if there is none there.
//
//go:noinline
func (s *jsonScrubber) literal(i, depth int, objs uint64) (_, _ int, _ uint64, st int) {
	end, ok := jsonScalarEnd(s.in, i)
	if !ok {
		return i, depth, objs, 1
	}
	return end, depth, objs, 0
}

// stringValue reads the string value at in[i], runs the detectors over
// it if it is long enough, and returns where it ends.
//
//go:noinline
func (s *jsonScrubber) stringValue(i, depth int, objs uint64) (int, int, uint64) {
	start := i
	i, closed := jsonStringEnd(s.in, start)
	if s.det != 0 && i-start > minSecret {
		e := i
		if closed {
			e--
		}
		s.detectIn(start+1, e)
	}
	return i, depth, objs
}

// shortKeyMiss is keyMemo.short for the short key of k bytes after the
// quote at in[i].
//
//go:noinline
func (s *jsonScrubber) shortKeyMiss(e uint64, p, q, k, i, depth int, objs uint64) (bool, int, int, uint64) {
	return s.keys.short(e, p, q, s.in[i+1:i+1+k]), i, depth, objs
}

// keyMiss is keyMemo.sensitive for the key of k bytes after the quote at
// in[i].
//
//go:noinline
func (s *jsonScrubber) keyMiss(k, i, depth int, objs uint64) (bool, int, int, uint64) {
	return s.keys.sensitive(s.in[i+1:i+1+k], s.in, i+1), i, depth, objs
}

// What scanPlain does after a key that key read.
const (
	keyPlain  = iota // read the value
	keyHidden        // hide the value
	keyCut           // the input ends: done
	keyBad           // not JSON
)

// key reads the key at in[i], and its colon, as scan does, and returns
// where the value starts and what to do with it.
//
//go:noinline
func (s *jsonScrubber) key(i, depth int, objs uint64) (_, _ int, _ uint64, st int) {
	b := s.in
	end, closed, escaped := keyEnd(b, i)
	if escaped {
		end, closed = jsonStringEnd(b, i)
	}
	if !closed {
		return i, depth, objs, keyCut // cut in the key: no value to hide
	}
	var sensitive bool
	if escaped {
		var ok bool
		if sensitive, ok = escapedKeySensitive(b[i:end]); !ok {
			return i, depth, objs, keyBad
		}
	} else {
		sensitive = s.keys.sensitive(b[i+1:end-1], b, i+1)
	}
	if i = end; i < len(b) && b[i] <= ' ' {
		i = skipJSONSpace(b, i)
	}
	switch {
	case i >= len(b):
		return i, depth, objs, keyCut
	case b[i] != ':':
		return i, depth, objs, keyBad
	case sensitive:
		return i + 1, depth, objs, keyHidden
	}
	return i + 1, depth, objs, keyPlain
}

// hideValue hides the value at in[i] (after blanks), and returns where it
// ends, or st 1 if no value starts there.
//
//go:noinline
func (s *jsonScrubber) hideValue(i, depth int, objs uint64) (_, _ int, _ uint64, st int) {
	b := s.in
	if i < len(b) && b[i] <= ' ' {
		i = skipJSONSpace(b, i)
	}
	if i >= len(b) {
		return i, depth, objs, 0
	}
	end, ok := skipJSONValue(b, i)
	if !ok {
		return i, depth, objs, 1
	}
	s.hide(i, end)
	return end, depth, objs, 0
}

// escapedKeySensitive reports whether the key q, a JSON string with an
// escape in it, quotes included, is sensitive by the built-in rules, and
// false for ok if it does not decode.
func escapedKeySensitive(q []byte) (sensitive, ok bool) {
	var u string
	if json.Unmarshal(q, &u) != nil {
		return false, false
	}
	return sensitiveName([]byte(u)), true
}
