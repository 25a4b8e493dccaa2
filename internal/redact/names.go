package redact

// Which names are sensitive. A name (a header name, a query or form
// field, a multipart field, a JSON key) is sensitive by three kinds of
// rule, each matched without regard to ASCII case:
//
//   - words it contains (fieldWords), after '-' and '_' are dropped:
//     "password" in "user_password" and "PASSWORD_HASH";
//   - names it is (fieldNames), after '-' and '_' are dropped: "cvv",
//     "card_number";
//   - words it is made of (segmentWords, segmentPairs): the name split
//     into words at anything that is not a letter or digit, at a change
//     from lower to upper case ("userPin": "user", "pin"), before the
//     last capital of a run of capitals that a lower-case letter follows
//     ("JWTToken": "jwt", "token") and between letters and digits. Short
//     words are matched this way, so that "pin" is found in "user_pin"
//     and "pinCode", and not in "pinned" or "shipping"; "auth" in
//     "auth_header" and not in "author"; "pass" in "pass" and "USER_PASS",
//     not in "passenger" or "passport".
//
// The lists are a superset, word for word, of the default denylists of
// the error trackers most used, read as words rather than as substrings
// where a substring would hide plain data:
//
//   - sentry-python's DEFAULT_DENYLIST (sentry_sdk/scrubber.py): password,
//     passwd, secret, api_key, apikey, auth, credentials, mysql_pwd,
//     privatekey, private_key, token, session, csrftoken, sessionid,
//     x_csrftoken, x_forwarded_for, set_cookie, cookie, authorization,
//     x_api_key, aiohttp_session, connect.sid, csrf_token, csrf, _csrf,
//     _csrf_token, PHPSESSID, _session, symfony, user_session, _xsrf,
//     XSRF-TOKEN;
//   - the Datadog tracers' default query-string obfuscation pattern
//     (DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP) and AppSec key pattern:
//     pwd, password, pass, passphrase, secret, api_key, private_key,
//     public_key, access_key, secret_key, *key_id, token,
//     consumer_id/key/secret, sign, signed, signature, auth,
//     authentication, authorization, bearer, jsessionid, phpsessid,
//     asp.net_sessionid, sid, jwt;
//   - the Elastic APM agents' sanitize_field_names default: password,
//     passwd, pwd, secret, *key, *token*, *session*, *credit*, *card*,
//     *auth*, set-cookie (the Node.js agent adds pw, pass, connect.sid).
//
// Where those lists use substrings or globs that match plain words
// (Datadog's "pass" and "sign" match "passenger" and "design"; Elastic's
// "*auth*", "*card*", "*credit*" and "*key" match "author",
// "cardinality", "credit_limit" and "primary_key"), the words are matched
// as words here, and "*key" is read as a key qualified by what it opens
// (api, access, secret, private, signing, ...). Elastic's Java agent also
// lists "*principal*"; that is left out, as "principal" is at least as
// often an amount of money as an identity.

// headerWords are the words that make a header name sensitive, compared
// after lower-casing it and dropping '-' and '_'. Header names are also
// matched by the field rules (sensitiveName).
var headerWords = [...]string{"authorization", "token", "secret", "apikey", "password", "passwd", "session", "credential", "privatekey"}

// fieldWords are the words that make a field name sensitive wherever they
// are in it, compared as headerWords are. foldedName.sensitive spells
// them out for speed; keep the two in step (TestSensitiveFieldWords checks
// that they are).
var fieldWords = [...]string{
	"password", "passwd", "secret", "token", "apikey", "authorization", "credential", "privatekey",
	"session", "sessid", "csrf", "xsrf", "passphrase", "passcode", "signature",
	"accesskey", "signingkey", "encryptionkey", "consumerkey", "masterkey",
}

// fieldNames are the field names that are sensitive whole, compared as
// headerWords are, and spelled out in foldedName.sensitive too.
var fieldNames = [...]string{
	"cvv", "ssn", "cardnumber", "creditcard",
	"cvc", "cvv2", "cvc2", "card", "cardno", "cardnum", "ccnumber", "ccnum",
	"sign", "signed", "cookie", "cookies", "setcookie", "xforwardedfor", "symfony", "socialsecuritynumber",
}

// segmentWords are the words that make a name sensitive when the name is
// made of them (see above), in lower case. segmentWord spells them out.
var segmentWords = [...]string{
	"pwd", "pw", "pass", "pin", "otp", "totp", "hotp", "auth", "oauth", "authn", "authz", "authentication",
	"jwt", "sid", "sig", "bearer", "phpsessid", "jsessionid", "cvv", "cvc", "cvv2", "cvc2",
}

// segmentPairs are the pairs of consecutive words that make a name
// sensitive, and keyQualifiers the words that make "key" after them
// sensitive. segmentPair spells them out.
var segmentPairs = [...][2]string{
	{"credit", "card"}, {"card", "number"}, {"card", "no"}, {"card", "num"}, {"cc", "number"}, {"cc", "num"},
	{"security", "code"}, {"verification", "code"}, {"mfa", "code"}, {"sms", "code"}, {"recovery", "code"},
	{"recovery", "codes"}, {"backup", "code"}, {"backup", "codes"}, {"reset", "code"}, {"consumer", "id"},
	{"social", "security"},
}

var keyQualifiers = [...]string{
	"api", "access", "secret", "private", "signing", "sign", "encryption", "encrypt", "decryption", "client",
	"master", "consumer", "ssh", "hmac", "shared", "app", "public", "session", "webhook", "license",
	"account", "aws", "gpg", "pgp", "rsa", "aes", "jwt", "root", "admin", "service", "deploy", "ingest",
	"write", "read", "secure", "crypto", "storage", "role", "subscription", "auth", "live", "test", "functions",
}

// segmentWord reports whether w is one of segmentWords.
func segmentWord(w []byte) bool {
	switch string(w) {
	case "pwd", "pw", "pass", "pin", "otp", "totp", "hotp", "auth", "oauth", "authn", "authz", "authentication",
		"jwt", "sid", "sig", "bearer", "phpsessid", "jsessionid", "cvv", "cvc", "cvv2", "cvc2":
		return true
	}
	return false
}

// segmentPair reports whether w after prev is one of segmentPairs, or
// "key" after one of keyQualifiers.
func segmentPair(prev, w []byte) bool {
	switch string(w) {
	case "key":
		switch string(prev) {
		case "api", "access", "secret", "private", "signing", "sign", "encryption", "encrypt", "decryption", "client",
			"master", "consumer", "ssh", "hmac", "shared", "app", "public", "session", "webhook", "license",
			"account", "aws", "gpg", "pgp", "rsa", "aes", "jwt", "root", "admin", "service", "deploy", "ingest",
			"write", "read", "secure", "crypto", "storage", "role", "subscription", "auth", "live", "test", "functions":
			return true
		}
	case "card":
		return string(prev) == "credit"
	case "number", "num":
		return string(prev) == "card" || string(prev) == "cc"
	case "no":
		return string(prev) == "card"
	case "code":
		switch string(prev) {
		case "security", "verification", "mfa", "sms", "recovery", "backup", "reset":
			return true
		}
	case "codes":
		return string(prev) == "recovery" || string(prev) == "backup"
	case "id":
		return string(prev) == "consumer"
	case "security":
		return string(prev) == "social"
	}
	return false
}

// sensitiveHeader reports whether the built-in rules hide the values of
// the header named k (Cookie and Set-Cookie aside, which are hidden
// cookie by cookie).
func sensitiveHeader(k string) bool {
	for _, w := range headerWords {
		if containsWord(k, w) {
			return true
		}
	}
	return sensitiveName(k)
}

// listedHeader reports whether k is one of Options.Headers.
func (r *Options) listedHeader(k string) bool {
	for _, h := range r.Headers {
		if equalFoldASCII(k, h) {
			return true
		}
	}
	return false
}

// sensitiveField reports whether the query parameter, form field or JSON
// key named name has its value hidden.
func sensitiveField[S string | []byte](r *Options, name S) bool {
	return sensitiveName(name) || isField(r, name)
}

// sensitiveName reports whether name is sensitive by the built-in rules.
// The answer depends on name alone, not on the Options.
func sensitiveName[S string | []byte](name S) bool {
	var f foldedName
	f.n = foldName(&f.b, name)
	if f.n <= len(f.b) {
		if f.sensitive() {
			return true
		}
		if !f.segmentHint() {
			return false
		}
	} else if sensitiveWords(name) {
		return true
	}
	return sensitiveSegments(name)
}

// segmentHint reports whether the folded name, which must fit in f.b, has
// in it a word that sensitiveSegments may find: the words of segmentWords
// and the first words of segmentPairs (as "cc", "mfa", ...; "key" for the
// key qualifiers). Most names have none, and need no splitting.
func (f *foldedName) segmentHint() bool {
	s := f.b[:f.n]
	for i := 0; i+2 <= len(s); i++ {
		t := s[i:]
		switch t[0] {
		case 'p':
			if t[1] == 'w' || hasWord(t, "pass") || hasWord(t, "pin") || hasWord(t, "phpsessid") {
				return true
			}
		case 'o':
			if hasWord(t, "otp") {
				return true
			}
		case 'a':
			if hasWord(t, "auth") {
				return true
			}
		case 'j':
			if hasWord(t, "jwt") || hasWord(t, "jsessionid") {
				return true
			}
		case 's':
			if hasWord(t, "sid") || hasWord(t, "sig") || hasWord(t, "security") || hasWord(t, "sms") || hasWord(t, "social") {
				return true
			}
		case 'b':
			if hasWord(t, "bearer") || hasWord(t, "backup") {
				return true
			}
		case 'c':
			if t[1] == 'v' || t[1] == 'c' || hasWord(t, "credit") || hasWord(t, "card") || hasWord(t, "consumer") {
				return true
			}
		case 'k':
			if hasWord(t, "key") {
				return true
			}
		case 'm':
			if hasWord(t, "mfa") {
				return true
			}
		case 'r':
			if hasWord(t, "recovery") || hasWord(t, "reset") {
				return true
			}
		case 'v':
			if hasWord(t, "verification") {
				return true
			}
		case 't', 'h':
			if hasWord(t[1:], "otp") {
				return true
			}
		}
	}
	return false
}

// isField reports whether name is one of r.Fields, ignoring case.
func isField[S string | []byte](r *Options, name S) bool {
	for _, f := range r.Fields {
		if equalFoldASCII(name, f) {
			return true
		}
	}
	return false
}

// sensitiveWords reports whether name contains one of fieldWords or is
// one of fieldNames, as sensitiveField matches them. It is the general
// form of foldedName.sensitive, for names too long to fold.
func sensitiveWords[S string | []byte](name S) bool {
	for _, w := range fieldWords {
		if containsWord(name, w) {
			return true
		}
	}
	for _, w := range fieldNames {
		if isWord(name, w) {
			return true
		}
	}
	return false
}

// maxSegment is the longest word of a name that sensitiveSegments looks
// up; no listed word is longer.
const maxSegment = 16

// sensitiveSegments reports whether name is made of a word of
// segmentWords, a pair of segmentPairs, or "key" after a word of
// keyQualifiers.
func sensitiveSegments[S string | []byte](name S) bool {
	var prevBuf, curBuf [maxSegment]byte
	prev, cur := prevBuf[:0], curBuf[:0]
	long := false // the current word is longer than maxSegment
	prevOK := false
	for i := 0; i <= len(name); i++ {
		boundary, keep := true, false
		var c byte
		if i < len(name) {
			c = name[i]
			keep = isAlnum(c) || c >= 0x80
			if keep && (len(cur) > 0 || long) {
				p := name[i-1]
				boundary = isLower(p) && isUpper(c) ||
					isUpper(p) && isUpper(c) && i+1 < len(name) && isLower(name[i+1]) ||
					isDigit(p) != isDigit(c) && p < 0x80 && c < 0x80
			}
		}
		if boundary && (len(cur) > 0 || long) {
			if !long {
				if segmentWord(cur) || prevOK && segmentPair(prev, cur) {
					return true
				}
				prev = append(prev[:0], cur...)
			}
			prevOK = !long
			cur, long = cur[:0], false
		}
		if !keep {
			continue
		}
		if len(cur) == maxSegment {
			long = true
			continue
		}
		if !long {
			cur = append(cur, lowerASCII(c))
		}
	}
	return false
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) }

// maxFolded is the longest folded name that a foldedName holds. Longer
// names, which are rare, are matched by sensitiveWords instead.
const maxFolded = 64

// A foldedName is a field name in the form that the sensitive words are
// matched against: ASCII letters in lower case, '-' and '_' left out.
// Folding a name once and matching the words against the result is much
// cheaper than matching each word against the name as written.
type foldedName struct {
	b [maxFolded]byte
	n int // the length of the folded name; more than len(b) if it did not fit
}

// nameFold maps each byte of a name to its folded form: an ASCII letter to
// its lower case, '-' and '_' to 0 (left out), NUL to 0x80 (so that 0 can
// mean left out: neither matches a letter) and every other byte to itself.
var nameFold = func() (t [256]byte) {
	for c := range t {
		t[c] = lowerASCII(byte(c))
	}
	t['-'], t['_'], t[0] = 0, 0, 0x80
	return t
}()

// foldName folds name into b and returns the length of the folded name,
// which is more than len(b) if it did not fit; b then holds its start.
func foldName[S string | []byte](b *[maxFolded]byte, name S) int {
	n := 0
	for i := 0; i < len(name); i++ {
		if c := nameFold[name[i]]; c != 0 {
			if n < len(b) {
				b[n] = c
			}
			n++
		}
	}
	return n
}

// sensitive reports whether the folded name, which must fit in f.b,
// contains one of fieldWords or is one of fieldNames.
func (f *foldedName) sensitive() bool {
	s := f.b[:f.n]
	switch string(s) {
	case "cvv", "ssn", "cardnumber", "creditcard",
		"cvc", "cvv2", "cvc2", "card", "cardno", "cardnum", "ccnumber", "ccnum",
		"sign", "signed", "cookie", "cookies", "setcookie", "xforwardedfor", "symfony", "socialsecuritynumber":
		return true
	}
	// Every word is at least 4 letters long, and starts with one of few
	// letters: most places need only a look in wordStart.
	for i := 0; i+4 <= len(s); i++ {
		if !wordStart[s[i]] {
			continue
		}
		t := s[i:]
		switch t[0] {
		case 'p':
			if hasWord(t, "pass") {
				u := t[4:]
				if hasWord(u, "word") || hasWord(u, "wd") || hasWord(u, "phrase") || hasWord(u, "code") {
					return true
				}
			}
			if hasWord(t, "privatekey") {
				return true
			}
		case 's':
			if hasWord(t, "secret") || hasWord(t, "session") || hasWord(t, "sessid") || hasWord(t, "signature") || hasWord(t, "signingkey") {
				return true
			}
		case 't':
			if hasWord(t, "token") {
				return true
			}
		case 'a':
			if hasWord(t, "apikey") || hasWord(t, "authorization") || hasWord(t, "accesskey") {
				return true
			}
		case 'c':
			if hasWord(t, "credential") || hasWord(t, "csrf") || hasWord(t, "consumerkey") {
				return true
			}
		case 'x':
			if hasWord(t, "xsrf") {
				return true
			}
		case 'e':
			if hasWord(t, "encryptionkey") {
				return true
			}
		case 'm':
			if hasWord(t, "masterkey") {
				return true
			}
		}
	}
	return false
}

// wordStart marks the letters that words of fieldWords start with.
var wordStart = [256]bool{'p': true, 's': true, 't': true, 'a': true, 'c': true, 'x': true, 'e': true, 'm': true}

// hasWord reports whether s starts with w.
func hasWord(s []byte, w string) bool {
	return len(s) >= len(w) && string(s[:len(w)]) == w
}

// lowerASCII lower-cases an ASCII letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ignorable are the bytes that name matching skips, so that api_key,
// api-key and apiKey are all "apikey".
func ignorable(c byte) bool { return c == '-' || c == '_' }

// containsWord reports whether s contains word (lower-case ASCII), ignoring
// ASCII case and the bytes '-' and '_' in s.
func containsWord[S string | []byte](s S, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if ignorable(s[i]) || lowerASCII(s[i]) != word[0] {
			continue
		}
		if _, ok := matchWord(s[i:], word); ok {
			return true
		}
	}
	return false
}

// matchWord matches word against the start of s, ignoring ASCII case and
// the bytes '-' and '_' of s, and returns the bytes of s consumed.
func matchWord[S string | []byte](s S, word string) (int, bool) {
	j := 0
	for k := 0; k < len(word); {
		if j >= len(s) {
			return j, false
		}
		c := s[j]
		j++
		if ignorable(c) {
			continue
		}
		if lowerASCII(c) != word[k] {
			return j, false
		}
		k++
	}
	return j, true
}

// isWord reports whether s is word, ignoring as containsWord does.
func isWord[S string | []byte](s S, word string) bool {
	j, ok := matchWord(s, word)
	if !ok {
		return false
	}
	for ; j < len(s); j++ {
		if !ignorable(s[j]) {
			return false
		}
	}
	return true
}

// oauthName reports whether name is "code" or "state" (ignoring case),
// the parameters of an OAuth authorization response, which are hidden in
// query strings and forms that look like one (see oauthContext).
func oauthName[S string | []byte](name S) bool {
	return equalFoldASCII(name, "code") || equalFoldASCII(name, "state")
}
