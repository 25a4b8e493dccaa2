// Package redact holds the scanners that hide credentials in captured
// headers, query strings and bodies: JSON (redacted in place, byte for
// byte), forms, multipart bodies and cookies. Package bodytap documents
// the rules (its Redaction type) and applies them to an Exchange; this
// package does the work on one value at a time.
//
// Every function here is safe for concurrent use, allocates nothing when
// there is nothing to hide, and never writes to its input: a changed
// value is a new one.
package redact

import "net/http"

// defaultReplacement replaces hidden values when Options.Replacement is
// empty; it is bodytap.DefaultReplacement.
const defaultReplacement = "[REDACTED]"

// Options are the rules of a redaction beyond the built-in ones, as
// bodytap.Redaction sets them.
type Options struct {
	Headers     []string // header names hidden, matched whole, ignoring case
	Fields      []string // query, form and JSON key names hidden, ignoring case
	JSONPaths   []string // paths in JSON bodies whose values are hidden
	Replacement string   // what replaces a value; "" means "[REDACTED]"
	Detect      Detector // the value detectors to run; 0 runs none
}

// replacement returns the string that replaces hidden values.
func (r *Options) replacement() string {
	if r.Replacement == "" {
		return defaultReplacement
	}
	return r.Replacement
}

// Header returns h with the values of sensitive headers replaced, and the
// secrets that the detectors find in the others, and which detectors
// found some. It never writes to h: when something changes it returns a
// new map that shares the unchanged value slices with h. It does not
// allocate when nothing changes.
func (r *Options) Header(h http.Header) (http.Header, Detector) { return r.redactHeader(h) }

// Query returns a query string (or form body) with the values of
// sensitive parameters replaced, and whether any was.
func (r *Options) Query(q string) (string, bool) {
	out, n := r.redactForm(q)
	if n == 0 {
		return q, false
	}
	return string(out), true
}

// URLQuery is Query for the query q of a URL whose path is path: an OAuth
// "code" there is hidden, with "state", when the path looks like a
// callback even if nothing else in q says so.
// found says which detectors found secrets in its values.
func (r *Options) URLQuery(path, q string) (_ string, changed bool, found Detector) {
	out, n, found := redactPairsIn(r, q, oauthPath(path))
	if n == 0 {
		return q, false, 0
	}
	return string(out), true, found
}

// Body returns b with its sensitive values replaced, reading it as the
// Content-Type ct says ([FormatOf]), how many values were replaced, and
// which detectors found secrets; out is nil when none was. An error means
// that b cannot be made safe and must not be kept.
func (r *Options) Body(ct string, b []byte) (out []byte, n int, found Detector, err error) {
	return r.redactBody(ct, b, 0)
}

// Text returns s with the secrets that the detectors find replaced, as
// is, and which detectors found them; s itself when none did.
func (r *Options) Text(s string) (string, Detector) {
	if r.Detect&AllDetectors == 0 {
		return s, 0
	}
	out, _, found := redactText(r.Detect&AllDetectors, s, r.replacement())
	if found == 0 {
		return s, 0
	}
	return string(out), found
}
