package decode

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/bodytap/bodytap/internal/media"
)

// IsText reports whether a body of the given Content-Type is text that a
// sink may print rather than encode (as base64, say).
//
// A declared type decides: text/*, JSON, XML, JavaScript, YAML, form data
// and the +json, +xml and +yaml structured suffixes are text; other specific
// types (image/png, application/pdf, …) are not. When the type is missing or
// generic (application/octet-stream and the like), body decides: it is text
// when [net/http.DetectContentType] finds no binary signature and body is valid
// UTF-8 (or starts with a UTF-16 byte order mark) without the control bytes
// that only binary data holds. A multi-byte character cut off at the very
// end of body, as a capture truncated at its cap may be, does not count
// against it.
//
// IsText says nothing about the charset; [ToUTF8] converts, and may still
// fail on a body that IsText accepts.
func IsText(contentType string, body []byte) bool {
	return media.IsText(contentType, body)
}

// ToUTF8 converts a text body to UTF-8, using the charset that the
// Content-Type's charset parameter names. It reports ok=false, and returns
// "", when body is not valid text in that charset (invalid UTF-8 in a UTF-8
// body, say); callers then keep the bytes some other way, such as base64.
// For a body that is known to be cut short, use [ToUTF8Prefix].
//
// Charset labels are resolved as browsers do (the WHATWG Encoding Standard,
// through golang.org/x/text/encoding/htmlindex), so "latin1" and
// "iso-8859-1" mean windows-1252, and "utf-16" without a byte order mark means
// UTF-16LE. A byte order mark (UTF-8, UTF-16LE or UTF-16BE) overrides the
// declared charset and is removed from the result. With no charset declared,
// or an unknown one, body is taken as UTF-8, unless its first two characters
// are ASCII in UTF-16 (the NUL-byte pattern of RFC 4627), which selects that
// UTF-16 byte order.
//
// ToUTF8 never panics, whatever the input.
func ToUTF8(contentType string, body []byte) (s string, ok bool) {
	return toUTF8(contentType, body, false)
}

// ToUTF8Prefix is [ToUTF8] for a body that is a prefix of the real one, as a
// capture truncated at its cap is: a character cut off at the end of body
// (one to three bytes) is dropped instead of making the whole body invalid.
func ToUTF8Prefix(contentType string, body []byte) (s string, ok bool) {
	return toUTF8(contentType, body, true)
}

func toUTF8(contentType string, body []byte, prefix bool) (string, bool) {
	switch {
	case bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")):
		return utf8Text(body[3:], prefix)
	case bytes.HasPrefix(body, []byte("\xFE\xFF")):
		return utf16Text(body[2:], true, prefix)
	case bytes.HasPrefix(body, []byte("\xFF\xFE")):
		return utf16Text(body[2:], false, prefix)
	}
	_, label := media.Parse(contentType)
	enc, err := htmlindex.Get(label)
	if label == "" || err != nil {
		switch {
		case len(body) >= 4 && body[0] == 0 && body[1] != 0 && body[2] == 0 && body[3] != 0:
			return utf16Text(body, true, prefix)
		case len(body) >= 4 && body[0] != 0 && body[1] == 0 && body[2] != 0 && body[3] == 0:
			return utf16Text(body, false, prefix)
		}
		return utf8Text(body, prefix)
	}
	name, _ := htmlindex.Name(enc)
	switch name {
	case "utf-8":
		return utf8Text(body, prefix)
	case "utf-16le":
		if label == "utf-16" && len(body) >= 2 && body[0] == 0 && body[1] != 0 {
			return utf16Text(body, true, prefix) // unmarked "utf-16" that is plainly big-endian
		}
		return utf16Text(body, false, prefix)
	case "utf-16be":
		return utf16Text(body, true, prefix)
	}
	s, ok := legacyText(enc, body)
	// No legacy charset has characters longer than four bytes.
	for cut := 1; !ok && prefix && cut <= 3 && cut < len(body); cut++ {
		s, ok = legacyText(enc, body[:len(body)-cut])
	}
	return s, ok
}

// legacyText decodes body from a charset other than UTF-8 and UTF-16.
func legacyText(enc encoding.Encoding, body []byte) (string, bool) {
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return "", false
	}
	// Legacy decoders turn invalid input into U+FFFD rather than fail. Most
	// legacy charsets cannot hold U+FFFD, so finding one means invalid input,
	// unless the charset can (GB18030) and re-encoding gives body back.
	if bytes.ContainsRune(out, utf8.RuneError) {
		back, err := enc.NewEncoder().Bytes(out)
		if err != nil || !bytes.Equal(back, body) {
			return "", false
		}
	}
	return string(out), true
}

// utf8Text returns b as a string if it is valid UTF-8. If b is a prefix, a
// multi-byte character cut off at its end is dropped.
func utf8Text(b []byte, prefix bool) (string, bool) {
	if prefix {
		b = media.TrimCutRune(b)
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// utf16Text decodes UTF-16 to UTF-8. An odd length or an unpaired surrogate
// makes it invalid, except that if b is a prefix, an odd byte or a high
// surrogate cut off from its pair at the end is dropped.
func utf16Text(b []byte, bigEndian, prefix bool) (string, bool) {
	unit := func(i int) uint16 {
		if bigEndian {
			return uint16(b[i])<<8 | uint16(b[i+1])
		}
		return uint16(b[i+1])<<8 | uint16(b[i])
	}
	if len(b)%2 != 0 && !prefix {
		return "", false
	}
	out := make([]byte, 0, len(b)+len(b)/2)
	n := len(b) &^ 1
	for i := 0; i < n; i += 2 {
		u := unit(i)
		switch {
		case !utf16.IsSurrogate(rune(u)):
			out = utf8.AppendRune(out, rune(u))
		case u < 0xDC00 && i+2 == n && prefix:
			// A high surrogate whose pair was cut off.
		case u < 0xDC00 && i+2 < n:
			r := utf16.DecodeRune(rune(u), rune(unit(i+2)))
			if r == utf8.RuneError {
				return "", false
			}
			out = utf8.AppendRune(out, r)
			i += 2
		default:
			return "", false // an unpaired surrogate
		}
	}
	return string(out), true
}
