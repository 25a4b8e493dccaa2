package redact

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// JSON redaction works on the bytes: a small scanner walks the document,
// copies it, and replaces the span of each sensitive value with the
// replacement as a JSON string. Whitespace, key order, number spelling and
// escapes stay exactly as they were, which a decode and re-encode would
// lose, and a document cut short at the capture cap (the usual case for
// large bodies) is redacted as far as it goes instead of failing to parse.
//
// Input that the scanner cannot follow (it is not JSON after all, or is
// nested deeper than MaxJSONDepth) is redacted textually instead, a
// cruder pass that errs towards hiding too much.
//
// Every JSON body a Tap keeps goes through the scanner, so it is written
// for speed: strings are skipped eight bytes at a time, key names are
// looked up in a keyMemo rather than matched each time, and nothing is
// copied or allocated until there is something to hide. Its results must
// stay byte for byte those of the plainer code it replaced, which the
// tests keep as a reference (ref_test.go).
//
// Under the usual rules (no Options.Fields, no Options.JSONPaths) a
// second scanner, scanPlain (jsonfast.go), does the work of scan with
// less to carry from step to step; the tests hold it to scan, with the
// value detectors on and off (plain_test.go).

// MaxJSONDepth bounds the nesting the scanner follows, and so the memory
// it needs; deeper documents are redacted textually.
const MaxJSONDepth = 10000

// maxTextKey is the longest name the textual pass takes for a key.
const maxTextKey = 128

// redactJSON returns the JSON (or JSON stream) b with sensitive values
// replaced, and how many were. With nothing to replace, it returns nil
// and allocates nothing (but a keyMemo when the pool has none to give);
// otherwise it allocates the copy, once, at its exact size unless there
// are more than spliceBatch values to replace.
func (r *Options) redactJSON(b []byte) ([]byte, int, error) {
	out, n, _, err := r.redactJSONFound(b)
	return out, n, err
}

// redactJSONFound is redactJSON that also says which detectors found
// secrets.
func (r *Options) redactJSONFound(b []byte) ([]byte, int, Detector, error) {
	if len(b) >= 2 && (b[0] == 0 || b[1] == 0 || b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE) {
		// UTF-16 or UTF-32: nothing below would find a key.
		return nil, 0, 0, errJSONNotUTF8
	}
	s := jsonScrubber{r: r, in: b, det: r.Detect & AllDetectors}
	if len(r.JSONPaths) > 0 {
		s.paths = make([][]jpStep, 0, len(r.JSONPaths))
		for _, p := range r.JSONPaths {
			if steps, ok := jpParse(p); ok {
				s.paths = append(s.paths, steps)
			}
		}
	}
	out, n, found, _ := s.run(len(r.Fields) == 0 && s.paths == nil)
	return out, n, found, nil
}

// run scans s.in with scanPlain if plain (the rules have no Fields and
// no JSONPaths), else with scan, or textually if the scanner could not
// follow it, and returns the redacted copy (nil if nothing was
// replaced), the count of values replaced, the detectors that found
// secrets, and whether the scanner followed the input to its end.
func (s *jsonScrubber) run(plain bool) (out []byte, n int, found Detector, ok bool) {
	s.keys = keyMemos.Get().(*keyMemo)
	if plain {
		ok = s.scanPlain()
	} else {
		ok = s.scan()
	}
	if !ok {
		s.sp.reset()
		s.found = 0
		s.text()
	}
	keyMemos.Put(s.keys)
	return spliced(&s.sp, s.in), s.sp.n, s.found, ok
}

// A jsonScrubber redacts one JSON body.
type jsonScrubber struct {
	r     *Options
	in    []byte
	sp    splicer
	repl  string     // the replacement as a JSON string, looked up on first use
	paths [][]jpStep // Options.JSONPaths, parsed
	stack []jpElem   // where the scanner is, kept only when there are paths
	keys  *keyMemo
	det   Detector // the detectors to run
	found Detector // the detectors that found secrets
	inner string   // the replacement inside a JSON string, looked up on first use
	gap   int      // the textual pass ran the detectors up to here
	outer []uint64 // the scanner's open containers, 64 a word, but for the innermost 1 to 64
}

// popContainer returns the scanner's stack of open containers, depth of
// them in objs and s.outer, without the innermost.
func (s *jsonScrubber) popContainer(depth int, objs uint64) (int, uint64) {
	depth--
	objs >>= 1
	if depth%64 == 0 && depth > 0 {
		objs = s.outer[len(s.outer)-1]
		s.outer = s.outer[:len(s.outer)-1]
	}
	return depth, objs
}

// detectIn replaces the secrets that the detectors find in in[from:to],
// the inside of a JSON string (or, for the textual pass, anything).
func (s *jsonScrubber) detectIn(from, to int) {
	// Most strings hold nothing to look for: find's first look, taken
	// here, says so at less cost.
	if mayHold(s.det, s.in, from, to, modeJSON, pairSlash) == holdNone {
		return
	}
	for from < to {
		f, t, w := find(s.det, s.in, from, to, modeJSON)
		if w == 0 {
			return
		}
		if s.inner == "" {
			q := jsonRepl.of(s.r.replacement())
			s.inner = q[1 : len(q)-1]
		}
		splice(&s.sp, s.in, f, t, s.inner)
		s.found |= w
		from = t
	}
}

// detectGap runs the detectors, for the textual pass, up to in[to].
func (s *jsonScrubber) detectGap(to int) {
	if s.det != 0 && to > s.gap {
		s.detectIn(s.gap, to)
	}
}

// hide replaces in[from:to].
func (s *jsonScrubber) hide(from, to int) {
	if s.repl == "" {
		s.repl = jsonRepl.of(s.r.replacement())
	}
	splice(&s.sp, s.in, from, to, s.repl)
}

// jsonRepl caches the replacement encoded as a JSON string.
var jsonRepl = encodedRepl{encode: jsonString}

// jsonString returns s encoded as a JSON string, as encoding/json encodes
// it without HTML escaping (to keep "<hidden>" readable).
func jsonString(s string) string {
	var q bytes.Buffer
	e := json.NewEncoder(&q)
	e.SetEscapeHTML(false)
	e.Encode(s)
	return strings.TrimSuffix(q.String(), "\n")
}

// An encodedRepl caches a replacement encoded for one format, so that a
// replacement is not encoded again for every body.
type encodedRepl struct {
	encode func(string) string
	last   atomic.Pointer[[2]string] // the last replacement, and encoded
}

// of returns repl encoded.
func (e *encodedRepl) of(repl string) string {
	if p := e.last.Load(); p != nil && p[0] == repl {
		return p[1]
	}
	enc := e.encode(repl)
	e.last.Store(&[2]string{repl, enc})
	return enc
}

func (s *jsonScrubber) push(e jpElem) {
	if s.paths != nil {
		s.stack = append(s.stack, e)
	}
}

func (s *jsonScrubber) pop() {
	if s.paths != nil {
		s.stack = s.stack[:len(s.stack)-1]
	}
}

// nextIndex moves the stack to the next element of the array it is in.
func (s *jsonScrubber) nextIndex() {
	if s.paths != nil {
		s.stack[len(s.stack)-1].index++
	}
}

// pathHidden reports whether a JSON path names the value at the stack.
func (s *jsonScrubber) pathHidden() bool {
	for _, p := range s.paths {
		if jpMatch(p, s.stack) {
			return true
		}
	}
	return false
}

// utf8BOM is the byte order mark that the scanner skips at the start.
var utf8BOM = []byte("\xEF\xBB\xBF")

// scan redacts s.in as a sequence of JSON values, and reports false if it
// found bytes that cannot be JSON (s.sp then holds a partial result). The
// end of the input may come anywhere: what was seen is redacted, and a
// sensitive value cut off is replaced up to the end.
//
// scan is the hot loop of JSON redaction. It is a state machine whose
// four states are the labels value, hide (a value to hide), key and
// after, so that each step goes straight to the next, with few variables
// live across them (the compiler spills and reloads them where states
// meet). Most keys and short strings end in the word or two after their
// quote, longer strings are skipped eight bytes at a time, and whether a
// key is sensitive is mostly looked up in s.keys.
func (s *jsonScrubber) scan() bool {
	b := s.in
	i := 0
	if bytes.HasPrefix(b, utf8BOM) {
		i = 3
	}
	// The open containers: depth of them, the innermost in the low bit of
	// objs (1 for an object), 63 more above it; deeper ones in s.outer.
	depth, objs := 0, uint64(0)
	named := len(s.r.Fields) > 0 || s.paths != nil // keys are matched by name too
	var c byte
	if s.pathHidden() {
		goto hide
	}

value: // A value comes next.
	if i >= len(b) {
		return true
	}
	if c = b[i]; c <= ' ' {
		if i = skipJSONSpace(b, i); i >= len(b) {
			return true
		}
		c = b[i]
	}
	switch c {
	case '"':
		{
			start := i
			closed := true
			if i+17 <= len(b) {
				// Most values end within two words: look there first.
				x := binary.LittleEndian.Uint64(b[i+1:])
				if k := closingQuote(x); k > 0 {
					i += 1 + k
				} else if swarMatch(x, '"')|swarMatch(x, '\\') == 0 {
					if k := closingQuote(binary.LittleEndian.Uint64(b[i+9:])); k > 0 {
						i += 9 + k
					}
				}
			}
			if i == start {
				i, closed = jsonStringEnd(b, start)
			}
			if s.det != 0 && i-start > minSecret {
				e := i
				if closed {
					e--
				}
				s.detectIn(start+1, e)
			}
		}
		goto after
	case '{', '[':
		if depth >= MaxJSONDepth {
			return false
		}
		if depth%64 == 0 && depth > 0 {
			s.outer = append(s.outer, objs)
		}
		objs = objs<<1 | uint64(c&0x20>>5) // 1 for '{' (0x7B), 0 for '[' (0x5B)
		depth++
		// The container may close at once.
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipJSONSpace(b, i)
		}
		if c == '{' {
			if i < len(b) && b[i] == '}' {
				depth, objs = s.popContainer(depth, objs)
				i++
				goto after
			}
			goto key
		}
		s.push(jpElem{isIndex: true})
		if i < len(b) && b[i] == ']' {
			depth, objs = s.popContainer(depth, objs)
			s.pop()
			i++
			goto after
		}
		if s.paths != nil && s.pathHidden() {
			goto hide
		}
		goto value
	}
	if c == '-' || isDigit(c) {
		end := numberEnd(b, i+1)
		if s.det&DetectCard != 0 && end-i >= 13 && isDigit(c) && cardEnd(b, i, end, modeText) == end {
			s.hide(i, end)
			s.found |= DetectCard
		}
		i = end
		goto after
	}
	if end, ok := jsonScalarEnd(b, i); ok {
		i = end
		goto after
	}
	return false

key: // A key comes next.
	if i >= len(b) {
		return true
	}
	if c = b[i]; c <= ' ' {
		if i = skipJSONSpace(b, i); i >= len(b) {
			return true
		}
		c = b[i]
	}
	if c != '"' {
		return false
	}
	{
		end, sensitive := 0, false
		var k []byte // the key, when it was not looked up by its word
		if i+9 <= len(b) {
			// A short key, whole in the word after the quote, is looked up
			// by that word, in its two places in the memo, without a call.
			x := binary.LittleEndian.Uint64(b[i+1:])
			if n := closingQuote(x) - 1; n > 0 {
				end = i + n + 2
				e, p, q := shortKey(x, 1<<(8*n))
				if v := s.keys.shortKeys[p]; v&^(1<<63) == e {
					sensitive = v>>63 != 0
				} else if v := s.keys.shortKeys[q]; v&^(1<<63) == e {
					sensitive = v>>63 != 0
				} else {
					sensitive = s.keys.short(e, p, q, b[i+1:end-1])
				}
			}
		}
		if end == 0 {
			var closed, escaped bool
			end, closed, escaped = keyEnd(b, i)
			if escaped {
				end, closed = jsonStringEnd(b, i)
			}
			if !closed {
				return true // cut in the key: no value to hide
			}
			k = b[i+1 : end-1]
			if escaped {
				var u string
				if json.Unmarshal(b[i:end], &u) != nil {
					return false
				}
				k = []byte(u)
				sensitive = sensitiveName(k)
			} else {
				sensitive = s.keys.sensitive(k, b, i+1)
			}
		}
		if named {
			if k == nil {
				k = b[i+1 : end-1]
			}
			sensitive = sensitive || isField(s.r, k)
		}
		if i = end; i < len(b) && b[i] <= ' ' {
			i = skipJSONSpace(b, i)
		}
		if i >= len(b) {
			return true
		}
		if b[i] != ':' {
			return false
		}
		i++
		if s.paths != nil {
			s.push(jpElem{key: k})
			sensitive = sensitive || s.pathHidden()
		}
		if sensitive {
			goto hide
		}
	}
	goto value

hide: // A value to hide comes next.
	if i >= len(b) {
		return true
	}
	if b[i] <= ' ' {
		if i = skipJSONSpace(b, i); i >= len(b) {
			return true
		}
	}
	{
		end, ok := skipJSONValue(b, i)
		if !ok {
			return false
		}
		s.hide(i, end)
		i = end
	}
	goto after

after: // A value has ended.
	if i >= len(b) {
		return true
	}
	if c = b[i]; c <= ' ' {
		if i = skipJSONSpace(b, i); i >= len(b) {
			return true
		}
		c = b[i]
	}
	if depth == 0 {
		// Another top-level value, as in NDJSON, JSON Lines and JSON
		// text sequences (whose records start with RS).
		if c == 0x1E {
			i++
		}
		if s.paths != nil && s.pathHidden() {
			goto hide
		}
		goto value
	}
	switch obj := objs&1 != 0; {
	case c == ',' && obj:
		s.pop()
		i++
		goto key
	case c == ',':
		s.nextIndex()
		i++
		if s.paths != nil && s.pathHidden() {
			goto hide
		}
		goto value
	case c == '}' && obj, c == ']' && !obj:
		s.pop()
		depth, objs = s.popContainer(depth, objs)
		i++
		goto after
	}
	return false
}

// keyEnd returns the index just past the key string that starts with the
// quote at b[i], and whether it is closed, as jsonStringEnd does, unless
// the key has a backslash in it: it then stops there and reports escaped.
func keyEnd(b []byte, i int) (end int, closed, escaped bool) {
	j := i + 1
	for j+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[j:])
		q := swarMatch(x, '"')
		m := q | swarMatch(x, '\\')
		if m == 0 {
			j += 8
			continue
		}
		// The lowest bit of m is for a quote or for a backslash, whichever
		// comes first.
		j += bits.TrailingZeros64(m) / 8
		if m&-m&q != 0 {
			return j + 1, true, false
		}
		return j, false, true
	}
	for ; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, true, false
		case '\\':
			return j, false, true
		}
	}
	return len(b), false, false
}

// closingQuote returns 1 + the index of the first '"' in the eight bytes
// of x (little-endian), if there is one and no backslash comes before
// it, and 0 otherwise. Most keys and many values are that short: their
// end is found without a call.
func closingQuote(x uint64) int {
	q := swarMatch(x, '"')
	if m := q | swarMatch(x, '\\'); m&-m&q == 0 {
		return 0
	}
	return 1 + bits.TrailingZeros64(q)/8
}

// A keyMemo remembers which of the keys seen lately are sensitive by the
// built-in rules. Most bodies use the same few keys again and again (think
// of an array of objects of one kind), and looking a key up costs less
// than matching it. It remembers keys of up to 16 bytes by their length
// and their first and last 8 bytes, which is all of their bytes: none need
// comparing. A key has two places it may be in, so that two keys seldom
// keep pushing each other out.
//
// What a keyMemo holds depends on the keys alone, not on the Options
// (Options.Fields are matched apart), so memos are shared between
// bodies, through keyMemos: a small body then finds its keys known
// already.
//
// Keys of 1 to 7 bytes, most keys, are kept apart, each in one word (its
// bytes, its length and the answer), so that looking one up is one load
// and one comparison, small enough to be inlined.
type keyMemo struct {
	keys [keyMemoSize]struct {
		first, last uint64
		tag         uint8 // length<<1 | sensitive; 0 for none
	}
	shortKeys [keyMemoSize]uint64 // the key's bytes | 1<<(8*length) | sensitive<<63; 0 for none
}

// keyMemos holds the keyMemos not in use.
var keyMemos = sync.Pool{New: func() any { return new(keyMemo) }}

// keyMemoBits is the log2 of keyMemoSize, the number of keys a keyMemo
// holds.
const (
	keyMemoBits = 6
	keyMemoSize = 1 << keyMemoBits
)

// sensitive reports whether the key k, at b[off:] in the input, is
// sensitive by the built-in rules, as sensitiveName does.
func (m *keyMemo) sensitive(k, b []byte, off int) bool {
	n := len(k)
	if n == 0 || n > 16 {
		return sensitiveName(k)
	}
	// The key's first and last 8 bytes, zero past its end.
	var first, last uint64
	if n >= 8 {
		first = binary.LittleEndian.Uint64(k)
		last = binary.LittleEndian.Uint64(k[n-8:])
	} else if off+8 <= len(b) {
		// Load past the key, from b, and keep only the key's bytes.
		first = binary.LittleEndian.Uint64(b[off:]) & (1<<(8*n) - 1)
	} else {
		for j := n - 1; j >= 0; j-- {
			first = first<<8 | uint64(k[j])
		}
	}
	h := (first ^ bits.RotateLeft64(last, 29) ^ uint64(n)) * 0x9E3779B97F4A7C15
	e1, e2 := &m.keys[h>>(64-keyMemoBits)], &m.keys[h>>(64-2*keyMemoBits)%keyMemoSize]
	if e1.first == first && e1.last == last && int(e1.tag>>1) == n {
		return e1.tag&1 != 0
	}
	if e2.first == first && e2.last == last && int(e2.tag>>1) == n {
		return e2.tag&1 != 0
	}
	// Not there: match it and keep it, in an empty place if there is one.
	e := e2
	if e1.tag == 0 {
		e = e1
	}
	sensitive := sensitiveName(k)
	e.first, e.last, e.tag = first, last, uint8(n<<1)
	if sensitive {
		e.tag |= 1
	}
	return sensitive
}

// shortKey returns the word that keyMemo.shortKeys keeps for a key of n
// bytes, 1 to 7, whose bytes are the low ones of x, the answer aside; and
// its two places. l is 1<<(8*n): the key's bytes with a one just above
// them tell its length too, and the scanner has l at hand, not n.
func shortKey(x, l uint64) (e uint64, p, q int) {
	e = x&(l-1) | l
	h := e * 0x9E3779B97F4A7C15
	return e, int(h >> (64 - keyMemoBits)), int(h >> (64 - 2*keyMemoBits) % keyMemoSize)
}

// short reports whether the short key k, whose shortKey is e, p and q and
// which is in neither place, is sensitive by the built-in rules, as
// sensitive does, and keeps the answer: in p if it is empty, else in q.
func (m *keyMemo) short(e uint64, p, q int, k []byte) bool {
	if m.shortKeys[p] != 0 {
		p = q
	}
	if sensitiveName(k) {
		e |= 1 << 63
	}
	m.shortKeys[p] = e
	return e>>63 != 0
}

// jsonSpace marks the JSON whitespace bytes.
var jsonSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// skipJSONSpace returns the index of the first byte at or after i that is
// not JSON whitespace.
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && jsonSpace[b[i]] {
		i++
	}
	return i
}

// jsonStringEnd returns the index just past the string that starts with
// the quote at b[i], and whether it is closed; an unclosed string runs to
// the end of b. Quotes of either kind work, for the textual pass.
func jsonStringEnd(b []byte, i int) (int, bool) {
	q := b[i]
	j := i + 1
	// Most strings are short: look for the quote or a backslash eight
	// bytes at a time.
	for j+8 <= len(b) {
		if j-i > 64 {
			return jsonStringEndLong(b, i, j)
		}
		x := binary.LittleEndian.Uint64(b[j:])
		m := swarMatch(x, q) | swarMatch(x, '\\')
		if m == 0 {
			j += 8
			continue
		}
		j += bits.TrailingZeros64(m) / 8
		if b[j] == q {
			return j + 1, true
		}
		j += 2 // the backslash and the byte it escapes
	}
	for ; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case q:
			return j + 1, true
		}
	}
	return len(b), false
}

// jsonStringEndLong is jsonStringEnd for a long string, from b[j] on, which
// must not be escaped. A backslash escapes the byte after it, so a quote
// ends the string when an even number of backslashes comes before it: the
// search can jump from quote to quote with bytes.IndexByte, and count the
// backslashes back.
func jsonStringEndLong(b []byte, i, j int) (int, bool) {
	q := b[i]
	for ; ; j++ {
		k := bytes.IndexByte(b[j:], q)
		if k < 0 {
			return len(b), false
		}
		j += k
		// b[i] is a quote, so the count stops there at the latest.
		e := j
		for b[e-1] == '\\' {
			e--
		}
		if (j-e)%2 == 0 {
			return j + 1, true
		}
	}
}

// SWAR ("SIMD within a register") constants: a one and a high bit in each
// byte of a word.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// swarMatch returns a word with the high bit of the lowest byte of x that
// equals c set, and zero if no byte equals c. Bits above that one may be
// set too, in bytes that do not equal c, so only the lowest set bit
// counts.
func swarMatch(x uint64, c byte) uint64 {
	v := x ^ swarOnes*uint64(c)
	return (v - swarOnes) &^ v & swarHighs
}

// jsonNumber marks the bytes that the scanner takes as part of a number.
var jsonNumber = func() (t [256]bool) {
	for _, c := range []byte("0123456789+-.eE") {
		t[c] = true
	}
	return t
}()

// numberEnd returns the index of the first byte at or after i that is not
// part of a number.
func numberEnd(b []byte, i int) int {
	for i < len(b) && jsonNumber[b[i]] {
		i++
	}
	return i
}

// jsonScalarEnd returns the index just past the number or literal at b[i],
// or false if there is none there. A literal cut off by the end of b is
// accepted.
func jsonScalarEnd(b []byte, i int) (int, bool) {
	var lit string
	switch c := b[i]; {
	case c == '-' || '0' <= c && c <= '9':
		return numberEnd(b, i+1), true
	case c == 't':
		lit = "true"
	case c == 'f':
		lit = "false"
	case c == 'n':
		lit = "null"
	default:
		return i, false
	}
	j := 0
	for ; j < len(lit) && i+j < len(b); j++ {
		if b[i+j] != lit[j] {
			return i, false
		}
	}
	return i + j, true
}

// skipJSONValue returns the index just past the value at b[i] (the end of
// b if it is cut off), or false if no value starts there. It does not
// check what is inside objects and arrays: the whole value is replaced.
func skipJSONValue(b []byte, i int) (int, bool) {
	switch b[i] {
	case '"':
		end, _ := jsonStringEnd(b, i)
		return end, true
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := jsonStringEnd(b, j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(b), true
	}
	return jsonScalarEnd(b, i)
}

// text is the fallback for input the scanner cannot follow. Every quoted
// ("..." or '...') or bare name followed by ':' is taken for a key, even
// inside what may be a string, and the value after a sensitive key is
// replaced: a quoted string, a bracketed object or array (to the end of
// the input if unbalanced), or anything else up to the next ',', '}', ']'
// or line end. Each quote is tried as the start of a key, so that a stray
// quote before a key does not hide it. JSON paths count by their last
// name.
func (s *jsonScrubber) text() {
	b := s.in
	for i := 0; i < len(b); {
		c := b[i]
		var name []byte
		var end int
		switch {
		case c == '"' || c == '\'':
			// A key is short: looking further for its end would make
			// every quote cost a scan to the next unescaped one.
			e, closed := jsonStringEnd(b[:min(len(b), i+maxTextKey+2)], i)
			if !closed {
				i++
				continue
			}
			name, end = b[i+1:e-1], e
			if c == '"' && bytes.IndexByte(name, '\\') >= 0 {
				var u string
				if json.Unmarshal(b[i:e], &u) == nil {
					name = []byte(u)
				}
			}
		case isIdentStart(c) && (i == 0 || !isIdentByte(b[i-1])):
			e := i + 1
			for e < len(b) && isIdentByte(b[e]) {
				e++
			}
			name, end = b[i:e], e
		default:
			i++
			continue
		}
		j := skipJSONSpace(b, end)
		if j >= len(b) || b[j] != ':' || !s.textSensitive(name) {
			if c == '"' || c == '\'' {
				i++
			} else {
				i = end
			}
			continue
		}
		from := skipJSONSpace(b, j+1)
		to := textValueEnd(b, from)
		if to > from {
			s.detectGap(from)
			s.hide(from, to)
			s.gap = to
		}
		i = max(to, j+1)
	}
	s.detectGap(len(b))
}

// textSensitive reports whether the textual pass hides the value of name.
func (s *jsonScrubber) textSensitive(name []byte) bool {
	if sensitiveField(s.r, name) {
		return true
	}
	for _, p := range s.paths {
		if len(p) > 0 && p[len(p)-1].kind == jpKey && equalFoldASCII(name, p[len(p)-1].key) {
			return true
		}
	}
	return false
}

// textValueEnd returns the end of the value at b[i] for the textual pass.
func textValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"', '\'':
		end, _ := jsonStringEnd(b, i)
		return end
	case '{', '[':
		end, _ := skipJSONValue(b, i)
		return end
	}
	j := i
	for j < len(b) && strings.IndexByte(",}]\r\n", b[j]) < 0 {
		j++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t') {
		j--
	}
	return j
}

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '$'
}

func isIdentByte(c byte) bool {
	return isIdentStart(c) || '0' <= c && c <= '9' || c == '-'
}

// A jpStep is one step of a parsed JSON path.
type jpStep struct {
	kind  uint8
	key   string
	index int
}

const (
	jpKey   = iota // an object key
	jpIndex        // an array element
	jpAny          // any key or element
	jpDeep         // any number of levels, none included
)

// A jpElem is one level of where the scanner is in a document: an object
// key, or an array index.
type jpElem struct {
	key     []byte
	index   int
	isIndex bool
}

// jpParse parses a JSON path as Options.JSONPaths describes. It accepts
// anything, reading what it does not understand as key names; it reports
// false only for an empty path.
func jpParse(p string) ([]jpStep, bool) {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil, false
	}
	p = strings.TrimPrefix(p, "$")
	var steps []jpStep
	name := func() {
		end := strings.IndexAny(p, ".[")
		if end < 0 {
			end = len(p)
		}
		if n := p[:end]; n == "*" {
			steps = append(steps, jpStep{kind: jpAny})
		} else if n != "" {
			steps = append(steps, jpStep{kind: jpKey, key: n})
		}
		p = p[end:]
	}
	for p != "" {
		switch {
		case strings.HasPrefix(p, ".."):
			steps = append(steps, jpStep{kind: jpDeep})
			p = p[2:]
			if p != "" && p[0] != '[' {
				name()
			}
		case p[0] == '.':
			p = p[1:]
			name()
		case p[0] == '[':
			if len(p) > 1 && (p[1] == '"' || p[1] == '\'') {
				if end := strings.IndexByte(p[2:], p[1]); end >= 0 {
					steps = append(steps, jpStep{kind: jpKey, key: p[2 : 2+end]})
					p = p[2+end+1:]
					if i := strings.IndexByte(p, ']'); i >= 0 {
						p = p[i+1:]
					}
					continue
				}
			}
			end := strings.IndexByte(p, ']')
			if end < 0 {
				steps = append(steps, jpStep{kind: jpKey, key: p[1:]})
				p = ""
				continue
			}
			in := strings.TrimSpace(p[1:end])
			p = p[end+1:]
			if in == "*" {
				steps = append(steps, jpStep{kind: jpAny})
			} else if n, err := strconv.Atoi(in); err == nil && n >= 0 {
				steps = append(steps, jpStep{kind: jpIndex, index: n})
			} else {
				steps = append(steps, jpStep{kind: jpKey, key: in})
			}
		default:
			name()
		}
	}
	return steps, true
}

// jpMatch reports whether the path steps names the place at.
func jpMatch(steps []jpStep, at []jpElem) bool {
	for len(steps) > 0 {
		st := steps[0]
		if st.kind == jpDeep {
			for k := 0; k <= len(at); k++ {
				if jpMatch(steps[1:], at[k:]) {
					return true
				}
			}
			return false
		}
		if len(at) == 0 {
			return false
		}
		e := at[0]
		switch st.kind {
		case jpKey:
			if e.isIndex || string(e.key) != st.key {
				return false
			}
		case jpIndex:
			if !e.isIndex || e.index != st.index {
				return false
			}
		}
		steps, at = steps[1:], at[1:]
	}
	return len(at) == 0
}
