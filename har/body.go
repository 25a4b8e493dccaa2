package har

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/bodytap/bodytap/decode"
)

// maxDecoded bounds how many bytes undoing a Content-Encoding may produce
// for one body, so that a compression bomb cannot blow up an export.
const maxDecoded = decode.DefaultLimit

// contentEncoding returns the codings of a Content-Encoding header other
// than identity, comma-separated, or "" if there are none.
func contentEncoding(h []NameValue) string {
	var out []string
	for _, nv := range h {
		if !strings.EqualFold(nv.Name, "Content-Encoding") {
			continue
		}
		for c := range strings.SplitSeq(nv.Value, ",") {
			c = strings.TrimSpace(c)
			if c != "" && !strings.EqualFold(c, "identity") {
				out = append(out, c)
			}
		}
	}
	return strings.Join(out, ", ")
}

// headerValue returns the first value of the header name in h, matched
// without regard to case.
func headerValue(h []NameValue, name string) (string, bool) {
	for _, nv := range h {
		if strings.EqualFold(nv.Name, name) {
			return nv.Value, true
		}
	}
	return "", false
}

// exactText returns how b goes into a HAR text field so that the bytes
// can be had back: as the string itself when it is valid UTF-8, else in
// base64 (with enc "base64").
func exactText(b []byte) (text, enc string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

// contentText returns how a response body of type contentType goes into
// content.text: text converted to UTF-8 from its charset, or base64 (with
// enc "base64") for binary or undecodable bodies. prefix says b is only the
// first part of the body, which may end inside a character. exact reports
// whether text holds the bytes of b themselves.
func contentText(b []byte, contentType string, prefix bool) (text, enc string, exact bool) {
	if len(b) == 0 {
		return "", "", true
	}
	if decode.IsText(contentType, b) {
		toUTF8 := decode.ToUTF8
		if prefix {
			toUTF8 = decode.ToUTF8Prefix
		}
		if s, ok := toUTF8(contentType, b); ok {
			return s, "", s == string(b)
		}
	}
	return base64.StdEncoding.EncodeToString(b), "base64", true
}

// bytesOf is the inverse of textOf for an exact text.
func bytesOf(text, enc, field string) ([]byte, error) {
	switch strings.ToLower(enc) {
	case "":
		return []byte(text), nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			// Some tools leave the padding out.
			if b2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "=")); err2 == nil {
				return b2, nil
			}
			return nil, fmt.Errorf("%s: bad base64: %v", field, err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%s: unknown encoding %q", field, enc)
	}
}

// sniff returns the Content-Type net/http would have sent for body when
// the handler set none.
func sniff(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	return http.DetectContentType(body)
}
