package bodytap

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"unicode/utf8"

	"github.com/bodytap/bodytap/internal/coding"
	"github.com/bodytap/bodytap/internal/redact"
)

// DefaultDecodeLimit bounds a decoded copy when [Config.DecodeLimit] is
// zero.
const DefaultDecodeLimit = 4 << 20

// prepareBody decodes and, with hide, redacts one body of x; h is the
// header of its message, as sent, and memCap the cap its copy was taken
// with. It returns the detectors that found secrets in it. See
// [Redaction] for what happens when.
func (t *Tap) prepareBody(b *Body, h http.Header, hide bool, memCap int64) Detector {
	if len(b.Bytes) == 0 && b.Spilled() == 0 {
		return 0
	}
	// What is kept must fit the cap the copy was taken with, or the decode
	// limit for a copy decoded or brought back from a spill file.
	limit := memCap
	ce := coding.Header(h)
	decode := coding.Count(ce) > 0 && (hide || t.decode != nil)
	var ct string
	if v := h["Content-Type"]; len(v) > 0 { // h.Values without canonicalizing a canonical key
		ct = v[0]
	}
	// Text that only the value detectors read keeps its spill file: they
	// look at the part in memory. (The format is asked only then: the
	// scrubber asks it again, and each asking lower-cases the media type.)
	if b.Spilled() > 0 {
		if f := redact.FormatOf(ct, b.Bytes); decode || hide && f != redact.FormatNone && f != redact.FormatText {
			t.unspill(b)
			limit = t.decodeLimit
		}
	}
	if decode {
		out, removed, cut, err := t.decodeCopy(ce, b.Bytes, b.Truncated || !b.EOF)
		if err != nil {
			if hide {
				withhold(b, ce, err)
			} else {
				addErr(b, fmt.Errorf("bodytap: cannot decode %s: %w", coding.Names(ce), causeOf(err)))
			}
			return 0
		}
		b.Bytes, b.Decoded = out, removed
		limit = t.decodeLimit
		if cut {
			b.Truncated = true
		}
	}
	if !hide {
		return 0
	}
	out, n, found, err := t.scrub.Body(ct, b.Bytes)
	switch {
	case err != nil:
		withhold(b, "", err)
		return 0
	case n > 0:
		b.Bytes, b.Redacted = out, true
		if int64(len(b.Bytes)) > limit && limit >= 0 {
			b.Bytes, b.Truncated = cutRunes(b.Bytes, int(min(limit, math.MaxInt))), true
		}
	}
	return Detector(found)
}

// cutRunes returns the first n bytes of b (n < len(b)), fewer if that
// would split a UTF-8 sequence: a redacted copy cut at its cap stays
// valid UTF-8 if it was.
func cutRunes(b []byte, n int) []byte {
	for k := n; k > 0 && k > n-utf8.UTFMax; k-- {
		if utf8.RuneStart(b[k]) {
			return b[:k]
		}
	}
	return b[:n]
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
	rc, err := b.Open()
	if err != nil {
		b.Truncated = true
		addErr(b, err)
		return
	}
	defer rc.Close()
	lim := int(min(limit, math.MaxInt))
	data, cut, err := coding.ReadCapped(rc, lim, len(b.Bytes)+int(min(b.Spilled(), int64(lim))))
	b.Bytes = data
	if cut || err != nil {
		b.Truncated = true
	}
	if err != nil {
		addErr(b, fmt.Errorf("bodytap: read spilled body: %w", err))
	}
}

// withhold drops the copy in b, which cannot be made safe: err says why.
// An error from decoding ce is turned into the message that says how to
// keep such bodies.
func withhold(b *Body, ce string, err error) {
	var ue *coding.UnsupportedError
	switch {
	case errors.As(err, &ue):
		err = fmt.Errorf("bodytap: cannot decode %s to redact it; set Config.Decode (package decode) to keep such bodies", ue.Name)
	case ce != "":
		err = fmt.Errorf("bodytap: cannot decode %s to redact it: %w", coding.Names(ce), causeOf(err))
	}
	b.Bytes = nil
	b.Release()
	b.spill = nil
	b.Withheld = true
	addErr(b, err)
}

// causeOf returns what went wrong under a decoding error, without the
// coding's name, which the messages above give once.
func causeOf(err error) error {
	if de := (*coding.DecodeError)(nil); errors.As(err, &de) {
		return de.Err
	}
	return err
}

// addErr records err in b, after any error already there.
func addErr(b *Body, err error) {
	if b.Err == nil {
		b.Err = err
	} else {
		b.Err = errors.Join(b.Err, err)
	}
}

// decodeCopy undoes the codings ce on a body copy, with Config.Decode or
// the built-in decoder (gzip and deflate), producing at most the decode
// limit. prefix says the copy is only the start of the body. cut reports
// that the output was cut at the limit.
func (t *Tap) decodeCopy(ce string, body []byte, prefix bool) (out []byte, removed string, cut bool, err error) {
	limit := t.decodeLimit
	if t.decode == nil {
		res, err := coding.Std.Decode(ce, body, limit, prefix)
		if err != nil {
			return nil, "", false, err
		}
		return res.Bytes, res.Codings, res.Cut, nil
	}
	// One byte more than the limit tells a cut output from one that fits
	// exactly.
	out, removed, err = t.decode(ce, body, min(limit, math.MaxInt64-1)+1, prefix)
	if err != nil {
		return nil, "", false, err
	}
	if coding.Count(removed) < coding.Count(ce) {
		return nil, "", false, fmt.Errorf("the decoder removed only %q", removed)
	}
	if int64(len(out)) > limit {
		out, cut = out[:limit], true
	}
	return out, removed, cut, nil
}
