// Package media answers the questions every reader of a captured body
// asks of its Content-Type: what media type it is, whether the body is
// JSON, and whether it is text worth printing. It is the one table of
// media types that redaction, the viewer, the CLI and the sinks share.
package media

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// Parse returns the lower-cased media type and charset label of a
// Content-Type value. It is lenient, as a capture may hold any header:
// anything before the first ';' is the type.
func Parse(ct string) (mediaType, charset string) {
	mt, params, _ := strings.Cut(ct, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mt))
	for params != "" {
		var param string
		param, params, _ = strings.Cut(params, ";")
		key, value, ok := strings.Cut(param, "=")
		if ok && strings.EqualFold(strings.TrimSpace(key), "charset") {
			value = strings.Trim(strings.TrimSpace(value), `"'`)
			return mediaType, strings.ToLower(strings.TrimSpace(value))
		}
	}
	return mediaType, ""
}

// Type returns the lower-cased media type of a Content-Type value,
// without parameters and blanks. It allocates only when the value has
// upper-case letters.
func Type(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// jsonTypes are the media types of JSON and of streams of JSON values.
var jsonTypes = map[string]bool{
	"application/json":        true,
	"text/json":               true,
	"application/x-json":      true,
	"application/x-ndjson":    true,
	"application/ndjson":      true,
	"application/jsonl":       true,
	"application/x-jsonlines": true,
	"application/jsonlines":   true,
	"application/json-seq":    true,
}

// IsJSONType reports whether the media type mt (lower case, as [Type]
// returns it) is JSON, a stream of JSON values, or has the +json suffix.
func IsJSONType(mt string) bool {
	return jsonTypes[mt] || len(mt) > len("+json") && strings.HasSuffix(mt, "+json")
}

// sniffJSON are the media types under which a body that looks like JSON
// is taken for JSON: types that say nothing (see genericTypes), plain
// text, JavaScript (JSON is JavaScript, and old APIs label it so), and
// forms, as clients that send JSON labelled as a form are common enough.
var sniffJSON = map[string]bool{
	"text/plain":                        true,
	"text/javascript":                   true,
	"application/javascript":            true,
	"application/x-javascript":          true,
	"application/x-www-form-urlencoded": true,
}

// IsJSON is the one answer to "is this body JSON?": yes when its
// Content-Type is a JSON type ([IsJSONType]), or when the type is
// missing, generic, plain text, JavaScript or a form and the body looks
// like JSON ([LooksLikeJSON]). It does not check that the body is valid
// JSON: a capture cut at its cap is not, and is JSON all the same (a
// viewer that parses it falls back to text when it cannot).
func IsJSON(ct string, body []byte) bool {
	if ct == "application/json" || strings.HasPrefix(ct, "application/json;") {
		// The common answer, without lower-casing a copy of the type.
		return true
	}
	mt := Type(ct)
	return IsJSONType(mt) || (sniffJSON[mt] || genericTypes[mt]) && LooksLikeJSON(body)
}

// LooksLikeJSON reports whether b starts, after JSON blanks, with '{' or
// '['.
func LooksLikeJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// textTypes are the media types, outside text/* and the JSON types, whose
// bodies are text.
var textTypes = map[string]bool{
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
	"application/x-sh":                  true,
	"application/jwt":                   true,
}

// genericTypes say nothing about the body, so the body is sniffed.
var genericTypes = map[string]bool{
	"":                         true,
	"*/*":                      true,
	"application/octet-stream": true,
	"binary/octet-stream":      true,
	"application/unknown":      true,
	"application/x-unknown":    true,
	"unknown/unknown":          true,
}

// IsTextType reports whether bodies of the media type mt (lower case) are
// text: text/*, JSON, XML, JavaScript, YAML, form data and the +json,
// +xml and +yaml suffixes.
func IsTextType(mt string) bool {
	return strings.HasPrefix(mt, "text/") || textTypes[mt] || IsJSONType(mt) ||
		strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "+yaml")
}

// IsGeneric reports whether the media type mt (lower case) says nothing
// about the body: none, */*, application/octet-stream and the like.
func IsGeneric(mt string) bool { return genericTypes[mt] }

// IsText reports whether a body of the given Content-Type is text that a
// sink may print rather than encode (as base64, say).
//
// A declared type decides ([IsTextType]); other specific types
// (image/png, application/pdf, …) are not text. When the type is missing
// or generic, body decides: it is text when [http.DetectContentType]
// finds no binary signature and body is valid UTF-8 (or starts with a
// UTF-16 byte order mark) without the control bytes that only binary data
// holds. A multi-byte character cut off at the very end of body, as a
// capture truncated at its cap may be, does not count against it.
func IsText(ct string, body []byte) bool {
	mt, _ := Parse(ct)
	if IsTextType(mt) {
		return true
	}
	if !genericTypes[mt] {
		return false
	}
	if len(body) == 0 {
		return true
	}
	sniffed, charset := Parse(http.DetectContentType(body))
	if !strings.HasPrefix(sniffed, "text/") {
		return false
	}
	if charset == "utf-16le" || charset == "utf-16be" {
		return true // a byte order mark
	}
	return utf8.Valid(TrimCutRune(body)) && !HasBinaryBytes(body)
}

// HasBinaryBytes reports whether b holds a control byte that text does
// not: the set http.DetectContentType calls binary, checked over all of b
// rather than its first 512 bytes.
func HasBinaryBytes(b []byte) bool {
	for _, c := range b {
		if c <= 0x08 || c == 0x0B || (0x0E <= c && c <= 0x1A) || (0x1C <= c && c <= 0x1F) {
			return true
		}
	}
	return false
}

// TrimCutRune returns b without the valid but unfinished UTF-8 sequence
// that ends it, if any: the character a cut at a byte count split.
func TrimCutRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return b
			}
			return b[:i]
		}
	}
	return b
}

// IsTextBody reports whether p, a body's copy or the part of it a sink
// shows, reads as text rather than binary, for a body sent with header h;
// decoded says its content codings were undone. It is the rule of the
// JSON form and the log sinks, stricter than [IsText]: a body still in a
// content coding is binary; a textual Content-Type is text; another
// specific type is binary; with no or a generic type (or multipart), p
// decides, and must be UTF-8 (a character cut off at its end aside) that
// http.DetectContentType takes for text, with none of the control bytes
// that only binary data holds (so UTF-16 is binary here).
func IsTextBody(h http.Header, decoded bool, p []byte) bool {
	if !decoded {
		for _, ce := range h.Values("Content-Encoding") {
			for c := range strings.SplitSeq(ce, ",") {
				if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
					return false
				}
			}
		}
	}
	mt := Type(h.Get("Content-Type"))
	switch {
	case IsTextType(mt):
		return true
	case !genericTypes[mt] && !strings.HasPrefix(mt, "multipart/"):
		return false
	}
	return len(p) == 0 || strings.HasPrefix(http.DetectContentType(p), "text/") &&
		!HasBinaryBytes(p) && utf8.Valid(TrimCutRune(p))
}
