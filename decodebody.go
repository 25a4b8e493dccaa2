package bodytap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
)

// DefaultDecodeLimit bounds a decoded copy when [Config.DecodeLimit] is
// zero.
const DefaultDecodeLimit = 4 << 20

// maxStdCodings is the deepest stack of codings the built-in decoder
// undoes: each costs a decoder, so "gzip, gzip, ..." must not buy
// unbounded work. It matches package decode and curl.
const maxStdCodings = 5

// prepareBody decodes and, with redact, redacts one body of x; h is the
// header of its message, as sent. See [Redaction] for what happens when.
func (t *Tap) prepareBody(b *Body, h http.Header, redact bool) {
	if len(b.Bytes) == 0 && b.Spilled() == 0 {
		return
	}
	ce := headerList(h, "Content-Encoding")
	decode := hasCoding(ce) && (redact || t.decode != nil)
	var ct string
	if v := h.Values("Content-Type"); len(v) > 0 {
		ct = v[0]
	}
	if b.Spilled() > 0 && (decode || redact && formatOf(ct, b.Bytes) != formatNone) {
		t.unspill(b)
	}
	if decode {
		out, removed, cut, err := t.decodeCopy(ce, b.Bytes, b.Truncated || !b.EOF)
		if err != nil {
			if redact {
				withhold(b, err)
			} else {
				addErr(b, fmt.Errorf("bodytap: cannot decode %s: %w", codingNames(ce), err))
			}
			return
		}
		b.Bytes, b.Decoded = out, removed
		if cut {
			b.Truncated = true
		}
	}
	if !redact {
		return
	}
	out, n, err := t.redact.redactBody(ct, b.Bytes, 0)
	switch {
	case err != nil:
		withhold(b, err)
	case n > 0:
		b.Bytes, b.Redacted = out, true
	}
}

// unspill brings a body's copy spilled to disk (Config.SpillDir) back into
// Bytes, up to the decode limit, and removes the spill file: decoding and
// redaction work in memory, and what they leave must be all there is, or
// Body.Open would still return the raw bytes past Bytes. The copy is
// Truncated if it did not fit.
func (t *Tap) unspill(b *Body) {
	defer func() {
		b.Release()
		b.spill = nil
	}()
	limit := t.decodeLimit
	if limit <= 0 {
		limit = DefaultDecodeLimit
	}
	rc, err := b.Open()
	if err != nil {
		b.Truncated = true
		addErr(b, err)
		return
	}
	defer rc.Close()
	data, cut, err := readCapped(rc, limit, len(b.Bytes)+int(min(b.Spilled(), limit)))
	b.Bytes = data
	if cut || err != nil {
		b.Truncated = true
	}
	if err != nil {
		addErr(b, fmt.Errorf("bodytap: read spilled body: %w", err))
	}
}

// withhold drops the copy in b, which cannot be made safe: err says why.
// An error from decoding is turned into the message that says how to keep
// such bodies.
func withhold(b *Body, err error) {
	var ue *unsupportedCoding
	var de *decodeError
	switch {
	case errors.As(err, &ue):
		err = fmt.Errorf("bodytap: cannot decode %s to redact it; set Config.Decode (package decode) to keep such bodies", ue.name)
	case errors.As(err, &de):
		err = fmt.Errorf("bodytap: cannot decode %s to redact it: %w", de.codings, de.err)
	}
	b.Bytes = nil
	b.Release()
	b.spill = nil
	b.Withheld = true
	addErr(b, err)
}

// addErr records err in b, after any error already there.
func addErr(b *Body, err error) {
	if b.Err == nil {
		b.Err = err
	} else {
		b.Err = errors.Join(b.Err, err)
	}
}

// unsupportedCoding is the error of the built-in decoder for a coding it
// does not know.
type unsupportedCoding struct{ name string }

func (e *unsupportedCoding) Error() string { return "unsupported content coding " + e.name }

// decodeError is an error decoding codings.
type decodeError struct {
	codings string
	err     error
}

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// decodeCopy undoes the codings ce on a body copy, with Config.Decode or
// the built-in decoder, producing at most t.decodeLimit bytes. prefix says
// the copy is only the start of the body. cut reports that the output was
// cut at the limit.
func (t *Tap) decodeCopy(ce string, body []byte, prefix bool) (out []byte, removed string, cut bool, err error) {
	limit := t.decodeLimit
	if limit <= 0 {
		limit = DefaultDecodeLimit
	}
	if t.decode == nil {
		return decodeStd(ce, body, limit, prefix)
	}
	// One byte more than the limit tells a cut output from one that fits
	// exactly.
	out, removed, err = t.decode(ce, body, min(limit, math.MaxInt64-1)+1, prefix)
	if err != nil {
		return nil, "", false, &decodeError{codingNames(ce), err}
	}
	if countCodings(removed) < countCodings(ce) {
		return nil, "", false, &decodeError{codingNames(ce), fmt.Errorf("the decoder removed only %q", removed)}
	}
	if int64(len(out)) > limit {
		out, cut = out[:limit], true
	}
	return out, removed, cut, nil
}

// decodeStd undoes gzip (or x-gzip) and deflate (zlib-wrapped or raw)
// codings with the standard library, right to left as RFC 9110 says, and
// returns at most limit bytes, the codings removed, and whether the output
// was cut at limit. A stream ending early is an error unless prefix says
// the input is only the start of the body.
func decodeStd(ce string, body []byte, limit int64, prefix bool) ([]byte, string, bool, error) {
	var names [maxStdCodings]string
	k := 0
	for name := range strings.SplitSeq(ce, ",") {
		name = strings.Trim(name, " \t")
		switch {
		case name == "" || equalFoldASCII(name, "identity"):
			continue
		case equalFoldASCII(name, "gzip") || equalFoldASCII(name, "x-gzip"):
			name = "gzip"
		case equalFoldASCII(name, "deflate"):
			name = "deflate"
		default:
			return nil, "", false, &unsupportedCoding{strings.ToLower(name)}
		}
		if k == len(names) {
			return nil, "", false, &decodeError{codingNames(ce), fmt.Errorf("more than %d codings", maxStdCodings)}
		}
		names[k] = name
		k++
	}
	removed := strings.Join(names[:k], ", ")
	fail := func(err error) ([]byte, string, bool, error) {
		return nil, "", false, &decodeError{removed, err}
	}
	var r io.Reader = bytes.NewReader(body)
	for i := k - 1; i >= 0; i-- {
		var err error
		switch names[i] {
		case "gzip":
			r, err = gzip.NewReader(r)
		case "deflate":
			br := bufio.NewReader(r)
			if hdr, _ := br.Peek(2); isZlibHeader(hdr) {
				r, err = zlib.NewReader(br)
			} else {
				r = flate.NewReader(br)
			}
		}
		if err != nil {
			if prefix && endedEarly(err) {
				return []byte{}, removed, false, nil // cut inside a header
			}
			return fail(err)
		}
	}
	out, cut, err := readCapped(r, limit, 4*len(body))
	if err != nil && !(prefix && endedEarly(err)) {
		return fail(err)
	}
	return out, removed, cut, nil
}

// isZlibHeader reports whether hdr starts a zlib stream (RFC 1950) that
// zlib.NewReader accepts; anything else under the name deflate is taken
// for raw DEFLATE, as browsers do.
func isZlibHeader(hdr []byte) bool {
	if len(hdr) < 2 {
		return false
	}
	cmf, flg := hdr[0], hdr[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0 && flg&0x20 == 0
}

// endedEarly reports whether err means only that the input ran out.
func endedEarly(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// readCapped reads r to its end or to limit bytes, and reports whether
// there was more past the limit. The buffer starts at hint and grows by
// doubling but never past limit, so a bomb costs about twice the limit at
// most.
func readCapped(r io.Reader, limit int64, hint int) ([]byte, bool, error) {
	lim := int(min(limit, int64(math.MaxInt)))
	buf := make([]byte, 0, min(lim, max(hint, 512)))
	for {
		if len(buf) == cap(buf) {
			if len(buf) == lim {
				var probe [1]byte
				n, err := io.ReadFull(r, probe[:])
				if n > 0 {
					return buf, true, nil
				}
				if err == io.EOF {
					err = nil
				}
				return buf, false, err
			}
			grown := make([]byte, len(buf), min(lim, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
}

// headerList returns the values of the header k in h, joined with ", ".
func headerList(h http.Header, k string) string {
	v := h.Values(k)
	switch len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	}
	return strings.Join(v, ", ")
}

// hasCoding reports whether a Content-Encoding value names a coding other
// than identity.
func hasCoding(ce string) bool { return countCodings(ce) > 0 }

// countCodings counts the codings, identity aside, in a Content-Encoding
// value.
func countCodings(ce string) int {
	n := 0
	for name := range strings.SplitSeq(ce, ",") {
		if name = strings.Trim(name, " \t"); name != "" && !equalFoldASCII(name, "identity") {
			n++
		}
	}
	return n
}

// codingNames returns the codings of a Content-Encoding value as a short
// list for messages: lower-cased, identity left out.
func codingNames(ce string) string {
	var names []string
	for name := range strings.SplitSeq(ce, ",") {
		if name = strings.Trim(name, " \t"); name != "" && !equalFoldASCII(name, "identity") {
			names = append(names, strings.ToLower(name))
		}
	}
	return strings.Join(names, ", ")
}
