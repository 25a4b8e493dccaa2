package bodytap

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// JSON redaction works on the bytes: a small scanner walks the document,
// copies it, and replaces the span of each sensitive value with the
// replacement as a JSON string. Whitespace, key order, number spelling and
// escapes stay exactly as they were, which a decode and re-encode would
// lose, and a document cut short at the capture cap (the usual case for
// large bodies) is redacted as far as it goes instead of failing to parse.
//
// Input that the scanner cannot follow (it is not JSON after all, or is
// nested deeper than maxJSONDepth) is redacted textually instead, a
// cruder pass that errs towards hiding too much.

// maxJSONDepth bounds the nesting the scanner follows, and so the memory
// it needs; deeper documents are redacted textually.
const maxJSONDepth = 10000

// maxTextKey is the longest name the textual pass takes for a key.
const maxTextKey = 128

// redactJSON returns the JSON (or JSON stream) b with sensitive values
// replaced, and how many were.
func (r *Redaction) redactJSON(b []byte) ([]byte, int, error) {
	if len(b) >= 2 && (b[0] == 0 || b[1] == 0 || b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE) {
		// UTF-16 or UTF-32: nothing below would find a key.
		return nil, 0, errJSONNotUTF8
	}
	s := jsonScrubber{r: r, in: b}
	if len(r.JSONPaths) > 0 {
		s.paths = make([][]jpStep, 0, len(r.JSONPaths))
		for _, p := range r.JSONPaths {
			if steps, ok := jpParse(p); ok {
				s.paths = append(s.paths, steps)
			}
		}
	}
	if !s.scan() {
		s.sp = splicer{}
		s.text()
	}
	return spliced(&s.sp, b), s.sp.n, nil
}

// A jsonScrubber redacts one JSON body.
type jsonScrubber struct {
	r     *Redaction
	in    []byte
	sp    splicer
	repl  string     // the replacement as a JSON string, made on first use
	paths [][]jpStep // Redaction.JSONPaths, parsed
	stack []jpElem   // where the scanner is, kept only when there are paths
}

// hide replaces in[from:to].
func (s *jsonScrubber) hide(from, to int) {
	if s.repl == "" {
		var q bytes.Buffer
		e := json.NewEncoder(&q)
		e.SetEscapeHTML(false) // keep "<hidden>" readable
		e.Encode(s.r.replacement())
		s.repl = strings.TrimSuffix(q.String(), "\n")
	}
	splice(&s.sp, s.in, from, to, s.repl)
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

// scan redacts s.in as a sequence of JSON values, and reports false if it
// found bytes that cannot be JSON (s.sp then holds a partial result). The
// end of the input may come anywhere: what was seen is redacted, and a
// sensitive value cut off is replaced up to the end.
func (s *jsonScrubber) scan() bool {
	const (
		value = iota // a value comes next
		key          // a key comes next
		after        // a value has ended
	)
	b := s.in
	i := 0
	if bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		i = 3
	}
	var buf [64]bool
	objs := buf[:0] // open containers, innermost last: true for an object
	state := value
	open := false // a container was just opened, so it may close at once
	hidden := s.pathHidden()
	for {
		i = skipJSONSpace(b, i)
		if i >= len(b) {
			return true
		}
		c := b[i]
		switch state {
		case value:
			if open && c == ']' {
				objs = objs[:len(objs)-1]
				s.pop()
				i, state, open = i+1, after, false
				continue
			}
			open = false
			if hidden {
				end, ok := skipJSONValue(b, i)
				if !ok {
					return false
				}
				s.hide(i, end)
				i, state, hidden = end, after, false
				continue
			}
			switch c {
			case '{', '[':
				if len(objs) >= maxJSONDepth {
					return false
				}
				objs = append(objs, c == '{')
				i, open = i+1, true
				if c == '{' {
					state = key
				} else {
					s.push(jpElem{isIndex: true})
					hidden = s.pathHidden()
				}
			case '"':
				i, _ = jsonStringEnd(b, i)
				state = after
			default:
				end, ok := jsonScalarEnd(b, i)
				if !ok {
					return false
				}
				i, state = end, after
			}
		case key:
			if open && c == '}' {
				objs = objs[:len(objs)-1]
				i, state, open = i+1, after, false
				continue
			}
			open = false
			if c != '"' {
				return false
			}
			end, closed := jsonStringEnd(b, i)
			if !closed {
				return true // cut in the key: no value to hide
			}
			name := b[i+1 : end-1]
			if bytes.IndexByte(name, '\\') >= 0 {
				var u string
				if json.Unmarshal(b[i:end], &u) != nil {
					return false
				}
				name = []byte(u)
			}
			i = skipJSONSpace(b, end)
			if i >= len(b) {
				return true
			}
			if b[i] != ':' {
				return false
			}
			i++
			s.push(jpElem{key: name})
			hidden = sensitiveField(s.r, name) || s.pathHidden()
			state = value
		case after:
			if len(objs) == 0 {
				// Another top-level value, as in NDJSON, JSON Lines and
				// JSON text sequences (whose records start with RS).
				if c == 0x1E {
					i++
				}
				state, hidden = value, s.pathHidden()
				continue
			}
			obj := objs[len(objs)-1]
			switch {
			case c == ',' && obj:
				s.pop()
				i, state = i+1, key
			case c == ',':
				s.nextIndex()
				i, state, hidden = i+1, value, s.pathHidden()
			case c == '}' && obj, c == ']' && !obj:
				s.pop()
				objs = objs[:len(objs)-1]
				i++
			default:
				return false
			}
		}
	}
}

// skipJSONSpace returns the index of the first byte at or after i that is
// not JSON whitespace.
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonStringEnd returns the index just past the string that starts with
// the quote at b[i], and whether it is closed; an unclosed string runs to
// the end of b. Quotes of either kind work, for the textual pass.
func jsonStringEnd(b []byte, i int) (int, bool) {
	q := b[i]
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case q:
			return j + 1, true
		}
	}
	return len(b), false
}

// jsonScalarEnd returns the index just past the number or literal at b[i],
// or false if there is none there. A literal cut off by the end of b is
// accepted.
func jsonScalarEnd(b []byte, i int) (int, bool) {
	var lit string
	switch c := b[i]; {
	case c == 't':
		lit = "true"
	case c == 'f':
		lit = "false"
	case c == 'n':
		lit = "null"
	case c == '-' || '0' <= c && c <= '9':
		j := i + 1
		for j < len(b) && strings.IndexByte("0123456789+-.eE", b[j]) >= 0 {
			j++
		}
		return j, true
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
			s.hide(from, to)
		}
		i = max(to, j+1)
	}
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

// jpParse parses a JSON path as Redaction.JSONPaths describes. It accepts
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
