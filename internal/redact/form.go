package redact

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/textproto"
	"strings"
)

// redactForm hides the values of sensitive parameters in a query string.
func (r *Options) redactForm(q string) ([]byte, int) { return redactPairs(r, q) }

// redactPairs hides the values of sensitive fields in a query string or
// form, as redactPairsIn does for one not known to belong to an OAuth
// callback or token endpoint.
func redactPairs[S string | []byte](r *Options, s S) ([]byte, int) {
	out, n, _ := redactPairsIn(r, s, false)
	return out, n
}

// redactPairs hides the values of sensitive fields in a query string or an
// application/x-www-form-urlencoded body, and returns the copy and how
// many values it replaced (nil, 0 if none). Pairs are split on '&' and
// also on ';', which some servers take as a separator too. A name is
// matched both as written and unescaped. Empty values stay empty.
//
// The OAuth parameters "code" and "state" are hidden too when s looks
// like an authorization response or a token request (oauthContext); oauth
// says the URL's path looks like a callback.
//
// The value detectors of r.Detect run on the values that are not hidden
// whole; found says which found secrets.
func redactPairsIn[S string | []byte](r *Options, s S, oauth bool) (out []byte, n int, found Detector) {
	var sp splicer
	var repl string
	det := r.Detect & AllDetectors
	oauth = hasOAuthCode(s) && (oauth || oauthContext(s))
	for pos := 0; pos < len(s); {
		// Find the end of the pair, its first '=', and whether the name
		// before it has escapes, in one pass.
		end, eq, esc := pos, -1, false
		for ; end < len(s); end++ {
			k := formByte[s[end]]
			if k == 0 {
				continue
			}
			if k == formSep {
				break
			}
			if eq < 0 {
				if k == formEq {
					eq = end
				} else {
					esc = true
				}
			}
		}
		if eq >= 0 && eq < end-1 && (formNameSensitive(r, s[pos:eq], esc) || oauth && oauthName(s[pos:eq])) {
			if repl == "" {
				repl = formRepl.of(r.replacement())
			}
			if string(s[eq+1:end]) != repl {
				splice(&sp, s, eq+1, end, repl)
			}
		} else if det != 0 && eq >= 0 && end-(eq+1) >= minSecret && mayHold(det, s, eq+1, end, modeForm, 0) != holdNone {
			for from := eq + 1; from < end; {
				f, t, w := find(det, s, from, end, modeForm)
				if w == 0 {
					break
				}
				if repl == "" {
					repl = formRepl.of(r.replacement())
				}
				splice(&sp, s, f, t, repl)
				found |= w
				from = t
			}
		}
		pos = end + 1
	}
	return spliced(&sp, s), sp.n, found
}

// hasOAuthCode reports whether the query string or form s has a "code"
// parameter with a value. It is a quick look, done before any other.
func hasOAuthCode[S string | []byte](s S) bool {
	for i := 0; i+5 <= len(s); i++ {
		if s[i] != 'c' && s[i] != 'C' || i > 0 && s[i-1] != '&' && s[i-1] != ';' && s[i-1] != '?' {
			continue
		}
		if equalFoldASCII(s[i:i+5], "code=") && i+5 < len(s) && s[i+5] != '&' && s[i+5] != ';' {
			return true
		}
	}
	return false
}

// oauthContext reports whether the query string or form s has one of the
// parameters that come with an OAuth authorization code: in the redirect
// back to the client (state, session_state, scope, iss) or in the token
// request that spends it (grant_type, redirect_uri, code_verifier,
// client_id).
func oauthContext[S string | []byte](s S) bool {
	for pos := 0; pos < len(s); {
		end := pos
		for end < len(s) && s[end] != '&' && s[end] != ';' {
			end++
		}
		eq := pos
		for eq < end && s[eq] != '=' {
			eq++
		}
		switch n := s[pos:eq]; {
		case equalFoldASCII(n, "state"), equalFoldASCII(n, "session_state"), equalFoldASCII(n, "scope"),
			equalFoldASCII(n, "iss"), equalFoldASCII(n, "grant_type"), equalFoldASCII(n, "redirect_uri"),
			equalFoldASCII(n, "code_verifier"), equalFoldASCII(n, "client_id"):
			return true
		}
		pos = end + 1
	}
	return false
}

// oauthPath reports whether a URL path looks like an OAuth callback or
// token endpoint, where a "code" parameter is an authorization code.
func oauthPath(p string) bool {
	for _, w := range [...]string{"callback", "oauth", "redirect", "authorize", "signin", "login", "token", "/auth", "sso"} {
		if containsFold(p, w) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains w (lower-case ASCII), ignoring
// ASCII case.
func containsFold[S string | []byte](s S, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if equalFoldASCII(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}

// formByte classes the bytes that redactPairs looks for.
var formByte = [256]uint8{'&': formSep, ';': formSep, '=': formEq, '%': formEsc, '+': formEsc}

const (
	formSep = 1 + iota // ends a pair
	formEq             // ends the name
	formEsc            // escapes in the name
)

// formNameSensitive reports whether the form field named name is
// sensitive, as written or, if it has escapes ('%' or '+'), unescaped.
func formNameSensitive[S string | []byte](r *Options, name S, esc bool) bool {
	if sensitiveField(r, name) {
		return true
	}
	if !esc {
		return false
	}
	var buf [64]byte // enough for most names; longer ones allocate
	u, ok := queryUnescape(buf[:0], name)
	return ok && sensitiveField(r, u)
}

// queryUnescape appends s to dst unescaped as url.QueryUnescape does it,
// and reports false where that would fail: for a '%' not followed by two
// hexadecimal digits.
func queryUnescape[S string | []byte](dst []byte, s S) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return nil, false
			}
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// formRepl caches the replacement escaped for forms and query strings.
var formRepl = encodedRepl{encode: formEscape}

// formEscape escapes s for a query string or form value, leaving the
// characters that need no escaping there as they are, so that the default
// replacement reads "[REDACTED]".
func formEscape(s string) string {
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

// redactMultipart hides the content of sensitive parts of a multipart body
// whose Content-Type is ct, and redacts inside the parts that hold JSON, a
// form, or multipart again. The body is split by hand, by the rules of
// mime/multipart (which is what a Go handler parses it with), so that
// everything not replaced (boundaries, part headers, preamble and
// epilogue) is kept byte for byte, and so that a body cut short is
// redacted as far as it goes: a part cut off by the end is replaced up to
// the end if its name is sensitive.
//
// A part is sensitive when the name in its Content-Disposition is. A part
// that cannot itself be made safe is replaced whole. A body whose boundary
// cannot be found is an error: it is withheld.
func (r *Options) redactMultipart(ct string, b []byte, depth int) ([]byte, int, error) {
	out, n, _, err := r.redactMultipartFound(ct, b, depth)
	return out, n, err
}

// redactMultipartFound is redactMultipart that also says which detectors
// found secrets.
func (r *Options) redactMultipartFound(ct string, b []byte, depth int) (_ []byte, _ int, found Detector, _ error) {
	_, params, err := mime.ParseMediaType(ct)
	boundary := params["boundary"]
	if err != nil || boundary == "" {
		return nil, 0, 0, errNoBoundary
	}
	delim := []byte("--" + boundary)
	// The first delimiter line may follow a preamble.
	p := -1
	for i := 0; i < len(b); {
		if isDelimiter(b[i:], delim) {
			p = i
			break
		}
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	if p < 0 {
		if len(b) < len(delim) && bytes.HasPrefix(delim, b) {
			return nil, 0, 0, nil // cut inside the first delimiter: nothing yet
		}
		return nil, 0, 0, errNoBoundary
	}
	// Like mime/multipart, take lines to end in "\n" alone if the first
	// delimiter line does, and in "\r\n" otherwise.
	nlDelim := append([]byte("\r\n"), delim...)
	if rest := bytes.TrimLeft(b[p+len(delim):], " \t"); len(rest) > 0 && rest[0] == '\n' {
		nlDelim = nlDelim[1:]
	}
	var sp splicer
	count := 0
	repl := r.replacement()
	for {
		q := p + len(delim)
		if bytes.HasPrefix(b[q:], []byte("--")) {
			break // the close delimiter: the epilogue is kept
		}
		nl := bytes.IndexByte(b[q:], '\n')
		if nl < 0 {
			break
		}
		h := q + nl + 1
		hend, c := partHeaderEnd(b, h)
		if c < 0 {
			break // cut inside the part's headers: no content yet
		}
		cend, next := len(b), -1
		if i := nextDelimiter(b, c, nlDelim); i >= 0 {
			cend, next = i, i+len(nlDelim)-len(delim)
		}
		if cend > c {
			name, hasName, ptype := partHeader(b[h:hend])
			content := b[c:cend]
			switch {
			case hasName && sensitiveField(r, name):
				if string(content) != repl {
					splice(&sp, b, c, cend, repl)
					count++
				}
			default:
				out, n, f, err := r.redactBody(ptype, content, depth+1)
				found |= f
				switch {
				case err != nil:
					splice(&sp, b, c, cend, repl)
					count++
				case n > 0:
					splice(&sp, b, c, cend, string(out))
					count += n
				}
			}
		}
		if next < 0 {
			break
		}
		p = next
	}
	return spliced(&sp, b), count, found, nil
}

// isDelimiter reports whether b starts with a delimiter line: delim
// followed by "--" (the close delimiter), or by blanks and a line end.
func isDelimiter(b, delim []byte) bool {
	if !bytes.HasPrefix(b, delim) {
		return false
	}
	rest := b[len(delim):]
	if bytes.HasPrefix(rest, []byte("--")) {
		return true
	}
	rest = bytes.TrimLeft(rest, " \t")
	return len(rest) == 0 || rest[0] == '\r' || rest[0] == '\n'
}

// nextDelimiter returns the index of the next nlDelim (a line end and the
// delimiter) at or after b[from] that mime/multipart takes for the end of
// a part: followed by a blank, a line end, "--" or the end of b. It
// returns -1 if there is none.
func nextDelimiter(b []byte, from int, nlDelim []byte) int {
	for i := from; i < len(b); {
		j := bytes.Index(b[i:], nlDelim)
		if j < 0 {
			return -1
		}
		i += j
		rest := b[i+len(nlDelim):]
		if len(rest) == 0 || strings.IndexByte(" \t\r\n", rest[0]) >= 0 || bytes.HasPrefix(rest, []byte("--")) {
			return i
		}
		i++
	}
	return -1
}

// partHeaderEnd finds the end of the header block of a part that starts at
// b[h]: the index of the blank line that ends it, and of the content after
// that line (-1, -1 if the block is cut off). Lines may end in "\r\n" or
// "\n", as net/textproto allows.
func partHeaderEnd(b []byte, h int) (hend, content int) {
	for i := h; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		if j == 0 || j == 1 && b[i] == '\r' {
			return i, i + j + 1
		}
		i += j + 1
	}
	return -1, -1
}

// partHeader returns the field name from a part's Content-Disposition, if
// it has one, and its Content-Type, reading the header block hdr as
// mime/multipart does. A block that does not parse is matched whole as if
// it were the name, to err on the side of hiding.
func partHeader(hdr []byte) (name string, hasName bool, ctype string) {
	tr := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(hdr), strings.NewReader("\r\n"))))
	h, err := tr.ReadMIMEHeader()
	if err != nil {
		return string(hdr), true, ""
	}
	ctype = h.Get("Content-Type")
	disp := h.Get("Content-Disposition")
	if disp == "" {
		return "", false, ctype
	}
	if _, params, err := mime.ParseMediaType(disp); err == nil {
		name, hasName = params["name"]
		return name, hasName, ctype
	}
	// A malformed disposition: the same.
	return disp, true, ctype
}
