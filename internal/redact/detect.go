package redact

import (
	"encoding/base64"
	"strings"
	"sync"
)

// Value detectors find secrets by what they look like, whatever the name
// they are under: in JSON strings and numbers, form and query values, text
// and XML bodies, header values and URL paths. Each reads a published
// token format (the prefixes, lengths and alphabets that the issuers
// document and that gitleaks and GitHub secret scanning match on),
// written here as hand-made matchers rather than regular expressions:
// they run over every byte of every text body a Tap keeps.
//
// Every secret starts with a word (a run of [A-Za-z0-9_-]) whose first
// two bytes are one of a few pairs (startDetectors, secondByte), but an
// AWS secret key, a run of 40 base64 bytes. So find first looks for those
// (mayHold), a table lookup a byte, which most strings do not have (card
// numbers, by their runs of digits); only where one is does it scan words
// and runs and try the matchers. Strings shorter than minSecret are not
// looked at.

// A Detector is a set of value detectors.
type Detector uint32

const (
	DetectJWT        Detector = 1 << iota // JSON Web Tokens: eyJ<header>.<payload>.<signature>
	DetectHTTPAuth                        // Bearer and Basic credentials: "Bearer <token>", "Basic <base64 user:pass>"
	DetectAWS                             // AWS access key IDs (AKIA..., ASIA...) and secret access keys
	DetectGitHub                          // GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_, github_pat_
	DetectGitLab                          // GitLab tokens: glpat-, gldt-, glrt-, glptt-, ... and runner registration tokens
	DetectSlack                           // Slack tokens (xoxb-, xoxp-, xapp-, ...) and webhook URLs
	DetectStripe                          // Stripe secret and restricted keys (sk_live_, rk_live_, ...) and webhook secrets
	DetectGoogle                          // Google API keys: AIza + 35 characters
	DetectOpenAI                          // OpenAI-style keys: sk-, sk-proj-, sk-svcacct-, ...
	DetectPrivateKey                      // PEM private-key blocks
	DetectCard                            // payment card numbers with a known issuer prefix that pass the Luhn check

	numDetectors = iota

	// AllDetectors is every detector.
	AllDetectors Detector = 1<<numDetectors - 1
)

// detectorNames are the names of the detectors, bit by bit.
var detectorNames = [numDetectors]string{
	"jwt", "http-auth", "aws", "github", "gitlab", "slack", "stripe", "google-api-key", "openai", "private-key", "card",
}

// Names returns the names of the detectors in d, in bit order.
func (d Detector) Names() []string {
	var names []string
	for i, n := range detectorNames {
		if d&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return names
}

// String returns the names of the detectors in d, separated by commas.
func (d Detector) String() string { return strings.Join(d.Names(), ",") }

// DetectorNamed returns the detector called name, or 0.
func DetectorNamed(name string) Detector {
	for i, n := range detectorNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// minSecret is the length of the shortest secret a detector finds (a
// 13-digit card number): shorter strings are not looked into.
const minSecret = 13

// Scan modes: how the bytes around a secret are written.
const (
	modeText = iota // as is
	modeJSON        // inside a JSON string: a backslash escapes the byte after it
	modeForm        // a query string or form: '+' and "%20" are spaces
)

// Byte classes for the scan.
const (
	clsWord     = 1 << iota // [A-Za-z0-9_-]: part of a word
	clsB64                  // [A-Za-z0-9+/]: part of an AWS secret key
	clsTok                  // the token68 alphabet of RFC 9110 credentials, '=' aside
	clsEsc                  // '\\', which escapes the next byte in JSON
	clsCard                 // [0-9 -]: part of a card number
	clsCardForm             // [0-9 +-]: part of a card number in a form
	clsSep                  // [+/.~]: in clsTok but no word byte

	clsB64Shift = 1 // clsB64 == 1<<clsB64Shift
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if isAlnum(b) {
			t[c] |= clsWord | clsB64 | clsTok
		}
	}
	t['_'] |= clsWord | clsTok
	t['-'] |= clsWord | clsTok
	t['+'] |= clsB64 | clsTok
	t['/'] |= clsB64 | clsTok
	t['.'] |= clsTok
	t['~'] |= clsTok
	t['\\'] |= clsEsc
	for c := '0'; c <= '9'; c++ {
		t[c] |= clsCard | clsCardForm
	}
	t[' '] |= clsCard | clsCardForm
	t['-'] |= clsCard | clsCardForm
	t['+'] |= clsCardForm
	for _, c := range "+/.~" {
		t[c] |= clsSep
	}
	return t
}()

// startDetectors are the detectors that a word starting with a byte may
// begin.
var startDetectors = func() (t [256]Detector) {
	t['e'] = DetectJWT
	t['B'], t['b'] = DetectHTTPAuth, DetectHTTPAuth
	t['A'] = DetectAWS | DetectGoogle
	t['g'] = DetectGitHub | DetectGitLab
	t['G'] = DetectGitLab
	t['x'] = DetectSlack
	t['h'] = DetectSlack
	t['s'] = DetectStripe | DetectOpenAI
	t['r'] = DetectStripe
	t['w'] = DetectStripe
	t['-'] = DetectPrivateKey
	for c := '2'; c <= '6'; c++ {
		t[c] = DetectCard
	}
	return t
}()

// find returns the first secret that a detector of d finds in b[i:end],
// as the span b[from:to], and which detector found it (0 if none). b
// before i may be read for context. mode says how b is written; in JSON,
// a slash may be written escaped, "\/", and a secret with slashes in it
// (a webhook URL, an AWS secret key, a PEM block) is found as well, the
// span covering the escapes.
//
// It is the hot loop of value detection. It first looks for what every
// secret starts with (mayHold), which most strings do not have; then
// findRuns scans for secrets where they can be.
func find[S string | []byte](d Detector, b S, i, end, mode int) (from, to int, which Detector) {
	var slash uint16
	if mode == modeJSON {
		slash = pairSlash
	}
	h := mayHold(d, b, i, end, mode, slash)
	if h == holdNone {
		return 0, 0, 0
	}
	if slash != 0 && (h == holdSlash || slashEscaped(b, i, end)) {
		return findSlashes(d, b, i, end, h == holdSlash)
	}
	return findRuns(d, b, i, end, mode)
}

// findSlashes is find for a JSON text b[i:end] with an escaped slash in
// it; first says that it came before anything that may be a secret, so
// that the first look must be taken again.
func findSlashes[S string | []byte](d Detector, b S, i, end int, first bool) (from, to int, which Detector) {
	return findUnescaped(b, i, end, func(u []byte, lo int) (int, int, Detector) {
		if first && mayHold(d, u, lo, len(u), modeJSON, 0) == holdNone {
			return 0, 0, 0
		}
		return findRuns(d, u, lo, len(u), modeJSON)
	})
}

// slashEscaped reports whether the JSON text b[i:end] has an escaped
// slash, "\/", in it.
func slashEscaped[S string | []byte](b S, i, end int) bool {
	for k := i; k+1 < end; k++ {
		if b[k] == '\\' {
			if b[k+1] == '/' {
				return true
			}
			k++
		}
	}
	return false
}

// slashBufs holds the buffers of findUnescaped.
var slashBufs = sync.Pool{New: func() any { return new([]byte) }}

// findUnescaped runs scan over a copy of the JSON text b[i:end] in which
// each escaped slash, "\/", is the slash it stands for (and the 64 bytes
// before b[i] come first, as context), and returns what scan finds there
// (at or after lo, the copy of b[i]) as a span of b.
func findUnescaped[S string | []byte](b S, i, end int, scan func(u []byte, lo int) (from, to int, which Detector)) (from, to int, which Detector) {
	buf := slashBufs.Get().(*[]byte)
	u := append((*buf)[:0], b[max(0, i-64):i]...)
	lo := len(u)
	for k := i; k < end; k++ {
		if b[k] == '\\' && k+1 < end {
			k++
			if b[k] != '/' {
				u = append(u, '\\')
			}
		}
		u = append(u, b[k])
	}
	from, to, which = scan(u, lo)
	*buf = u
	slashBufs.Put(buf)
	if which == 0 {
		return 0, 0, 0
	}
	return unescapedIndex(b, i, end, from-lo), unescapedIndex(b, i, end, to-lo), which
}

// unescapedIndex returns the index in b of what is n bytes past the copy
// of b[i] in the copy findUnescaped makes of b[i:end].
func unescapedIndex[S string | []byte](b S, i, end, n int) int {
	k := i
	for n > 0 && k < end {
		if b[k] == '\\' && k+1 < end {
			if b[k+1] == '/' {
				n--
			} else if n -= 2; n < 0 {
				return k + 1 // the escaped byte
			}
			k += 2
			continue
		}
		n--
		k++
	}
	return k
}

// findRuns is find past the first look, with no escaped slash to read:
// it returns what a scan of every byte would (scanFrom over all of
// b[i:end]; findRef in the tests), but it looks only where a secret can
// be. Every secret but a card number needs a run of at least minTokenRun
// bytes of the token68 alphabet (clsTok: a word, a JWT, base64, a URL
// path), with a word in it that starts the secret, or, for a credential,
// after blanks and "Bearer" or "Basic"; and a card number needs 13
// digits, maybe grouped, a run of clsCard. Such runs are found by looking
// at one byte in so many (nextRun): in text and JSON, most looks land on
// a short word and step over it. In a run, only the starts of words need
// a look (scanWords), unless it may hold an AWS secret key (40 bytes or
// more) or starts with an escaped byte.
func findRuns[S string | []byte](d Detector, b S, i, end, mode int) (from, to int, which Detector) {
	lo := i
	limit := end // a card number must start before this to come first
	for i < end {
		rs, re, or, ok := nextRun(b, i, end, end, clsTok, minTokenRun)
		if !ok {
			break
		}
		aws := d&DetectAWS != 0 && re-rs >= 40
		p := rs
		if d&DetectHTTPAuth != 0 {
			p = authSchemeBefore(b, lo, rs, end, mode)
		}
		if m := scanRun(d&^DetectCard, aws, b, lo, p, rs, re, end, mode, or&clsSep != 0); m.which != 0 {
			from, to, which, limit = m.from, m.to, m.which, m.key/2
			break
		}
		i = re
	}
	if d&DetectCard == 0 {
		return from, to, which
	}
	c := uint8(clsCard)
	if mode == modeForm {
		c = clsCardForm
	}
	for i = lo; i < limit; {
		rs, re, _, ok := nextRun(b, i, end, limit, c, minSecret)
		if !ok {
			break
		}
		if m := scanRun(DetectCard, false, b, lo, rs, rs, re, end, mode, true); m.which != 0 && m.from < limit {
			return m.from, m.to, m.which
		}
		i = re
	}
	return from, to, which
}

// What mayHold says.
const (
	holdNone  = iota // no secret there
	holdMaybe        // maybe one
	holdSlash        // an escaped slash: look again with it unescaped
)

// mayHold tells whether b[i:end] may hold a secret that a detector of d
// finds, or, if slash is pairSlash, has a "\/" in it before anything else
// that may be a secret. Every secret starts with a word whose first two
// bytes are a pair (pairTab), but an AWS secret key, a run of 40 base64
// bytes; a card number is also a run of 13 digits or more, which is
// rarer than its pair (mayHoldCard). It is a quick look, done before the
// scan of runs and words that most strings do not need: a table lookup a
// byte, and a closer look where a pair or a run is.
func mayHold[S string | []byte](d Detector, b S, i, end, mode int, slash uint16) int {
	if want := pairsOf[d&AllDetectors&^DetectCard] | slash; want != 0 {
		// A secret that starts at a pair runs on for minPairSecret bytes
		// at least: pairs are looked for up to cut, where the last one
		// that may start a secret is; an escaped slash, to the end.
		cut := max(i, end-(minPairSecret-2))
		for p := i; ; p++ {
			var m uint16
			if p, m = nextPair(b[:cut], p, want); m == 0 {
				break
			}
			if m == pairSlash {
				return holdSlash
			}
			// Words start "be" and "ba" often: a credential needs the
			// scheme whole.
			if startDetectors[b[p]] != DetectHTTPAuth || schemeAt(b, p, end) {
				return holdMaybe
			}
		}
		if slash != 0 {
			for k := max(i, cut-1); k+1 < end; k++ {
				if b[k] == '\\' && b[k+1] == '/' {
					return holdSlash
				}
			}
		}
	}
	if d&DetectCard != 0 && mayHoldCard(b, i, end, mode) {
		return holdMaybe
	}
	if d&DetectAWS == 0 || end-i < 40 {
		return holdNone
	}
	if _, _, _, ok := nextRun(b, i, end, end, clsB64, 40); ok {
		return holdMaybe
	}
	return holdNone
}

// mayHoldCard is mayHold for card numbers, which the pairs leave out: a
// pair of digits starts many words (dates, times, numbers) and ends few.
// A card number is 13 digits or more, maybe grouped: a run of 13 bytes of
// clsCardForm at least, found by looking at one byte in 13 (nextRun).
// In such a run it looks closer, where a word starts with a pair.
func mayHoldCard[S string | []byte](b S, i, end, mode int) bool {
	for k := i; k < end; {
		rs, re, _, ok := nextRun(b, k, end, end, clsCardForm, minSecret)
		if !ok {
			return false
		}
		for p := rs; p+minSecret <= re; p++ {
			if startDetectors[b[p]] == DetectCard && isDigit(b[p+1]) &&
				(p == 0 || byteClass[b[p-1]]&clsWord == 0 || p >= 2 && b[p-2] == '\\') &&
				cardEnd(b, p, end, mode) != 0 {
				return true
			}
		}
		k = re
	}
	return false
}

// nextPair returns the first p at or after i where x[p], x[p+1] is a pair
// of want that starts a word (or an escaped slash), and which pairs it is
// of; 0 if there is none. A word starts after a byte that is no word
// byte, or after one that a backslash may escape (in JSON, "\nghp_..."
// holds the word "ghp_...").
//
// It is mayHold's hot loop, kept apart so that nothing else needs its
// registers, and it looks at four pairs a turn: one table lookup a byte
// (pairTab), and a branch for four.
func nextPair[S string | []byte](x S, i int, want uint16) (p int, m uint16) {
	if i+1 >= len(x) {
		return 0, 0
	}
	w := uint32(want)
	f := pairTab[x[i]]
	for j := i + 1; j < len(x); {
		for ; j+4 <= len(x); j += 4 {
			y := x[j : j+4]
			e0, e1, e2, e3 := pairTab[y[0]], pairTab[y[1]], pairTab[y[2]], pairTab[y[3]]
			if (f&(e0>>16)|e0&(e1>>16)|e1&(e2>>16)|e2&(e3>>16))&w != 0 {
				break
			}
			f = e3
		}
		// One of the next four pairs, or of the last ones, is of want.
		for stop := min(j+4, len(x)); j < stop; j++ {
			e := pairTab[x[j]]
			if m := uint16(f & (e >> 16) & w); m != 0 {
				p := j - 1
				if m == pairSlash || p == 0 || byteClass[x[p-1]]&clsWord == 0 || p >= 2 && x[p-2] == '\\' {
					return p, m
				}
			}
			f = e
		}
	}
	return 0, 0
}

// Pairs of bytes that start the words of secrets: c, n where
// startDetectors[c] is not 0 and secondByte(c, n), as the scan of every
// byte has them. They are sorted into sets, each the first bytes with the
// same detectors and the same second bytes times those second bytes, so
// that the sets c, n is a pair of are those in both the lower 16 bits of
// pairTab[c] and the upper 16 bits of pairTab[n]. One more set is for
// find: an escaped slash in JSON, pairSlash. pairsOf are the sets that
// the detectors of a set need.
var (
	pairTab   [256]uint32
	pairsOf   [1 << numDetectors]uint16
	pairSlash uint16
)

func init() {
	type set struct {
		d      Detector
		second [256]bool
	}
	var sets []set
	add := func(d Detector, first []byte, second func(n byte) bool) uint16 {
		s := set{d: d}
		for n := range s.second {
			s.second[n] = second(byte(n))
		}
		k := 0
		for k < len(sets) && sets[k] != s {
			k++
		}
		if k == len(sets) {
			if k == 16 {
				panic("redact: more than 16 sets of pairs")
			}
			sets = append(sets, s)
			for n, ok := range s.second {
				if ok {
					pairTab[n] |= 1 << (16 + k)
				}
			}
			for ds := range pairsOf {
				if Detector(ds)&d != 0 {
					pairsOf[ds] |= 1 << k
				}
			}
		}
		for _, c := range first {
			pairTab[c] |= 1 << k
		}
		return 1 << k
	}
	for c, d := range startDetectors {
		if d != 0 {
			add(d, []byte{byte(c)}, func(n byte) bool { return secondByte(byte(c), n) })
		}
	}
	pairSlash = add(0, []byte{'\\'}, func(n byte) bool { return n == '/' })
}

// schemeAt reports whether b[i:end] starts with "Bearer" or "Basic", in
// any case, and a blank (or what may be one in a form: '+' or '%'), as a
// credential after them needs. Words starting "be" and "ba" are common.
func schemeAt[S string | []byte](b S, i, end int) bool {
	n := 6
	if b[i+1]|0x20 == 'a' {
		n = 5
	}
	if end-i <= n {
		return false
	}
	switch b[i+n] {
	case ' ', '\t', '+', '%':
	default:
		return false
	}
	if n == 6 {
		return equalFoldASCII(b[i:i+6], "bearer")
	}
	return equalFoldASCII(b[i:i+5], "basic")
}

// minPairSecret is the length of the shortest secret that starts at a
// pair (pairTab), from the pair on: a JWT (a header word of 10 bytes,
// ".", a payload of 2, "." and no signature) or a Basic credential
// ("Basic", a blank and 8 bytes of base64). Every other is longer: an
// AWS access key ID 20 bytes, a Bearer token 6+1+12, a GitLab token its
// prefix and 20, a Slack token 15, and so on (matchAt).
const minPairSecret = 14

// minTokenRun is the shortest run of clsTok bytes that a secret other
// than a card number needs: the 8 base64 bytes of a Basic credential.
const minTokenRun = 8

// A match is a secret found: its span, the detector, and where the scan
// of every byte reports it, as key: 2*the index of the word that starts
// it, or 2*the index just past an AWS secret key +1 (the scan finds those
// at their end, after a word that would start there).
type match struct {
	from, to int
	which    Detector
	key      int
}

// scanRun is scanFrom from b[p] over the run b[rs:re], for a scan that
// started at lo: if b[rs] is not escaped and there is no AWS secret key
// to look for, only the starts of words need a look, and a run without
// separators (seps) is one word.
func scanRun[S string | []byte](d Detector, aws bool, b S, lo, p, rs, re, end, mode int, seps bool) match {
	if p = resume(b, lo, p, mode); p != rs || aws {
		return scanFrom(d, aws, b, p, re, end, mode)
	}
	return scanWords(d, b, rs, re, end, mode, seps)
}

// nextRun returns the first run b[rs:re] of at least n bytes of class m
// that starts before lim, a run cut at i counting from i, or false; or
// is the union of the classes of its bytes.
//
// It looks at the last byte of the n that a run starting at p would need:
// if that is not of class m, no such run starts before it; if it is, it
// looks back from there to what it knows, to find the start.
func nextRun[S string | []byte](b S, i, end, lim int, m uint8, n int) (rs, re int, or uint8, ok bool) {
	p, known := i, i // b[p:known] are of class m, their classes orKnown
	var orKnown uint8
	for p+n <= end && p < lim {
		q := p + n - 1
		c := byteClass[b[q]]
		if c&m == 0 {
			p, known, orKnown = q+1, q+1, 0
			continue
		}
		k := q - 1
		for ; k >= known; k-- {
			ck := byteClass[b[k]]
			if ck&m == 0 {
				break
			}
			c |= ck
		}
		if k >= known {
			p, known, orKnown = k+1, q+1, c
			continue
		}
		c |= orKnown
		for re = q + 1; re < end; re++ {
			cr := byteClass[b[re]]
			if cr&m == 0 {
				break
			}
			c |= cr
		}
		return p, re, c, true
	}
	return 0, 0, 0, false
}

// scanWords is scanFrom for a run b[i:stop] of clsTok or clsCard bytes,
// with no AWS secret key to look for, when b[i] is not escaped: it looks
// only where words start, and if the run has no separator (seps), it is
// one word.
func scanWords[S string | []byte](d Detector, b S, i, stop, end, mode int, seps bool) match {
	prevW := i > 0 && byteClass[b[i-1]]&clsWord != 0
	for j := i; j < stop; j++ {
		w := byteClass[b[j]]&clsWord != 0
		if w && !prevW {
			c := b[j]
			if sd := startDetectors[c] & d; sd != 0 && j+1 < end && secondByte(c, b[j+1]) {
				if f, t, w := matchAt(sd, b, j, end, mode); w != 0 {
					return match{f, t, w, 2 * j}
				}
			}
			if !seps {
				break
			}
		}
		prevW = w
	}
	return match{}
}

// authSchemeBefore returns where to scan from for a run of token bytes
// at b[rs] that may be a credential after "Bearer" or "Basic": at the
// scheme, if the run follows one and blanks ('+' and "%20" too in a
// form). Otherwise it returns rs.
func authSchemeBefore[S string | []byte](b S, lo, rs, end, mode int) int {
	k := rs
	if mode == modeForm && k > lo && b[k-1] == '%' && hasPrefixAt(b[:end], k, "20") {
		k-- // the run starts with the "20" of "%20"
	}
	for k > lo {
		if c := b[k-1]; c == ' ' || c == '\t' || c == '+' && mode == modeForm {
			k--
		} else if mode == modeForm && k-3 >= lo && c == '0' && b[k-2] == '2' && b[k-3] == '%' {
			k -= 3
		} else {
			break
		}
	}
	switch {
	case k == rs:
	case k-6 >= lo && equalFoldASCII(b[k-6:k], "bearer"):
		return k - 6
	case k-5 >= lo && equalFoldASCII(b[k-5:k], "basic"):
		return k - 5
	}
	return rs
}

// resume returns where a scan of b that started at lo must be resumed to
// read b[p:] as it would have: in JSON, at the backslash that escapes
// b[p] or b[p-1], if one does.
func resume[S string | []byte](b S, lo, p, mode int) int {
	if mode != modeJSON || p <= lo {
		return max(p, lo)
	}
	k := p
	for k > lo && b[k-1] == '\\' {
		k--
	}
	switch {
	case (p-k)%2 == 1:
		return p - 1 // b[p] is escaped
	case p > k:
		return p // b[p-1] is an escaped backslash
	}
	if k = p - 1; k > lo {
		for k > lo && b[k-1] == '\\' {
			k--
		}
		if (p-1-k)%2 == 1 {
			return p - 2 // b[p-1] is escaped
		}
	}
	return p
}

// scanFrom is find's scan of every byte, from b[i]: it returns the first
// secret that starts at a word in b[i:stop] (or is an AWS secret key that
// ends in b[i:stop+1], if aws). Whatever a secret's matcher reads stops
// at end.
//
// It costs a few table lookups a byte and branches that are seldom taken:
// a word start whose byte may begin a secret (startDetectors), and the
// end of a run of exactly 40 base64 bytes (an AWS secret key's length).
// Only there does it look further.
func scanFrom[S string | []byte](d Detector, aws bool, b S, i, stop, end, mode int) match {
	var prevW uint8 // clsWord if the byte before b[i] is part of a word
	if i > 0 {
		prevW = byteClass[b[i-1]] & clsWord
	}
	run := 0 // the length of the run of clsB64 bytes ending at b[i]
	for ; i < stop; i++ {
		c := b[i]
		k := byteClass[c]
		if k&clsEsc != 0 && mode == modeJSON {
			// A backslash ends a run of base64 as any other byte
			// would: an AWS secret key may end there ("<key>\n").
			if aws && run == 40 && awsSecret(b, i-40, i, end, mode) {
				return match{i - 40, i, DetectAWS, 2*i + 1}
			}
			// It escapes the byte after it, which starts no word:
			// "\nghp_..." holds the word "ghp_...".
			i++
			prevW, run = 0, 0
			continue
		}
		// Word starts only: the mask is all ones when prevW is 0.
		if sd := startDetectors[c] & d & (Detector(prevW) - 1); sd != 0 && i+1 < end && secondByte(c, b[i+1]) {
			if f, t, w := matchAt(sd, b, i, end, mode); w != 0 {
				return match{f, t, w, 2 * i}
			}
		}
		if aws {
			b64 := int(k >> clsB64Shift & 1)
			if run == 40 && b64 == 0 && awsSecret(b, i-40, i, end, mode) {
				return match{i - 40, i, DetectAWS, 2*i + 1}
			}
			run = (run + 1) * b64
		}
		prevW = k & clsWord
	}
	// As the loop would at b[stop], which is no word byte (a backslash
	// there is not escaped: b[stop-1] is in a run).
	if aws && run == 40 && i == stop && (stop == end || byteClass[b[stop]]&clsB64 == 0) && awsSecret(b, stop-40, stop, end, mode) {
		return match{stop - 40, stop, DetectAWS, 2*stop + 1}
	}
	return match{}
}

// secondByte reports whether a word starting with c, n may begin a secret.
func secondByte(c, n byte) bool {
	switch c {
	case 'e':
		return n == 'y'
	case 'B', 'b':
		return n == 'e' || n == 'a' || n == 'E' || n == 'A'
	case 'A':
		return n == 'K' || n == 'S' || n == 'B' || n == 'C' || n == '3' || n == 'I'
	case 'g':
		return n == 'h' || n == 'l' || n == 'i'
	case 'G':
		return n == 'R'
	case 'x':
		return n == 'o' || n == 'a'
	case 'h':
		return n == 'o'
	case 's', 'r':
		return n == 'k'
	case 'w':
		return n == 'h'
	case '-':
		return n == '-'
	}
	return isDigit(n)
}

// matchAt tries the detectors sd at the word that starts at b[i]; end
// bounds what may be read.
func matchAt[S string | []byte](sd Detector, b S, i, end, mode int) (from, to int, which Detector) {
	j := i + 1
	for j < end && byteClass[b[j]]&clsWord != 0 {
		j++
	}
	n := j - i
	switch c := b[i]; c {
	case 'e':
		if n >= 10 && b[i+1] == 'y' && b[i+2] == 'J' {
			if t := jwtEnd(b, j, end); t > 0 {
				return i, t, DetectJWT
			}
		}
	case 'B', 'b':
		if n == 6 && equalFoldASCII(b[i:j], "bearer") || n == 5 && equalFoldASCII(b[i:j], "basic") {
			if f, t := authCredential(b, j, end, mode, n == 5); t > f {
				return f, t, DetectHTTPAuth
			}
		}
	case 'A':
		if sd&DetectAWS != 0 && n == 20 && awsKeyID(b, i) {
			return i, j, DetectAWS
		}
		if sd&DetectGoogle != 0 && n == 39 && b[i+1] == 'I' && b[i+2] == 'z' && b[i+3] == 'a' {
			return i, j, DetectGoogle
		}
	case 'g', 'G':
		if sd&DetectGitHub != 0 && n >= 40 && b[i+1] == 'h' && b[i+3] == '_' && strings.IndexByte("pousr", byte(b[i+2])) >= 0 && alnumRun(b, i+4, j) == j {
			return i, j, DetectGitHub
		}
		if sd&DetectGitHub != 0 && n >= 33 && hasPrefixAt(b, i, "github_pat_") {
			return i, j, DetectGitHub
		}
		if sd&DetectGitLab != 0 {
			if t := gitlabEnd(b, i, j, end); t > 0 {
				return i, t, DetectGitLab
			}
		}
	case 'x':
		if n >= 15 && b[i+1] == 'o' && b[i+2] == 'x' && strings.IndexByte("baprseo", byte(b[i+3])) >= 0 && b[i+4] == '-' {
			return i, j, DetectSlack
		}
		if n >= 15 && hasPrefixAt(b, i, "xapp-") {
			return i, j, DetectSlack
		}
	case 'h':
		const hook = "hooks.slack.com/services/"
		if n == 5 && hasPrefixAt(b[:end], i, hook) {
			t := i + len(hook)
			for t < end && (byteClass[b[t]]&clsWord != 0 || b[t] == '/') {
				t++
			}
			if t-(i+len(hook)) >= 20 {
				return i + len(hook), t, DetectSlack
			}
		}
	case 's', 'r', 'w':
		if sd&DetectStripe != 0 && n >= 18 {
			if (c == 's' || c == 'r') && b[i+1] == 'k' && b[i+2] == '_' && (hasPrefixAt(b, i+3, "live_") || hasPrefixAt(b, i+3, "test_") || hasPrefixAt(b, i+3, "prod_")) && alnumRun(b, i+8, j) == j && j-i >= 18 {
				return i, j, DetectStripe
			}
			if c == 'w' && hasPrefixAt(b, i, "whsec_") && alnumRun(b, i+6, j) == j && j-i >= 30 {
				return i, j, DetectStripe
			}
		}
		if sd&DetectOpenAI != 0 && c == 's' && n >= 35 && b[i+1] == 'k' && b[i+2] == '-' && randomLooking(b, i+3, j) {
			return i, j, DetectOpenAI
		}
	case '-':
		if n >= 5 && hasPrefixAt(b[:end], i, "-----BEGIN") {
			if t := pemEnd(b, i, end); t > 0 {
				return i, t, DetectPrivateKey
			}
		}
	default:
		if '2' <= c && c <= '6' && (i == 0 || b[i-1] != '.' && b[i-1] != ',' && (b[i-1] != '+' || mode == modeForm)) {
			if t := cardEnd(b, i, end, mode); t > 0 {
				return i, t, DetectCard
			}
		}
	}
	return 0, 0, 0
}

// hasPrefixAt reports whether b[i:] starts with p.
func hasPrefixAt[S string | []byte](b S, i int, p string) bool {
	return len(b)-i >= len(p) && string(b[i:i+len(p)]) == p
}

// alnumRun returns the end of the run of ASCII letters and digits at
// b[i:j].
func alnumRun[S string | []byte](b S, i, j int) int {
	for i < j && isAlnum(b[i]) {
		i++
	}
	return i
}

// randomLooking reports whether b[i:j], the body of a key, looks random: at
// least 32 bytes, with upper and lower case letters and two digits.
func randomLooking[S string | []byte](b S, i, j int) bool {
	if j-i < 32 {
		return false
	}
	var up, lo, dig int
	for ; i < j; i++ {
		switch c := b[i]; {
		case isUpper(c):
			up++
		case isLower(c):
			lo++
		case isDigit(c):
			dig++
		}
	}
	return up > 0 && lo > 0 && dig >= 2
}

// jwtEnd returns the end of a JWT whose header is the word ending at j:
// ".<payload>.<signature>", the payload at least two bytes, the
// signature possibly empty (an unsecured JWT); 0 if none follows. A JWE's
// five parts are taken whole.
func jwtEnd[S string | []byte](b S, j, end int) int {
	t := j
	for part := 1; part < 5; part++ {
		if t >= end || b[t] != '.' {
			break
		}
		k := t + 1
		for k < end && byteClass[b[k]]&clsWord != 0 {
			k++
		}
		if part == 1 && k-(t+1) < 2 {
			return 0
		}
		if part >= 2 && k == t+1 {
			t = k
			break
		}
		t = k
	}
	dots := 0
	for k := j; k < t; k++ {
		if b[k] == '.' {
			dots++
		}
	}
	if dots < 2 {
		return 0
	}
	return t
}

// authCredential returns the span of the credentials after an
// authentication scheme ("Bearer" or, with basic, "Basic") ending at j:
// after blanks ('+' or "%20" in a form), a run of the token68 alphabet
// and its '=' padding. A Bearer token must be at least 12 bytes with a
// letter and a digit in it (so that "Bearer of bad news" is not one); a
// Basic credential must decode, from base64, to "user:password".
func authCredential[S string | []byte](b S, j, end, mode int, basic bool) (from, to int) {
	f := j
	for f < end {
		switch {
		case b[f] == ' ' || b[f] == '\t':
			f++
			continue
		case mode == modeForm && b[f] == '+':
			f++
			continue
		case mode == modeForm && hasPrefixAt(b[:end], f, "%20"):
			f += 3
			continue
		}
		break
	}
	if f == j {
		return 0, 0
	}
	t := f
	var letters, digits int
	for t < end && byteClass[b[t]]&clsTok != 0 {
		if mode == modeForm && b[t] == '+' {
			break
		}
		switch {
		case isDigit(b[t]):
			digits++
		case isAlnum(b[t]):
			letters++
		}
		t++
	}
	body := t
	for t < end && b[t] == '=' {
		t++
	}
	if mode == modeForm {
		for hasPrefixAt(b[:end], t, "%3D") || hasPrefixAt(b[:end], t, "%3d") {
			t += 3
		}
	}
	if !basic {
		if body-f < 12 || letters == 0 || digits == 0 {
			return 0, 0
		}
		return f, t
	}
	if body-f < 8 {
		return 0, 0
	}
	var buf [96]byte
	src := b[f:body]
	if len(src) > 128 {
		return f, t // too long to check: take it
	}
	var raw [128]byte
	m := copy(raw[:], string(src))
	n, err := base64.RawStdEncoding.Decode(buf[:], raw[:m])
	if err != nil || strings.IndexByte(string(buf[:n]), ':') < 1 {
		return 0, 0
	}
	return f, t
}

// awsKeyID reports whether the 20-byte word at b[i:] is an AWS access key
// ID: AKIA, ASIA, ABIA, ACCA or A3T plus one, then 16 upper-case letters
// or digits.
func awsKeyID[S string | []byte](b S, i int) bool {
	switch string(b[i : i+4]) {
	case "AKIA", "ASIA", "ABIA", "ACCA":
	default:
		if string(b[i:i+3]) != "A3T" {
			return false
		}
	}
	for k := i + 4; k < i+20; k++ {
		if c := b[k]; !isUpper(c) && !isDigit(c) {
			return false
		}
	}
	return true
}

// awsSecret reports whether the 40-byte run b[i:r] of the base64 alphabet
// is an AWS secret access key: not part of a longer run (in JSON, a byte
// escaped before it, as the n of "\n", is not), not followed by '='
// (padding would make it some other base64), with upper and lower case
// letters and a digit, and either '/' or '+' in it or "aws" or "secret"
// in the 64 bytes before it. (A random key has '/' or '+' in it three
// times in four.)
func awsSecret[S string | []byte](b S, i, r, end, mode int) bool {
	if r < end && b[r] == '=' || i > 0 && byteClass[b[i-1]]&clsB64 != 0 && !(mode == modeJSON && escaped(b, i-1)) {
		return false
	}
	var up, lo, dig, sym bool
	for k := i; k < r; k++ {
		switch c := b[k]; {
		case isUpper(c):
			up = true
		case isLower(c):
			lo = true
		case isDigit(c):
			dig = true
		default:
			sym = true
		}
	}
	if !up || !lo || !dig {
		return false
	}
	if sym {
		return true
	}
	ctx := b[max(0, i-64):i]
	return containsFold(ctx, "aws") || containsFold(ctx, "secret")
}

// escaped reports whether a backslash escapes b[k]: whether an odd number
// of them comes right before it.
func escaped[S string | []byte](b S, k int) bool {
	n := 0
	for k > 0 && b[k-1] == '\\' {
		n++
		k--
	}
	return n%2 == 1
}

// gitlabPrefixes are the prefixes of GitLab's tokens (personal, project
// and group access, deploy, runner, pipeline trigger, feed, incoming
// mail, agent, OAuth application, SCIM, CI build and feature flag tokens).
var gitlabPrefixes = [...]string{"glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glimt-", "glagent-", "gloas-", "glsoat-", "glcbt-", "glffct-"}

// gitlabEnd returns the end of a GitLab token whose first word is b[i:j],
// or 0. A token runs on through '.' (the newer, routable format).
func gitlabEnd[S string | []byte](b S, i, j, end int) int {
	if b[i] == 'G' {
		// Runner registration tokens: GR1348941 and 20 more.
		if j-i >= 29 && hasPrefixAt(b, i, "GR1348941") {
			return j
		}
		return 0
	}
	if b[i+1] != 'l' {
		return 0
	}
	for _, p := range gitlabPrefixes {
		if !hasPrefixAt(b[:j], i, p) {
			continue
		}
		t := j
		for t+1 < end && b[t] == '.' && byteClass[b[t+1]]&clsWord != 0 {
			t++
			for t < end && byteClass[b[t]]&clsWord != 0 {
				t++
			}
		}
		if t-(i+len(p)) >= 20 {
			return t
		}
		return 0
	}
	return 0
}

// pemEnd returns the end of the PEM private-key block that starts at
// b[i] ("-----BEGIN ... PRIVATE KEY-----" or "... PRIVATE KEY BLOCK-----"):
// the end of its "-----END ...-----" line, or end if the block is cut
// off; 0 if the label is not a private key's.
//
// The blanks of the armour lines may be written '+' or "%20" (a query or
// form), so the label is matched for "PRIVATE" and "KEY" alone.
func pemEnd[S string | []byte](b S, i, end int) int {
	lab := i + len("-----BEGIN")
	stop := min(end, lab+80)
	k := lab
	for k < stop && b[k] != '-' {
		k++
	}
	label := b[lab:k]
	if k == stop || !containsFold(label, "private") || !containsFold(label, "key") || !hasPrefixAt(b[:end], k, "-----") {
		return 0
	}
	rest := string(b[k+5 : end])
	e := strings.Index(rest, "-----END")
	if e < 0 {
		return end
	}
	after := rest[e+len("-----END"):]
	c := strings.Index(after, "-----")
	if c < 0 || c > 80 {
		return end
	}
	return k + 5 + e + len("-----END") + c + 5
}

// cardEnd returns the end of the payment card number at b[i], or 0: 13 to
// 19 digits, maybe in groups split by one ' ' or '-' ('+' in a form),
// not part of a longer number, with an issuer prefix and a length that
// issuer uses (Visa, Mastercard, American Express, Discover, JCB, Diners
// Club, UnionPay), that pass the Luhn check.
func cardEnd[S string | []byte](b S, i, end, mode int) int {
	var digits [19]byte
	n := 0
	t := i
	last := i
	for t < end {
		c := b[t]
		if isDigit(c) {
			if n == len(digits) {
				return 0
			}
			digits[n] = c - '0'
			n++
			t++
			last = t
			continue
		}
		if (c == ' ' || c == '-' || c == '+' && mode == modeForm) && t+1 < end && isDigit(b[t+1]) && t > i && isDigit(b[t-1]) {
			t++
			continue
		}
		break
	}
	if n < 13 || last < end && (isAlnum(b[last]) || b[last] == '.' && last+1 < end && isDigit(b[last+1])) {
		return 0
	}
	if !cardIssuer(digits[:n]) || !luhn(digits[:n]) {
		return 0
	}
	return last
}

// cardIssuer reports whether the digits d have an issuer prefix and a
// length that issuer uses.
func cardIssuer(d []byte) bool {
	n := len(d)
	p2 := int(d[0])*10 + int(d[1])
	p3 := p2*10 + int(d[2])
	p4 := p3*10 + int(d[3])
	switch {
	case d[0] == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case 51 <= p2 && p2 <= 55, 2221 <= p4 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p2 == 65, 644 <= p3 && p3 <= 649: // Discover
		return n >= 16
	case 3528 <= p4 && p4 <= 3589: // JCB
		return n >= 16
	case 300 <= p3 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return n >= 14
	case p2 == 62: // UnionPay
		return n >= 16
	}
	return false
}

// luhn reports whether the digits d pass the Luhn check.
func luhn(d []byte) bool {
	sum := 0
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k])
		if (len(d)-1-k)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
