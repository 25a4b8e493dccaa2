package rewrite

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/coding"
)

// Decoding for Config.DecodeBodies, with the decoder the Tap uses, and
// encoding again with the codings the standard library can write.

// codingList returns the content codings h's Content-Encoding lists,
// normalized for comparison: lower-cased, identity left out, x-gzip
// spelled gzip, joined with ", ". "" means none.
func codingList(h http.Header) string {
	return strings.Join(coding.List(coding.Header(h)), ", ")
}

// stdDecode is the decoder used when Config.Decode is nil: the built-in
// one the Tap uses, for gzip and deflate, stacked up to coding.MaxCodings.
func stdDecode(ce string, body []byte, limit int64, truncated bool) ([]byte, string, error) {
	res, err := coding.Std.Decode(ce, body, limit, truncated)
	if err != nil {
		return nil, "", err
	}
	return res.Bytes, res.Codings, nil
}

var _ bodytap.DecodeFunc = stdDecode

// decodeBody undoes the codings ce on b with dec, producing at most limit
// bytes. It returns the decoded body and the codings removed, in
// Content-Encoding order; the error is what Response.DecodeErr reports.
func decodeBody(dec bodytap.DecodeFunc, ce string, b []byte, limit int64) (out []byte, removed []string, err error) {
	// One byte more than the limit tells a body that is too large from
	// one that fits exactly, as the Tap does.
	out, list, err := dec(ce, b, min(limit, math.MaxInt64-1)+1, false)
	if err != nil {
		var ue *coding.UnsupportedError
		var tm *coding.TooManyError
		var de *coding.DecodeError
		switch {
		case errors.As(err, &ue):
			return nil, nil, fmt.Errorf("%w %s", ErrUnsupportedEncoding, ue.Name)
		case errors.As(err, &tm):
			return nil, nil, fmt.Errorf("%w: %v", ErrUnsupportedEncoding, tm)
		case errors.As(err, &de):
			return nil, nil, fmt.Errorf("bodytap: %w", err)
		}
		return nil, nil, fmt.Errorf("bodytap: decode %s: %w", coding.Names(ce), err)
	}
	if coding.Count(list) < coding.Count(ce) {
		return nil, nil, fmt.Errorf("bodytap: decode %s: the decoder removed only %q", coding.Names(ce), list)
	}
	if int64(len(out)) > limit {
		return nil, nil, fmt.Errorf("%w: more than %d bytes", ErrDecodedTooLarge, limit)
	}
	for name := range strings.SplitSeq(list, ",") {
		if name = strings.ToLower(strings.Trim(name, " \t")); name != "" && name != "identity" {
			removed = append(removed, name)
		}
	}
	return out, removed, nil
}

// encodable reports whether the standard library can apply every one of
// the codings names.
func encodable(names []string) bool {
	for _, name := range names {
		if name != "gzip" && name != "x-gzip" && name != "deflate" {
			return false
		}
	}
	return true
}

// encodeBody applies the codings names to b in Content-Encoding order: the
// first listed is applied first. Every one must be encodable.
func encodeBody(b []byte, names []string) ([]byte, error) {
	for _, name := range names {
		out, err := coding.Encode(nil, name, b)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		b = out
	}
	return b, nil
}
