package jsonl

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/bodytap/bodytap"
)

// isTextBody is bodytap's own rule (slog.go uses it too), kept here
// until the two share one media-type table.
//
// isTextBody reports whether b, a body sent with header h, reads as text
// rather than binary; p is the part of its copy to judge (all of it, or
// the part a log shows). A textual Content-Type decides yes; a body still
// in a content coding, or with a specific non-text type, is binary; a body
// with no or a generic type is text when p is UTF-8 (a character cut off
// at its end aside) that http.DetectContentType takes for text and that
// has no control bytes that only binary data holds. The caller checks
// UTF-8 validity where it needs all of p to be valid.
func isTextBody(h http.Header, b *bodytap.Body, p []byte) bool {
	if b.Decoded == "" {
		for _, ce := range h.Values("Content-Encoding") {
			for c := range strings.SplitSeq(ce, ",") {
				if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
					return false
				}
			}
		}
	}
	mt, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case strings.HasPrefix(mt, "text/"), textTypes[mt],
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"), strings.HasSuffix(mt, "+yaml"):
		return true
	case !genericTypes[mt] && !strings.HasPrefix(mt, "multipart/"):
		return false
	}
	if len(p) == 0 {
		return true
	}
	if !strings.HasPrefix(http.DetectContentType(p), "text/") {
		return false
	}
	for _, c := range p {
		if c <= 0x08 || c == 0x0B || (0x0E <= c && c <= 0x1A) || (0x1C <= c && c <= 0x1F) {
			return false
		}
	}
	return utf8.Valid(trimCutRune(p))
}

// trimCutRune returns p without the first bytes of a multi-byte character
// that p ends in the middle of, as a capture cut at its cap may.
func trimCutRune(p []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(p); i++ {
		c := p[len(p)-i]
		if c < utf8.RuneSelf {
			return p
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(p[len(p)-i:]) {
				return p[:len(p)-i]
			}
			return p
		}
	}
	return p
}

// textTypes are the media types, outside text/* and the +json, +xml and
// +yaml suffixes, whose bodies are text.
var textTypes = map[string]bool{
	"application/json":                  true,
	"application/x-ndjson":              true,
	"application/ndjson":                true,
	"application/jsonl":                 true,
	"application/xml":                   true,
	"application/javascript":            true,
	"application/x-javascript":          true,
	"application/ecmascript":            true,
	"application/x-www-form-urlencoded": true,
	"application/graphql":               true,
	"application/yaml":                  true,
	"application/x-yaml":                true,
	"application/toml":                  true,
	"application/sql":                   true,
	"application/csv":                   true,
}

// genericTypes say nothing about the body, so the body itself is judged.
var genericTypes = map[string]bool{
	"":                         true,
	"*/*":                      true,
	"application/octet-stream": true,
	"binary/octet-stream":      true,
	"application/unknown":      true,
	"application/x-unknown":    true,
	"unknown/unknown":          true,
}
