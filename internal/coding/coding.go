// Package coding undoes and applies HTTP content codings (RFC 9110
// Content-Encoding) on captured body copies: the one implementation that
// the Tap, package decode, the HAR converter and the viewer share.
//
// It decodes gzip (alias x-gzip) and deflate with the standard library;
// a caller adds other codings (br, zstd) through [Decoder].Extra, and they
// go through the same parsing, the same output limit and the same error
// types. Deflate is read as zlib when its first two bytes are a valid zlib
// header (RFC 9110), else as raw DEFLATE, as browsers do.
package coding

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

// MaxCodings is the deepest stack of codings undone: each costs a decoder
// and its window, so "gzip, gzip, ..." must not buy unbounded work. Five
// is curl's limit too.
const MaxCodings = 5

// DefaultLimit is the output limit used when a limit of zero or less is
// given: the one default of every reader of captured bodies (viewer, HAR,
// CLI). The Tap has its own, smaller one (bodytap.DefaultDecodeLimit),
// because its decoded copies wait in the delivery queue.
const DefaultLimit = 10 << 20

// A Func returns a reader that undoes one coding on r. The Decoder closes
// it when done.
type Func func(r io.Reader) (io.ReadCloser, error)

// UnsupportedError is returned for a coding that the decoder does not
// know.
type UnsupportedError struct {
	Name string // lower-cased, as listed
}

func (e *UnsupportedError) Error() string { return "unsupported content coding " + e.Name }

// TooManyError is returned for a Content-Encoding that stacks more than
// MaxCodings codings.
type TooManyError struct {
	N int // codings listed, identity aside
}

func (e *TooManyError) Error() string {
	return fmt.Sprintf("%d codings stacked, at most %d are undone", e.N, MaxCodings)
}

// DecodeError is an error from the decoder of one coding: the innermost
// one that failed, when codings are stacked.
type DecodeError struct {
	Coding string
	Err    error
}

func (e *DecodeError) Error() string { return "decode " + e.Coding + ": " + e.Err.Error() }
func (e *DecodeError) Unwrap() error { return e.Err }

// Result is a decoded body.
type Result struct {
	// Bytes is the decoded body, at most the limit long. Without codings
	// it is a prefix of the input, sharing its memory.
	Bytes []byte

	// Codings lists the codings removed, in Content-Encoding order and
	// canonical spelling ("gzip, br"), or "" if none was.
	Codings string

	// Cut reports that the output reached the limit and decoding stopped
	// there: Bytes is a prefix of the decoded body.
	Cut bool

	// Partial reports that the input was a prefix and decoding ran to its
	// end: Bytes is the decoded form of that prefix. Cut and Partial are
	// never both set.
	Partial bool
}

// A Decoder undoes content codings. Its zero value knows gzip and deflate.
// A Decoder is safe for concurrent use if its Extra is not changed.
type Decoder struct {
	// Extra adds codings, by lower-case name, to gzip and deflate (which
	// it cannot replace).
	Extra map[string]Func
}

// Std is the Decoder that knows only gzip and deflate.
var Std Decoder

// Decode undoes the codings listed in ce (a Content-Encoding value,
// repeated lines joined with ",") on body, right to left as RFC 9110
// says, producing at most limit bytes (DefaultLimit if limit ≤ 0).
// Decoders are chained as readers and the output grows by doubling up to
// the limit, so a compression bomb costs about twice the limit at most.
//
// prefix says that body is only the start of the real body: running out
// of input is then no error, and the result is Partial.
//
// On error the Result holds body as given. Errors are an
// [*UnsupportedError], a [*TooManyError] or a [*DecodeError].
func (d *Decoder) Decode(ce string, body []byte, limit int64, prefix bool) (Result, error) {
	lim := clampLimit(limit)
	names, err := d.Parse(ce)
	if err != nil {
		return Result{Bytes: body}, err
	}
	if len(names) == 0 {
		if len(body) > lim {
			return Result{Bytes: body[:lim], Cut: true}, nil
		}
		return Result{Bytes: body, Partial: prefix}, nil
	}
	removed := strings.Join(names, ", ")
	if len(body) == 0 {
		// An empty body with a coding is what HEAD, 204 and 304 responses
		// carry: there is nothing to decode, and nothing is wrong.
		return Result{Bytes: body, Codings: removed, Partial: prefix}, nil
	}
	hint := 4 * len(body)
	if hint/4 != len(body) { // overflow
		hint = lim
	}
	out, cut, err := d.Run(names, bytes.NewReader(body), lim, hint)
	if err != nil {
		if !prefix || !endedEarly(err) {
			return Result{Bytes: body}, err
		}
		return Result{Bytes: out, Codings: removed, Partial: true}, nil
	}
	return Result{Bytes: out, Codings: removed, Cut: cut, Partial: prefix && !cut}, nil
}

// Parse returns the canonical names of the codings listed in ce, as [List]
// does, and an error if d cannot undo one of them or there are more than
// MaxCodings.
func (d *Decoder) Parse(ce string) ([]string, error) {
	names := List(ce)
	for _, name := range names {
		if name != "gzip" && name != "deflate" && d.Extra[name] == nil {
			return nil, &UnsupportedError{name}
		}
	}
	if len(names) > MaxCodings {
		return nil, &TooManyError{len(names)}
	}
	return names, nil
}

// List returns the canonical names of the codings listed in ce, in listing
// order, without identity, whether or not a decoder knows them. Names are
// case-insensitive, blanks around them ignored, and x-gzip is gzip.
func List(ce string) []string {
	var names []string
	for name := range strings.SplitSeq(ce, ",") {
		name = strings.ToLower(strings.Trim(name, " \t"))
		switch name {
		case "", "identity":
			continue
		case "x-gzip":
			name = "gzip"
		}
		names = append(names, name)
	}
	return names
}

// clampLimit turns a limit into a slice length.
func clampLimit(limit int64) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case uint64(limit) > math.MaxInt:
		return math.MaxInt
	}
	return int(limit)
}

// endedEarly reports whether err means only that the input ran out.
func endedEarly(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// Run undoes the codings names (as Parse returns them) on src and reads
// at most limit bytes of output, starting the buffer at hint bytes; cut
// reports that there was more. Decoders are chained as readers, so no
// intermediate stage is ever held whole, and src is read only as far as
// the output needs.
func (d *Decoder) Run(names []string, src io.Reader, limit, hint int) (out []byte, cut bool, err error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	r := src
	for i := len(names) - 1; i >= 0; i-- {
		name := names[i]
		next, err := d.newReader(name, r)
		if err != nil {
			return nil, false, wrap(name, err)
		}
		closers = append(closers, next)
		r = &namedReader{name: name, r: next}
	}
	return ReadCapped(r, limit, hint)
}

// newReader returns a reader that undoes the coding name on r.
func (d *Decoder) newReader(name string, r io.Reader) (io.ReadCloser, error) {
	switch name {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return zr, err
	case "deflate":
		br := bufio.NewReader(r)
		if hdr, _ := br.Peek(2); ZlibHeader(hdr) {
			return zlib.NewReader(br)
		}
		return flate.NewReader(br), nil
	}
	return d.Extra[name](r)
}

// ZlibHeader reports whether hdr starts a zlib stream (RFC 1950) that
// zlib.NewReader accepts: DEFLATE method, a window of at most 32 KiB, a
// valid check value and no preset dictionary. Anything else under the
// name deflate is taken for raw DEFLATE, as browsers do.
func ZlibHeader(hdr []byte) bool {
	if len(hdr) < 2 {
		return false
	}
	cmf, flg := hdr[0], hdr[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0 && flg&0x20 == 0
}

// ReadCapped reads r to its end or to limit bytes, whichever comes first,
// and reports whether r had more past the limit. The buffer starts at hint
// (at least 512 bytes) and grows by doubling but never past limit, so it
// costs at most about twice limit however much r could produce. A reader
// that keeps returning nothing fails with io.ErrNoProgress.
func ReadCapped(r io.Reader, limit, hint int) (buf []byte, cut bool, err error) {
	buf = make([]byte, 0, min(limit, max(hint, 512)))
	empty := 0
	for {
		if len(buf) == cap(buf) {
			if len(buf) == limit {
				more, err := hasMore(r)
				return buf, more, err
			}
			grown := make([]byte, len(buf), min(limit, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, false, nil
		case err != nil:
			return buf, false, err
		case n == 0:
			if empty++; empty > 100 {
				return buf, false, io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
}

// hasMore reports whether r has at least one more byte before its end.
func hasMore(r io.Reader) (bool, error) {
	var probe [64]byte
	for range 100 {
		n, err := r.Read(probe[:])
		switch {
		case n > 0:
			return true, nil
		case err == io.EOF:
			return false, nil
		case err != nil:
			return false, err
		}
	}
	return false, io.ErrNoProgress
}

// namedReader names its coding in the errors of the reader it wraps.
type namedReader struct {
	name string
	r    io.Reader
}

func (n *namedReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		err = wrap(n.name, err)
	}
	return k, err
}

// wrap names the coding in err, unless err already names the inner coding
// it came from: with stacked codings an inner decoder's error passes
// through the outer ones, and it is the inner one that failed.
func wrap(name string, err error) error {
	if de := (*DecodeError)(nil); errors.As(err, &de) {
		return err
	}
	return &DecodeError{Coding: name, Err: err}
}

// Header returns the Content-Encoding of h, repeated lines joined with
// ", ".
func Header(h http.Header) string {
	v := h["Content-Encoding"] // h.Values without canonicalizing a canonical key
	if len(v) == 1 {
		return v[0]
	}
	return strings.Join(v, ", ")
}

// Count returns how many codings, identity aside, ce lists.
func Count(ce string) int {
	n := 0
	for name := range strings.SplitSeq(ce, ",") {
		if name = strings.Trim(name, " \t"); name != "" && !strings.EqualFold(name, "identity") {
			n++
		}
	}
	return n
}

// Names returns the codings ce lists as a short list for messages:
// lower-cased, identity left out, joined with ", ".
func Names(ce string) string {
	var names []string
	for name := range strings.SplitSeq(ce, ",") {
		if name = strings.Trim(name, " \t"); name != "" && !strings.EqualFold(name, "identity") {
			names = append(names, strings.ToLower(name))
		}
	}
	return strings.Join(names, ", ")
}
