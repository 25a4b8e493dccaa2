package bodytap

// Redaction configures what the Tap hides before any sink sees an
// exchange. Its zero value redacts the default names (see the package
// documentation); the wire is never altered.
type Redaction struct {
	// Disabled turns redaction off: sinks see every header and body as
	// captured.
	Disabled bool

	// Headers adds header names (case-insensitive) whose values are
	// hidden, to the defaults.
	Headers []string

	// Fields adds names of query parameters, form fields and JSON object
	// keys (case-insensitive, matched whole) whose values are hidden, to
	// the defaults.
	Fields []string

	// JSONPaths adds paths in JSON bodies whose values are hidden, such as
	// "user.ssn" or "items[*].card".
	JSONPaths []string

	// Func, if set, runs after the built-in redaction on every exchange,
	// for anything else a deployment must hide.
	Func func(x *Exchange)

	// Replacement replaces hidden values. Empty means "[REDACTED]".
	Replacement string
}

// A DecodeFunc undoes the content codings listed in contentEncoding (as in
// the Content-Encoding header) on a captured copy, producing at most limit
// bytes. truncated says the copy is only the first part of the body, so a
// stream that ends early is expected. It returns the decoded bytes and the
// codings it removed.
type DecodeFunc func(contentEncoding string, body []byte, limit int64, truncated bool) (decoded []byte, removed string, err error)

// prepare readies x for the sink, in the delivery goroutine: decode and
// redact.
func (t *Tap) prepare(x *Exchange) {}
