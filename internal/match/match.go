// Package match holds the pattern matching of bodytap's capture rules: lists,
// media types, status classes and ranges, path and host globs.
package match

import (
	"mime"
	"path"
	"strconv"
	"strings"
)

// List reports whether f holds for any element of the comma-separated
// list.
func List(list string, f func(string) bool) bool {
	for item := range strings.SplitSeq(list, ",") {
		if item = strings.TrimSpace(item); item != "" && f(item) {
			return true
		}
	}
	return false
}

// MediaType reports whether contentType's media type matches any of the
// comma-separated patterns: a media type, "type/*", or "*" (and "*/*").
// Parameters and case are ignored.
func MediaType(patterns, contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	return List(patterns, func(p string) bool {
		p = strings.ToLower(p)
		if typ, ok := strings.CutSuffix(p, "/*"); ok {
			return strings.HasPrefix(mt, typ+"/")
		}
		return p == mt || (p == "*" || p == "*/*")
	})
}

// Status reports whether status matches p: a code, a class ("5xx") or a
// range ("400-499").
func Status(p string, status int) bool {
	p = strings.ToLower(p)
	if len(p) == 3 && strings.HasSuffix(p, "xx") && p[0] >= '1' && p[0] <= '5' {
		return status/100 == int(p[0]-'0')
	}
	if lo, hi, ok := strings.Cut(p, "-"); ok {
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		return err1 == nil && err2 == nil && status >= l && status <= h
	}
	n, err := strconv.Atoi(p)
	return err == nil && n == status
}

// Path matches a URL path p against a glob: "*" matches within one
// segment, "**" across segments, ServeMux-style wildcards work too ("{id}"
// for one segment, "{rest...}" for the rest), and a pattern ending in "/"
// matches everything under it.
func Path(pattern, p string) bool {
	if strings.HasSuffix(pattern, "/") {
		pattern += "**"
	}
	return segments(strings.Split(pattern, "/"), strings.Split(p, "/"))
}

func segments(pat, segs []string) bool {
	for len(pat) > 0 {
		ps := pat[0]
		if ps == "**" || (strings.HasPrefix(ps, "{") && strings.HasSuffix(ps, "...}")) {
			rest := pat[1:]
			for i := 0; i <= len(segs); i++ {
				if segments(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if strings.HasPrefix(ps, "{") && strings.HasSuffix(ps, "}") {
			ps = "*"
		}
		if ok, _ := path.Match(ps, segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// Host reports whether host (a Host header, with or without a port)
// matches the glob pattern ("*.example.com"), ignoring case.
func Host(pattern, host string) bool {
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.Contains(h, "]") && h != "" {
		host = h
	}
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(host))
	return ok
}
