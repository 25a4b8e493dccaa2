package bodytap

import (
	"net/url"

	"github.com/bodytap/bodytap/internal/redact"
)

// Redaction, for the package documentation:
//
// # Redaction
//
// Nothing secret is kept by default. Before any [Sink] sees an [Exchange],
// the Tap replaces the values of credentials with "[REDACTED]": in headers
// (Authorization, Cookie, Set-Cookie, X-Api-Key, ...; cookie names and
// attributes stay readable), in the query string, and in JSON, form and
// multipart bodies (password, access_token, client_secret, card_number, ...
// at any depth). Names and layout are kept, so a redacted record still
// reads like the real one. Secrets are also found by what they look like,
// under any name: JSON Web Tokens, Bearer and Basic credentials, AWS,
// GitHub, GitLab, Slack, Stripe, Google and OpenAI-style keys, PEM private
// keys and card numbers ([Detector]), in the URL, in headers and in JSON,
// form, multipart, text and XML bodies; [Exchange].Detected records which
// detectors fired. Bodies sent with a Content-Encoding (gzip,
// deflate; br and zstd with [Config.Decode] set to decode.Func) are decoded
// to look inside, and kept decoded; a body that cannot be decoded, or
// cannot be parsed well enough to be sure, is withheld rather than kept.
// All of it runs off the request path, in the delivery goroutine (the
// built-in rules of a batch with big bodies on up to GOMAXPROCS
// goroutines), on the record only: the client and the handler see the
// real bytes, and Body.Size still counts them. [Redaction] lists the rules; add names,
// JSON paths or a function of your own, or set Redaction.Disabled.

// DefaultReplacement replaces hidden values when [Redaction].Replacement is
// empty.
const DefaultReplacement = "[REDACTED]"

// Redaction configures what the Tap hides before any sink sees an exchange.
// Its zero value hides the defaults below; the wire is never altered.
//
// Redaction runs off the request path, in the delivery goroutine (for
// some batches, the built-in rules on more: see below), and changes only
// the Exchange: the client and the handler see the real headers and
// bodies, Body.Size still counts the real bytes, and maps shared with the
// server (Request.Header is the request's own map) are never written to:
// a changed map is a new map.
//
// When the delivery goroutine takes several exchanges from its queue
// together and their bodies add up to 32 KiB or more, and 8 KiB an
// exchange on average, the built-in rules run on up to GOMAXPROCS
// goroutines, each exchange on one of them, unless Config.Decode is set.
// The functions of [Annotate] and Func still run in the delivery
// goroutine, one exchange at a time, in the order the exchanges finished,
// and the sink gets them in that order.
//
// Headers. The values of these headers are replaced, in the request, the
// response, its trailers and its 1xx responses; their names are kept, and
// so are empty values:
//   - Cookie and Set-Cookie, cookie by cookie: names and attributes stay
//     readable, so "sid=abc123; Path=/; HttpOnly" becomes
//     "sid=[REDACTED]; Path=/; HttpOnly".
//   - every header whose name contains, ignoring case, '-' and '_', one of
//     authorization, token, secret, apikey, password, passwd, session,
//     credential or privatekey: Authorization, Proxy-Authorization,
//     X-Api-Key, Api_Key, X-Auth-Token, X-Session-Id, ...
//   - every header whose name is sensitive by the field rules below:
//     X-Forwarded-For, Signature, X-Hub-Signature-256, X-Csrftoken, ...
//   - the names in Headers, matched whole, ignoring case.
//
// Fields. Query parameters of the request URL (and of URLs in the Referer,
// Location and Content-Location headers), fields of
// application/x-www-form-urlencoded and multipart/form-data bodies, and
// keys of JSON objects at any depth (in arrays too) are sensitive when
// their name:
//   - contains, ignoring case, '-' and '_', one of password, passwd,
//     secret, token, apikey, authorization, credential, privatekey,
//     session, sessid, csrf, xsrf, passphrase, passcode, signature,
//     accesskey, signingkey, encryptionkey, consumerkey or masterkey
//     (access_token, client_secret, api-key, privateKey, XSRF-TOKEN, ...);
//   - is, ignoring case, '-' and '_', cvv, cvv2, cvc, cvc2, ssn, card,
//     cardnumber, cardno, cardnum, ccnumber, ccnum, creditcard, sign,
//     signed, cookie, cookies, setcookie, xforwardedfor, symfony or
//     socialsecuritynumber (card_number, set_cookie, x_forwarded_for, ...);
//   - is made of, among other words, one of pwd, pw, pass, pin, otp, totp,
//     hotp, auth, oauth, authn, authz, authentication, jwt, sid, sig,
//     bearer, phpsessid, jsessionid, cvv or cvc, or of a pair such as
//     credit card, card number, security code, mfa code, consumer id, or
//     "key" after api, access, secret, private, signing, client, public,
//     session, webhook, storage, ... Words are split at anything but
//     letters and digits and at camelCase humps, so user_pin, userPin,
//     connect.sid and PHPSESSID are sensitive and passenger, pinned,
//     author, zipcode and status_code are not;
//   - is code or state, in a query string whose path looks like an OAuth
//     callback (callback, oauth, redirect, authorize, signin, login, sso,
//     token) or next to state, scope, redirect_uri, grant_type, ... (an
//     authorization code, in the redirect or in the token request);
//   - is one of Fields, ignoring case.
//
// The built-in names are a superset, word for word, of the default
// denylists of sentry-python (sentry_sdk/scrubber.py DEFAULT_DENYLIST),
// the Datadog tracers (the default query-string obfuscation and AppSec
// key patterns) and the Elastic APM agents (sanitize_field_names), with
// their substrings and globs read as words (Elastic's *auth* does not hide
// author, nor *key primary_key); internal/redact/names.go lists them.
//
// The whole value of a sensitive field is replaced, whatever it holds: a
// JSON object or array under a sensitive key becomes one JSON string. An
// empty query or form value is kept empty. The password of a URL's
// userinfo is replaced too.
//
// Bodies. Which format a body is read as comes from its message's
// Content-Type: JSON for application/json, text/json, the +json suffix and
// the NDJSON / JSON Lines / JSON sequence types; the form field rules for
// application/x-www-form-urlencoded; parts for multipart/* (each part
// named by its Content-Disposition; a part holding JSON or a form is
// redacted inside). A form, text/plain, JavaScript, generic
// (application/octet-stream, */*, ...) or missing type whose body starts
// with '{' or '[' is read as JSON too. JSON is redacted in place,
// byte for byte: layout and key order are kept, only the sensitive values
// change. A capture cut at its cap is redacted as far as it goes, and a
// sensitive value cut off by the end is replaced up to the end. JSON that
// cannot be scanned is redacted textually instead: every quoted or bare
// name followed by ':' is a key, and the value after a sensitive one is
// replaced (JSONPaths then count by their last name). Other types are not
// looked into; use Func for them.
//
// Encoded bodies. A body with a Content-Encoding is decoded before it is
// looked into, by [Config.Decode] or, when that is nil, by the standard
// library for gzip, x-gzip and deflate (zlib or raw), at most
// [Config.DecodeLimit] bytes of it (the copy is then marked Truncated). The
// decoded copy is the one kept, whether or not anything in it was
// replaced: Body.Decoded names the codings removed.
//
// Withheld bodies. A body that cannot be made safe is not kept at all:
// Body.Bytes is nil, Body.Withheld is set and Body.Err says why. That
// happens when a body cannot be decoded (an unsupported coding such as br
// without Config.Decode, or a corrupt stream), when a multipart body's
// boundary cannot be found, and when a JSON body is not UTF-8.
//
// Spilled bodies. A body copy that went on past the memory cap into a
// spill file (Config.SpillDir) is brought back into memory, up to
// Config.DecodeLimit, and its spill file removed, whenever it is decoded or
// read for redaction, so that Body.Open never returns raw bytes after
// redacted ones. Bodies that redaction does not read keep their spill
// files, and so do text bodies that only the value detectors read: they
// look at the part in memory.
//
// Values. Independently of names, value detectors ([Detector], all on
// unless DisableDetectors says otherwise) replace just the secret they
// find, leaving what is around it: in the values of headers other than
// the sensitive ones, the URL's path and query values, JSON strings (and
// card numbers written as JSON numbers), form values, multipart parts,
// and text and XML bodies (any textual Content-Type, or a generic one
// whose body reads as text). JSON stays valid JSON: a secret inside a
// string is replaced inside it, and one written with escaped slashes
// ("https:\/\/hooks.slack.com\/...") is found as if they were not.
// [Exchange].Detected records which detectors fired.
//
// Caps. Redaction may make a copy longer ("[REDACTED]" for "x"); what is
// kept never exceeds the cap the copy was taken with (or the decode limit
// for a decoded copy): a longer result is cut there, before a UTF-8
// sequence rather than inside it, and marked Truncated.
//
// Body.Redacted reports that values in a body were replaced.
type Redaction struct {
	// Disabled turns the built-in redaction off: sinks see every header
	// and body as captured, still encoded unless Config.Decode is set.
	// Func, if set, still runs.
	Disabled bool

	// Headers adds header names (matched whole, ignoring case) whose values
	// are hidden, to the defaults.
	Headers []string

	// Fields adds names of query parameters, form fields and JSON object
	// keys (matched whole, ignoring case) whose values are hidden, to the
	// defaults.
	Fields []string

	// JSONPaths adds paths in JSON bodies whose values are hidden. A path
	// is a "$" (optional) followed by steps: ".name" or "name" for an
	// object key, matched exactly; "[n]" for an array element; "[*]" or
	// ".*" for any key or element; `["name"]` for a key with dots or
	// brackets in it; and "..", which skips any number of levels. So
	// "user.email", "$.user.email", "items[*].card", "$..iban".
	JSONPaths []string

	// Func, if set, runs after the built-in redaction on every exchange,
	// even with Disabled, for anything else a deployment must hide. It runs
	// in the delivery goroutine, one exchange at a time, in the order they
	// finished, and may change x freely, except maps it did not make:
	// Request.Header is shared with the server. If it panics, the exchange
	// is dropped and counted in Stats.SinkPanics.
	Func func(x *Exchange)

	// DisableDetectors turns value detectors off: DetectCard, say, for an
	// API whose numbers look like card numbers, or AllDetectors for names
	// alone. The zero value runs them all.
	DisableDetectors Detector

	// Replacement replaces hidden values. Empty means DefaultReplacement,
	// "[REDACTED]". It is used as is in headers and cookies, escaped as
	// needed in query strings and forms, and as a JSON string in JSON.
	Replacement string
}

// A DecodeFunc undoes the content codings listed in contentEncoding (as in
// the Content-Encoding header) on a captured copy, producing at most limit
// bytes. truncated says the copy is only the first part of the body, so a
// stream that ends early is expected. It returns the decoded bytes and the
// codings it removed. It is the type of both [Config].Decode and
// rewrite.Config.Decode, and is called concurrently.
//
// Package decode provides one, decode.Func, which adds br and zstd to the
// gzip and deflate that the Tap decodes by itself.
type DecodeFunc func(contentEncoding string, body []byte, limit int64, truncated bool) (decoded []byte, removed string, err error)

// prepare readies x for the sink, in the delivery goroutine: run the
// functions Annotate added, decode and redact. prepareBatch does the same
// in phases, for many exchanges at once.
func (t *Tap) prepare(x *Exchange) {
	x.runNotes()
	t.redactBuiltin(x)
	if f := t.redact.Func; f != nil {
		f(x)
	}
}

// redactBuiltin decodes and redacts x by the rules, Redaction.Func aside.
// It calls no code but the Tap's own unless Config.Decode is set, and
// writes to nothing but x (and its spill file): prepareBatch runs it on
// several exchanges at once.
func (t *Tap) redactBuiltin(x *Exchange) {
	on := !t.redact.Disabled
	// Body formats come from the headers as sent, read before any copy.
	reqH, respH := x.Request.Header, x.Response.Header
	if on {
		t.redactRequest(x)
		t.redactResponse(x)
	}
	x.Detected |= t.prepareBody(&x.Request.Body, reqH, on, t.reqMax)
	x.Detected |= t.prepareBody(&x.Response.Body, respH, on, t.respMax)
}

// replacement returns the string that replaces hidden values.
func (r *Redaction) replacement() string {
	if r.Replacement == "" {
		return DefaultReplacement
	}
	return r.Replacement
}

// options returns the rules of r for the scanners of package redact.
func (r *Redaction) options() redact.Options {
	return redact.Options{
		Headers:     r.Headers,
		Fields:      r.Fields,
		JSONPaths:   r.JSONPaths,
		Replacement: r.replacement(),
		Detect:      redact.AllDetectors &^ redact.Detector(r.DisableDetectors),
	}
}

// redactRequest hides the sensitive parts of the request line and headers.
func (t *Tap) redactRequest(x *Exchange) {
	var found redact.Detector
	x.Request.Header, found = t.scrub.Header(x.Request.Header)
	x.Detected |= Detector(found)
	u := x.Request.URL
	if u == nil {
		return
	}
	q, qchanged := "", false
	if u.RawQuery != "" {
		q, qchanged, found = t.scrub.URLQuery(u.Path, u.RawQuery)
		x.Detected |= Detector(found)
	}
	pw := false
	if u.User != nil {
		_, pw = u.User.Password()
	}
	// Secrets in the path: tokens in reset links, keys in webhook URLs.
	path, pfound := t.scrub.Text(u.Path)
	x.Detected |= Detector(pfound)
	if !qchanged && !pw && pfound == 0 {
		return
	}
	if u != &x.url {
		// Not the Exchange's own copy: make one rather than change what
		// someone else may hold.
		c := *u
		u = &c
		x.Request.URL = u
	}
	if qchanged {
		u.RawQuery = q
	}
	if pw {
		u.User = url.UserPassword(u.User.Username(), t.scrub.Replacement)
	}
	if pfound != 0 {
		u.Path, u.RawPath = path, ""
	}
}

// redactResponse hides the sensitive headers of the response, its trailers
// and its 1xx responses.
func (t *Tap) redactResponse(x *Exchange) {
	var f1, f2 redact.Detector
	x.Response.Header, f1 = t.scrub.Header(x.Response.Header)
	x.Response.Trailer, f2 = t.scrub.Header(x.Response.Trailer)
	x.Detected |= Detector(f1 | f2)
	for i := range x.Response.Informational {
		in := &x.Response.Informational[i]
		in.Header, f1 = t.scrub.Header(in.Header)
		x.Detected |= Detector(f1)
	}
}
