package web

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
)

// curlSkip are request headers that curl sets by itself from the command,
// or that describe the connection rather than the request.
var curlSkip = map[string]bool{
	"Content-Length":    true,
	"Connection":        true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Transfer-Encoding": true,
	"Te":                true,
	"Upgrade":           true,
}

// curlCommand returns a curl command line that repeats the request, every
// argument quoted for a POSIX shell, and a note on what it cannot repeat
// ("" if nothing).
func curlCommand(x *bodytap.Exchange) (cmd, note string) {
	var b strings.Builder
	var notes []string
	b.WriteString("curl")
	r := &x.Request
	switch r.Method {
	case "", http.MethodGet:
	case http.MethodHead:
		b.WriteString(" --head")
	default:
		b.WriteString(" -X " + shellQuote(r.Method))
	}
	u := ""
	if r.URL != nil {
		u = r.URL.String()
	}
	b.WriteString(" " + shellQuote(u))
	urlHost := ""
	if r.URL != nil {
		urlHost = r.URL.Host
	}
	body := r.Body.Bytes
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		if curlSkip[http.CanonicalHeaderKey(name)] {
			continue
		}
		if strings.EqualFold(name, "Host") && (r.Host == "" || r.Host == urlHost) {
			continue
		}
		// The Tap undid the coding in its copy: send the copy as is.
		if strings.EqualFold(name, "Content-Encoding") && r.Body.Decoded != "" {
			continue
		}
		for _, v := range r.Header[name] {
			b.WriteString(" \\\n  -H " + shellQuote(name+": "+v))
		}
	}
	if r.Host != "" && r.Host != urlHost && r.Header.Get("Host") == "" {
		b.WriteString(" \\\n  -H " + shellQuote("Host: "+r.Host))
	}
	if len(body) > 0 {
		if utf8.Valid(body) && !bytes.ContainsRune(body, 0) {
			b.WriteString(" \\\n  --data-binary " + shellQuote(string(body)))
		} else {
			b.WriteString(" \\\n  --data-binary @request-body.bin")
			notes = append(notes, "the request body is binary: download it as request-body.bin")
		}
	}
	switch {
	case r.Body.Withheld:
		notes = append(notes, "the request body was withheld and is missing")
	case r.Body.Truncated:
		notes = append(notes, "the request body was truncated: only its first part is sent")
	case !r.Body.EOF && r.Body.Size > 0:
		notes = append(notes, "the handler did not read the whole request body: only what it read is sent")
	case len(body) == 0 && r.Body.Size > 0:
		notes = append(notes, "the request body was not captured")
	}
	if r.Body.Redacted {
		notes = append(notes, "the request body was redacted")
	}
	return b.String(), strings.Join(notes, "; ")
}

// shellQuote quotes s as one word for a POSIX shell: in single quotes,
// inside which nothing is special; a single quote in s closes the quotes,
// is written escaped with a backslash, and opens them again.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=,@%+", c))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
