package redact

// This file keeps the redaction code as it was before it was made fast
// (commit eee5d4a), renamed with a "ref" prefix: the reference that the
// differential tests in redact_diff_test.go hold the current code to, byte
// for byte. Only the names changed; do not "fix" anything here. (The path
// types jpStep and jpElem, which did not change, are shared.)

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// refFieldWords are the words that make a field name sensitive, compared as
// headerWords are.
var refFieldWords = [...]string{"password", "passwd", "secret", "token", "apikey", "authorization", "credential", "privatekey"}

// refFieldNames are the field names that are sensitive whole, compared as
// headerWords are.
var refFieldNames = [...]string{"cvv", "ssn", "cardnumber", "creditcard"}

// refSensitiveField reports whether the query parameter, form field or JSON
// key named name has its value hidden.
//
// The one change since the reference was taken: the default names grew
// (names.go), so a name is also sensitive when refNewName says so. The
// reference still decides, byte for byte, how bodies are scanned and
// spliced; the new name rules are checked against the labelled corpus of
// names_test.go and, for the spelled-out matcher, against refNewName.
func refSensitiveField[S string | []byte](r *Options, name S) bool {
	if refNewName(name) {
		return true
	}
	for _, w := range refFieldWords {
		if refContainsWord(name, w) {
			return true
		}
	}
	for _, w := range refFieldNames {
		if refIsWord(name, w) {
			return true
		}
	}
	for _, f := range r.Fields {
		if refEqualFoldASCII(name, f) {
			return true
		}
	}
	return false
}

// refNewName reports whether name is sensitive by the rules added after
// the reference was taken, matched plainly: the words of fieldWords and
// fieldNames that refFieldWords and refFieldNames do not have, word by
// word as the reference matches, and the word rules (sensitiveSegments).
func refNewName[S string | []byte](name S) bool {
	for _, w := range fieldWords {
		if refContainsWord(name, w) {
			return true
		}
	}
	for _, w := range fieldNames {
		if refIsWord(name, w) {
			return true
		}
	}
	return sensitiveSegments(name)
}

// refLowerASCII lower-cases an ASCII letter.
func refLowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// refIgnorable are the bytes that name matching skips, so that api_key,
// api-key and apiKey are all "apikey".
func refIgnorable(c byte) bool { return c == '-' || c == '_' }

// refContainsWord reports whether s contains word (lower-case ASCII), ignoring
// ASCII case and the bytes '-' and '_' in s.
func refContainsWord[S string | []byte](s S, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if refIgnorable(s[i]) || refLowerASCII(s[i]) != word[0] {
			continue
		}
		if _, ok := refMatchWord(s[i:], word); ok {
			return true
		}
	}
	return false
}

// refMatchWord matches word against the start of s, ignoring ASCII case and
// the bytes '-' and '_' of s, and returns the bytes of s consumed.
func refMatchWord[S string | []byte](s S, word string) (int, bool) {
	j := 0
	for k := 0; k < len(word); {
		if j >= len(s) {
			return j, false
		}
		c := s[j]
		j++
		if refIgnorable(c) {
			continue
		}
		if refLowerASCII(c) != word[k] {
			return j, false
		}
		k++
	}
	return j, true
}

// refIsWord reports whether s is word, ignoring as refContainsWord does.
func refIsWord[S string | []byte](s S, word string) bool {
	j, ok := refMatchWord(s, word)
	if !ok {
		return false
	}
	for ; j < len(s); j++ {
		if !refIgnorable(s[j]) {
			return false
		}
	}
	return true
}

// refEqualFoldASCII reports whether s and t are equal ignoring ASCII case.
func refEqualFoldASCII[S string | []byte](s S, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if refLowerASCII(s[i]) != refLowerASCII(t[i]) {
			return false
		}
	}
	return true
}

// A refSplicer builds a copy of an input with spans of it replaced. It copies
// nothing until the first replacement, so that inputs with nothing to hide
// cost nothing.
type refSplicer struct {
	out  []byte
	last int // in[last:] is not copied yet
	n    int // spans replaced
}

// refSplice replaces in[from:to] with with. Spans must come in order.
func refSplice[S string | []byte](sp *refSplicer, in S, from, to int, with string) {
	if sp.out == nil {
		sp.out = make([]byte, 0, len(in)+len(with))
	}
	sp.out = append(sp.out, in[sp.last:from]...)
	sp.out = append(sp.out, with...)
	sp.last = to
	sp.n++
}

// refSpliced returns the copy of in that sp built, or nil if nothing was
// replaced.
func refSpliced[S string | []byte](sp *refSplicer, in S) []byte {
	if sp.n == 0 {
		return nil
	}
	return append(sp.out, in[sp.last:]...)
}

// refRedactJSON returns the JSON (or JSON stream) b with sensitive values
// replaced, and how many were.
func refRedactJSON(r *Options, b []byte) ([]byte, int, error) {
	if len(b) >= 2 && (b[0] == 0 || b[1] == 0 || b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE) {
		// UTF-16 or UTF-32: nothing below would find a key.
		return nil, 0, errJSONNotUTF8
	}
	s := refJsonScrubber{r: r, in: b}
	if len(r.JSONPaths) > 0 {
		s.paths = make([][]jpStep, 0, len(r.JSONPaths))
		for _, p := range r.JSONPaths {
			if steps, ok := refJpParse(p); ok {
				s.paths = append(s.paths, steps)
			}
		}
	}
	if !s.scan() {
		s.sp = refSplicer{}
		s.text()
	}
	return refSpliced(&s.sp, b), s.sp.n, nil
}

// A refJsonScrubber redacts one JSON body.
type refJsonScrubber struct {
	r     *Options
	in    []byte
	sp    refSplicer
	repl  string     // the replacement as a JSON string, made on first use
	paths [][]jpStep // Options.JSONPaths, parsed
	stack []jpElem   // where the scanner is, kept only when there are paths
}

// hide replaces in[from:to].
func (s *refJsonScrubber) hide(from, to int) {
	if s.repl == "" {
		var q bytes.Buffer
		e := json.NewEncoder(&q)
		e.SetEscapeHTML(false) // keep "<hidden>" readable
		e.Encode(s.r.replacement())
		s.repl = strings.TrimSuffix(q.String(), "\n")
	}
	refSplice(&s.sp, s.in, from, to, s.repl)
}

func (s *refJsonScrubber) push(e jpElem) {
	if s.paths != nil {
		s.stack = append(s.stack, e)
	}
}

func (s *refJsonScrubber) pop() {
	if s.paths != nil {
		s.stack = s.stack[:len(s.stack)-1]
	}
}

// nextIndex moves the stack to the next element of the array it is in.
func (s *refJsonScrubber) nextIndex() {
	if s.paths != nil {
		s.stack[len(s.stack)-1].index++
	}
}

// pathHidden reports whether a JSON path names the value at the stack.
func (s *refJsonScrubber) pathHidden() bool {
	for _, p := range s.paths {
		if refJpMatch(p, s.stack) {
			return true
		}
	}
	return false
}

// scan redacts s.in as a sequence of JSON values, and reports false if it
// found bytes that cannot be JSON (s.sp then holds a partial result). The
// end of the input may come anywhere: what was seen is redacted, and a
// sensitive value cut off is replaced up to the end.
func (s *refJsonScrubber) scan() bool {
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
		i = refSkipJSONSpace(b, i)
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
				end, ok := refSkipJSONValue(b, i)
				if !ok {
					return false
				}
				s.hide(i, end)
				i, state, hidden = end, after, false
				continue
			}
			switch c {
			case '{', '[':
				if len(objs) >= MaxJSONDepth {
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
				i, _ = refJsonStringEnd(b, i)
				state = after
			default:
				end, ok := refJsonScalarEnd(b, i)
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
			end, closed := refJsonStringEnd(b, i)
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
			i = refSkipJSONSpace(b, end)
			if i >= len(b) {
				return true
			}
			if b[i] != ':' {
				return false
			}
			i++
			s.push(jpElem{key: name})
			hidden = refSensitiveField(s.r, name) || s.pathHidden()
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

// refSkipJSONSpace returns the index of the first byte at or after i that is
// not JSON whitespace.
func refSkipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// refJsonStringEnd returns the index just past the string that starts with
// the quote at b[i], and whether it is closed; an unclosed string runs to
// the end of b. Quotes of either kind work, for the textual pass.
func refJsonStringEnd(b []byte, i int) (int, bool) {
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

// refJsonScalarEnd returns the index just past the number or literal at b[i],
// or false if there is none there. A literal cut off by the end of b is
// accepted.
func refJsonScalarEnd(b []byte, i int) (int, bool) {
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

// refSkipJSONValue returns the index just past the value at b[i] (the end of
// b if it is cut off), or false if no value starts there. It does not
// check what is inside objects and arrays: the whole value is replaced.
func refSkipJSONValue(b []byte, i int) (int, bool) {
	switch b[i] {
	case '"':
		end, _ := refJsonStringEnd(b, i)
		return end, true
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := refJsonStringEnd(b, j)
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
	return refJsonScalarEnd(b, i)
}

// text is the fallback for input the scanner cannot follow. Every quoted
// ("..." or '...') or bare name followed by ':' is taken for a key, even
// inside what may be a string, and the value after a sensitive key is
// replaced: a quoted string, a bracketed object or array (to the end of
// the input if unbalanced), or anything else up to the next ',', '}', ']'
// or line end. Each quote is tried as the start of a key, so that a stray
// quote before a key does not hide it. JSON paths count by their last
// name.
func (s *refJsonScrubber) text() {
	b := s.in
	for i := 0; i < len(b); {
		c := b[i]
		var name []byte
		var end int
		switch {
		case c == '"' || c == '\'':
			// A key is short: looking further for its end would make
			// every quote cost a scan to the next unescaped one.
			e, closed := refJsonStringEnd(b[:min(len(b), i+maxTextKey+2)], i)
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
		case refIsIdentStart(c) && (i == 0 || !refIsIdentByte(b[i-1])):
			e := i + 1
			for e < len(b) && refIsIdentByte(b[e]) {
				e++
			}
			name, end = b[i:e], e
		default:
			i++
			continue
		}
		j := refSkipJSONSpace(b, end)
		if j >= len(b) || b[j] != ':' || !s.textSensitive(name) {
			if c == '"' || c == '\'' {
				i++
			} else {
				i = end
			}
			continue
		}
		from := refSkipJSONSpace(b, j+1)
		to := refTextValueEnd(b, from)
		if to > from {
			s.hide(from, to)
		}
		i = max(to, j+1)
	}
}

// textSensitive reports whether the textual pass hides the value of name.
func (s *refJsonScrubber) textSensitive(name []byte) bool {
	if refSensitiveField(s.r, name) {
		return true
	}
	for _, p := range s.paths {
		if len(p) > 0 && p[len(p)-1].kind == jpKey && refEqualFoldASCII(name, p[len(p)-1].key) {
			return true
		}
	}
	return false
}

// refTextValueEnd returns the end of the value at b[i] for the textual pass.
func refTextValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"', '\'':
		end, _ := refJsonStringEnd(b, i)
		return end
	case '{', '[':
		end, _ := refSkipJSONValue(b, i)
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

func refIsIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '$'
}

func refIsIdentByte(c byte) bool {
	return refIsIdentStart(c) || '0' <= c && c <= '9' || c == '-'
}

// refJpParse parses a JSON path as Options.JSONPaths describes. It accepts
// anything, reading what it does not understand as key names; it reports
// false only for an empty path.
func refJpParse(p string) ([]jpStep, bool) {
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

// refJpMatch reports whether the path steps names the place at.
func refJpMatch(steps []jpStep, at []jpElem) bool {
	for len(steps) > 0 {
		st := steps[0]
		if st.kind == jpDeep {
			for k := 0; k <= len(at); k++ {
				if refJpMatch(steps[1:], at[k:]) {
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

// refRedactPairs hides the values of sensitive fields in a query string or an
// application/x-www-form-urlencoded body, and returns the copy and how
// many values it replaced (nil, 0 if none). Pairs are split on '&' and
// also on ';', which some servers take as a separator too. A name is
// matched both as written and unescaped. Empty values stay empty.
func refRedactPairs[S string | []byte](r *Options, s S) ([]byte, int) {
	var sp refSplicer
	var repl string
	// Added since the reference was taken: OAuth codes (form.go).
	oauth := hasOAuthCode(s) && oauthContext(s)
	for pos := 0; pos < len(s); {
		end := pos
		for end < len(s) && s[end] != '&' && s[end] != ';' {
			end++
		}
		pair := s[pos:end]
		eq := 0
		for eq < len(pair) && pair[eq] != '=' {
			eq++
		}
		if eq < len(pair)-1 && (refFormNameSensitive(r, pair[:eq]) || oauth && oauthName(pair[:eq])) {
			if repl == "" {
				repl = refFormEscape(r.replacement())
			}
			if string(pair[eq+1:]) != repl {
				refSplice(&sp, s, pos+eq+1, end, repl)
			}
		}
		pos = end + 1
	}
	return refSpliced(&sp, s), sp.n
}

// refFormNameSensitive reports whether the form field named name (escaped)
// is sensitive.
func refFormNameSensitive[S string | []byte](r *Options, name S) bool {
	if refSensitiveField(r, name) {
		return true
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '%' || name[i] == '+' {
			u, err := url.QueryUnescape(string(name))
			return err == nil && refSensitiveField(r, u)
		}
	}
	return false
}

// refFormEscape escapes s for a query string or form value, leaving the
// characters that need no escaping there as they are, so that the default
// replacement reads "[REDACTED]".
func refFormEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~[]!$'()*,:@/?", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
