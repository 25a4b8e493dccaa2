package filter

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The grammar, loosest binding first:
//
//	expr    = or { or }               (juxtaposition: and)
//	or      = and { "|" and }
//	and     = unary { "&" unary }
//	unary   = "!" unary | primary
//	primary = "(" expr ")" | operator | word
//	operator = "~" name [ argument ]
//
// As in mitmproxy, terms written side by side are joined by an "and" that
// binds more loosely than "|": "a b | c" is "a & (b | c)". All binary
// connectives associate to the left.

// kind is what an operator takes as argument.
type kind uint8

const (
	kindFlag    kind = iota // no argument
	kindRegex               // a regular expression
	kindStatus              // a status code, class or range
	kindCompare             // a comparison with a duration or a size
	kindPath                // a path glob
)

// opInfo describes an operator.
type opInfo struct {
	kind  kind
	flags string // for kindRegex: flags prefixed to the pattern
}

// ops lists every operator Parse knows.
var ops = map[Op]opInfo{
	OpAll:       {kind: kindFlag},
	OpAsset:     {kind: kindFlag},
	OpError:     {kind: kindFlag},
	OpHTTP:      {kind: kindFlag},
	OpNoResp:    {kind: kindFlag},
	OpResponse:  {kind: kindFlag},
	OpWebsocket: {kind: kindFlag},

	// Every regex ignores case, as in mitmproxy since 11.1; (?-i) at the
	// start of a pattern turns that off.
	OpMethod:          {kind: kindRegex, flags: "(?i)"},
	OpURL:             {kind: kindRegex, flags: "(?i)"},
	OpDomain:          {kind: kindRegex, flags: "(?i)"},
	OpHeader:          {kind: kindRegex, flags: "(?im)"},
	OpReqHeader:       {kind: kindRegex, flags: "(?im)"},
	OpRespHeader:      {kind: kindRegex, flags: "(?im)"},
	OpBody:            {kind: kindRegex, flags: "(?is)"},
	OpReqBody:         {kind: kindRegex, flags: "(?is)"},
	OpRespBody:        {kind: kindRegex, flags: "(?is)"},
	OpContentType:     {kind: kindRegex, flags: "(?i)"},
	OpReqContentType:  {kind: kindRegex, flags: "(?i)"},
	OpRespContentType: {kind: kindRegex, flags: "(?i)"},
	OpSrc:             {kind: kindRegex, flags: "(?i)"},
	OpDst:             {kind: kindRegex, flags: "(?i)"},
	OpRoute:           {kind: kindRegex, flags: "(?i)"},

	OpStatus: {kind: kindStatus},

	OpDuration: {kind: kindCompare},
	OpSize:     {kind: kindCompare},
	OpReqSize:  {kind: kindCompare},
	OpRespSize: {kind: kindCompare},

	OpPath: {kind: kindPath},
}

// unsupported lists the operators of mitmproxy's language that make no
// sense for the exchanges bodytap records, with the reason. Help repeats
// the list.
var unsupported = map[string]string{
	"~marked":  "bodytap has no marks (marking flows is a feature of mitmproxy's UI)",
	"~marker":  "bodytap has no marks (marking flows is a feature of mitmproxy's UI)",
	"~comment": "bodytap records no comments on exchanges",
	"~meta":    "bodytap records no flow metadata",
	"~replay":  "bodytap only observes requests; it never replays them",
	"~replayq": "bodytap only observes requests; it never replays them",
	"~replays": "bodytap only observes requests; it never replays them",
	"~tcp":     "bodytap records only HTTP exchanges",
	"~udp":     "bodytap records only HTTP exchanges",
	"~dns":     "bodytap records only HTTP exchanges",
}

// tokKind is the kind of a token.
type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokLParen         // (
	tokRParen         // )
	tokNot            // !
	tokAnd            // &
	tokOr             // |
	tokOp             // ~name
	tokWord           // a bare word or a quoted string
)

// A token is one lexical element of an expression.
type token struct {
	kind tokKind
	pos  int    // byte offset in the source
	text string // as written
	val  string // for tokWord: the value, unquoted
}

// describe names the token for an error message.
func (t token) describe() string {
	if t.kind == tokEOF {
		return "end of expression"
	}
	return strconv.Quote(t.text)
}

// isSpace reports whether r separates tokens. Format relies on it to know
// what must be quoted.
func isSpace(r rune) bool { return unicode.IsSpace(r) }

// endsWord reports whether r ends a bare word.
func endsWord(r rune) bool {
	return isSpace(r) || r == '(' || r == ')' || r == '"' || r == '\''
}

// endsOp reports whether r ends the name of an operator.
func endsOp(r rune) bool {
	return endsWord(r) || r == '&' || r == '|' || r == '!'
}

// A parser reads an expression token by token. Tokens are read on demand
// because an operator's argument is lexed differently from the rest:
// there, "&" or "!" at the start of a word is part of it.
type parser struct {
	src    string
	off    int   // byte offset of the next unread character
	tok    token // the token peek read, if peeked
	peeked bool
	depth  int // of parentheses and "!" around the current position
}

// maxDepth bounds the nesting of parentheses and "!", so that no
// expression can make the parser, Format or Match recurse without end.
const maxDepth = 1000

// enter notes one more level of nesting at the token t.
func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf(t.pos, nil, "expression nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}

// parse parses an expression into a tree; nil for the empty expression.
func parse(src string) (Node, error) {
	pos := 0
	for i, r := range src {
		pos++
		if r == utf8.RuneError {
			if _, w := utf8.DecodeRuneInString(src[i:]); w == 1 {
				return nil, &SyntaxError{Pos: pos, Msg: "invalid UTF-8"}
			}
		}
	}
	if strings.TrimFunc(src, isSpace) == "" {
		return nil, nil
	}
	p := &parser{src: src}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t, _ := p.peek(); t.kind != tokEOF {
		// expr stops only at the end or at a ")".
		return nil, p.errorf(t.pos, nil, "unbalanced parenthesis: unexpected \")\"")
	}
	return n, nil
}

// errorf returns a SyntaxError at byte offset off.
func (p *parser) errorf(off int, err error, format string, args ...any) error {
	return &SyntaxError{
		Pos: utf8.RuneCountInString(p.src[:off]) + 1,
		Msg: fmt.Sprintf(format, args...),
		Err: err,
	}
}

// skipSpace advances past white space.
func (p *parser) skipSpace() {
	for p.off < len(p.src) {
		r, w := utf8.DecodeRuneInString(p.src[p.off:])
		if !isSpace(r) {
			return
		}
		p.off += w
	}
}

// scan returns the end of the run of characters from off on that stop
// does not end.
func (p *parser) scan(off int, stop func(rune) bool) int {
	for off < len(p.src) {
		r, w := utf8.DecodeRuneInString(p.src[off:])
		if stop(r) {
			break
		}
		off += w
	}
	return off
}

// peek returns the next token without consuming it.
func (p *parser) peek() (token, error) {
	if p.peeked {
		return p.tok, nil
	}
	t, err := p.lex()
	if err != nil {
		return token{}, err
	}
	p.tok, p.peeked = t, true
	return t, nil
}

// next consumes the token that peek returned.
func (p *parser) next() token {
	if !p.peeked {
		panic("filter: internal error: next without peek")
	}
	p.peeked = false
	return p.tok
}

// lex reads the next token outside of an argument.
func (p *parser) lex() (token, error) {
	p.skipSpace()
	start := p.off
	if start == len(p.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	one := func(k tokKind) (token, error) {
		p.off++
		return token{kind: k, pos: start, text: p.src[start:p.off]}, nil
	}
	switch p.src[start] {
	case '(':
		return one(tokLParen)
	case ')':
		return one(tokRParen)
	case '!':
		return one(tokNot)
	case '&':
		return one(tokAnd)
	case '|':
		return one(tokOr)
	case '~':
		p.off = p.scan(start+1, endsOp)
		return token{kind: tokOp, pos: start, text: p.src[start:p.off]}, nil
	}
	return p.word(endsWord)
}

// word reads a bare word, up to a character for which end is true, or a
// quoted string at the current offset.
func (p *parser) word(end func(rune) bool) (token, error) {
	start := p.off
	if q := p.src[start]; q == '"' || q == '\'' {
		return p.quoted(q)
	}
	p.off = p.scan(start, end)
	text := p.src[start:p.off]
	return token{kind: tokWord, pos: start, text: text, val: text}, nil
}

// quoted reads a string in quotes q. Inside, a backslash before a quote
// or a backslash stands for that character; any other backslash is kept,
// so that regular expressions such as "\d+" need no doubling.
func (p *parser) quoted(q byte) (token, error) {
	start := p.off
	var b strings.Builder
	plain := true // no escapes so far: the value is a substring
	for i := start + 1; i < len(p.src); i++ {
		c := p.src[i]
		switch {
		case c == q:
			p.off = i + 1
			t := token{kind: tokWord, pos: start, text: p.src[start:p.off]}
			if plain {
				t.val = p.src[start+1 : i]
			} else {
				t.val = b.String()
			}
			return t, nil
		case c == '\\' && i+1 < len(p.src) && strings.IndexByte(`\"'`, p.src[i+1]) >= 0:
			if plain {
				b.WriteString(p.src[start+1 : i])
				plain = false
			}
			i++
			b.WriteByte(p.src[i])
		case !plain:
			b.WriteByte(c)
		}
	}
	return token{}, p.errorf(start, nil, "unterminated quoted string")
}

// arg reads the argument of the operator op. A bare word ends at white
// space, a parenthesis or a quote, or also where end says.
func (p *parser) arg(op token, end func(rune) bool) (token, error) {
	if p.peeked {
		panic("filter: internal error: arg after peek")
	}
	p.skipSpace()
	if p.off == len(p.src) || strings.IndexByte("()~", p.src[p.off]) >= 0 {
		return token{}, p.errorf(p.off, nil, "missing argument for %s", op.text)
	}
	t, err := p.word(end)
	if err != nil {
		return token{}, err
	}
	if t.text == "" || t.text == "&" || t.text == "|" {
		return token{}, p.errorf(t.pos, nil, "missing argument for %s", op.text)
	}
	return t, nil
}

// expr parses terms side by side, up to the end or a ")".
func (p *parser) expr() (Node, error) {
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		if t.kind == tokEOF || t.kind == tokRParen {
			return x, nil
		}
		y, err := p.or()
		if err != nil {
			return nil, err
		}
		x = And{X: x, Y: y}
	}
}

// or parses and-expressions joined by "|".
func (p *parser) or() (Node, error) {
	x, err := p.and("")
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		if t.kind != tokOr {
			return x, nil
		}
		p.next()
		y, err := p.and(t.describe())
		if err != nil {
			return nil, err
		}
		x = Or{X: x, Y: y}
	}
}

// and parses unary expressions joined by "&". after describes the token
// before the expression, if any, for error messages.
func (p *parser) and(after string) (Node, error) {
	x, err := p.unary(after)
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		if t.kind != tokAnd {
			return x, nil
		}
		p.next()
		y, err := p.unary(t.describe())
		if err != nil {
			return nil, err
		}
		x = And{X: x, Y: y}
	}
}

// unary parses a primary expression with any number of "!" before it.
func (p *parser) unary(after string) (Node, error) {
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if t.kind != tokNot {
		return p.primary(after)
	}
	p.next()
	if err := p.enter(t); err != nil {
		return nil, err
	}
	x, err := p.unary(t.describe())
	if err != nil {
		return nil, err
	}
	p.depth--
	return Not{X: x}, nil
}

// primary parses a parenthesized expression, an operator or a word.
func (p *parser) primary(after string) (Node, error) {
	if _, err := p.peek(); err != nil {
		return nil, err
	}
	t := p.next()
	switch t.kind {
	case tokLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		u, err := p.peek()
		if err != nil {
			return nil, err
		}
		switch u.kind {
		case tokRParen:
			return nil, p.errorf(u.pos, nil, "empty parentheses")
		case tokEOF:
			return nil, p.errorf(t.pos, nil, "unbalanced parenthesis: \"(\" is not closed")
		}
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if u, _ := p.peek(); u.kind != tokRParen {
			return nil, p.errorf(t.pos, nil, "unbalanced parenthesis: \"(\" is not closed")
		}
		p.next()
		p.depth--
		return x, nil
	case tokOp:
		return p.operator(t)
	case tokWord:
		return p.match(OpURL, t)
	}
	// An expression cannot start with t.
	if after != "" {
		return nil, p.errorf(t.pos, nil, "missing expression after %s", after)
	}
	if t.kind == tokRParen {
		return nil, p.errorf(t.pos, nil, "unbalanced parenthesis: unexpected \")\"")
	}
	return nil, p.errorf(t.pos, nil, "unexpected %s", t.describe())
}

// operator parses the operator t and its argument.
func (p *parser) operator(t token) (Node, error) {
	if why, ok := unsupported[t.text]; ok {
		return nil, p.errorf(t.pos, nil, "%s is not supported by bodytap: %s", t.text, why)
	}
	op := Op(t.text)
	info, ok := ops[op]
	if !ok {
		return nil, p.errorf(t.pos, nil, "unknown operator %q", t.text)
	}
	if info.kind == kindFlag {
		return Flag{Op: op}, nil
	}
	// A regular expression or a glob may hold any character but those
	// that end a word; a status or a comparison cannot hold "&", "|" or
	// "!", so there they end the word as they end an operator's name
	// ("~c 404|~c 410", as in mitmproxy).
	end := endsWord
	if info.kind == kindStatus || info.kind == kindCompare {
		end = endsOp
	}
	if info.kind == kindCompare {
		p.skipSpace()
		if strings.HasPrefix(p.src[p.off:], "!=") {
			return nil, p.errorf(p.off, nil, "%s: there is no != comparison: write !(%s =value)", op, op)
		}
	}
	a, err := p.arg(t, end)
	if err != nil {
		return nil, err
	}
	switch info.kind {
	case kindRegex:
		return p.match(op, a)
	case kindStatus:
		lo, hi, ok := parseStatus(a.val)
		if !ok {
			return nil, p.errorf(a.pos, nil, "%s: invalid status %q (want a code like 404, a class like 5xx or 5.., or a range like 400-499)", op, a.val)
		}
		return Status{Lo: lo, Hi: hi}, nil
	case kindCompare:
		return p.compare(op, t, a)
	default: // kindPath
		return Path{Glob: a.val, Prefix: globPrefix(a.val)}, nil
	}
}

// match compiles the pattern a for the regular expression operator op.
func (p *parser) match(op Op, a token) (Node, error) {
	m, err := compileMatch(op, a.val)
	if err != nil {
		return nil, p.errorf(a.pos, err, "%s: %v", op, err)
	}
	return m, nil
}

// compileMatch compiles pattern with the flags of op.
func compileMatch(op Op, pattern string) (Match, error) {
	// Compile the pattern as written first, so that an error quotes it
	// without the flags.
	re, err := regexp.Compile(pattern)
	if err != nil {
		return Match{}, err
	}
	m := Match{Op: op, Pattern: pattern, Re: re}
	if lit, complete := re.LiteralPrefix(); complete {
		m.Literal = lit
	}
	if flags := ops[op].flags; flags != "" {
		if m.Re, err = regexp.Compile(flags + pattern); err != nil {
			return Match{}, err
		}
	}
	return m, nil
}

// compare parses the argument a of the comparison operator op: a
// comparator, then a value (in the same word or the next one).
func (p *parser) compare(op Op, opTok, a token) (Node, error) {
	cmp, rest := splitCmp(a.val)
	pos := a.pos
	if cmp != "" && strings.TrimFunc(rest, isSpace) == "" {
		p.skipSpace()
		if p.off == len(p.src) || strings.IndexByte("()~", p.src[p.off]) >= 0 {
			return nil, p.errorf(p.off, nil, "%s: missing value after %q", op, cmp)
		}
		b, err := p.arg(opTok, endsOp)
		if err != nil {
			return nil, err
		}
		rest, pos = b.val, b.pos
	}
	if cmp == "" {
		cmp = ">="
	}
	rest = strings.TrimFunc(rest, isSpace)
	var v int64
	if op == OpDuration {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return nil, p.errorf(pos, err, "%s: invalid duration %q (want a Go duration like 250ms, 1.5s or 2m)", op, rest)
		}
		v = int64(d)
	} else {
		n, ok := parseSize(rest)
		if !ok {
			return nil, p.errorf(pos, nil, "%s: invalid size %q (want bytes like 512, 10k, 1.5MiB or 2G)", op, rest)
		}
		v = n
	}
	return Compare{Op: op, Cmp: cmp, Value: v}, nil
}

// splitCmp splits a leading comparator off s; "==" is taken for "=".
func splitCmp(s string) (cmp, rest string) {
	for _, c := range []string{"<=", ">=", "==", "<", ">", "="} {
		if strings.HasPrefix(s, c) {
			if c == "==" {
				return "=", s[2:]
			}
			return c, s[len(c):]
		}
	}
	return "", s
}

// parseStatus parses a status code ("404"), a class ("5xx", "5..", "50x")
// or a range ("400-499"). A code is any decimal integer, as in mitmproxy:
// "0200" is 200, and "10" or "0" are valid and match no response.
func parseStatus(s string) (lo, hi int, ok bool) {
	if a, b, found := strings.Cut(s, "-"); found {
		lo, ok1 := parseCode(a)
		hi, ok2 := parseCode(b)
		if !ok1 || !ok2 || lo > hi {
			return 0, 0, false
		}
		return lo, hi, true
	}
	if n, ok := parseCode(s); ok {
		return n, n, true
	}
	if len(s) != 3 || s[0] < '1' || s[0] > '9' {
		return 0, 0, false
	}
	// Digits, then wildcards up to the end.
	n, i := 0, 0
	for ; i < 3 && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	span := 1
	for ; i < 3; i++ {
		if s[i] != 'x' && s[i] != 'X' && s[i] != '.' {
			return 0, 0, false
		}
		n *= 10
		span *= 10
	}
	return n, n + span - 1, true
}

// parseCode parses a status code: decimal digits only, leading zeros
// allowed, at most 999,999,999.
func parseCode(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	s = strings.TrimLeft(s, "0")
	if len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// Byte size units, case-insensitive: all of them are powers of 1024.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
}

// parseSize parses a byte count with an optional unit: "512", "10k",
// "1.5MiB". A count with a unit may have a fraction, rounded to the
// nearest byte.
func parseSize(s string) (int64, bool) {
	i := 0
	for i < len(s) && ('0' <= s[i] && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimFunc(s[i:], isSpace)
	mult, ok := sizeUnits[strings.ToLower(unit)]
	if !ok || num == "" || num[0] == '.' || num[len(num)-1] == '.' || strings.Count(num, ".") > 1 {
		return 0, false
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/mult {
			return 0, false
		}
		return n * mult, true
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 1 { // no fractions of a byte
		return 0, false
	}
	f = math.Round(f * float64(mult))
	if f >= math.MaxInt64 { // float64(MaxInt64) is 2^63: out of range
		return 0, false
	}
	return int64(f), true
}

// globPrefix returns the literal part of glob before its first wildcard.
func globPrefix(glob string) string {
	if i := strings.IndexAny(glob, "*?"); i >= 0 {
		return glob[:i]
	}
	return glob
}
