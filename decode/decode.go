package decode

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
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// DefaultLimit is the output limit, 10 MiB, that [Decode] uses when it is
// given a limit of zero or less.
const DefaultLimit = 10 << 20

// ErrUnsupported is wrapped by the error [Decode] returns when the
// Content-Encoding names a coding this package cannot undo, or stacks more
// codings than it is willing to undo.
var ErrUnsupported = errors.New("decode: unsupported content-encoding")

// Result is a decoded body.
type Result struct {
	// Bytes is the decoded body, no longer than the limit given to Decode.
	// When there was nothing to decode (no coding, or an error), it is the
	// body given to Decode, or on no coding a prefix of it up to the limit,
	// and shares its memory.
	Bytes []byte

	// Encoding lists the codings that were removed, in Content-Encoding order
	// and canonical spelling ("gzip, br"); "identity" is never listed. It is
	// empty when nothing was removed.
	Encoding string

	// Cut reports that the output reached the limit and decoding stopped
	// there: Bytes is a prefix of the decoded body.
	Cut bool

	// Partial reports that the input was known to be truncated and decoding
	// ran to its end: Bytes is the decoded form of that prefix, itself a
	// prefix of the decoded body. Cut and Partial are never both set.
	Partial bool
}

// maxCodings is the deepest stack of codings Decode undoes. Each coding costs
// a decoder and its window, so a header such as "gzip, gzip, gzip, …" must
// not buy unbounded memory. Five is curl's limit too.
const maxCodings = 5

// zstdMaxWindow is the largest zstd window accepted. RFC 9659 caps the window
// of the "zstd" content coding at 8 MB, and browsers enforce it; it is also
// what bounds the decoder's history buffer.
const zstdMaxWindow = 8 << 20

// Decode undoes the content codings listed in contentEncoding (the value of a
// Content-Encoding header; join repeated header lines with ",") on body, a
// captured copy as it was on the wire.
//
// Codings are undone in reverse order of listing, as RFC 9110 defines:
// "gzip, br" is decoded as br, then gzip. Names are case-insensitive and
// whitespace around them is ignored; "identity" and empty names are skipped.
// The supported codings are gzip (alias x-gzip), deflate (zlib-wrapped as RFC
// 9110 says, or raw DEFLATE as some servers send and browsers accept), br and
// zstd. At most five codings are undone.
//
// The output is cut at limit bytes (DefaultLimit if limit ≤ 0) and decoding
// stops there, reading the input only as far as the output needs. A small
// body that expands without end (a compression bomb) thus costs at most
// about twice limit in memory, plus what each decoder keeps for the window
// the stream asks for, whatever the expansion: 32 KiB for gzip and deflate,
// up to 16 MiB for br (its buffer grows by doubling, so up to 32 MiB is
// allocated on the way), and up to 8 MiB for zstd, whose larger windows are
// refused as RFC 9659 allows.
//
// inputTruncated tells Decode that body is only a prefix of the real body, as
// when a capture was truncated at its cap. Then running out of input is
// expected: Decode returns the decoded prefix with Partial set, and no error.
//
// On error — an unknown coding, a corrupt stream, or a stream that ends early
// while inputTruncated is false — Decode returns a Result whose Bytes is body
// and whose Encoding is empty, so nothing is lost, and an error that names
// the coding that failed, such as "decode gzip: unexpected EOF". Errors for
// unknown codings wrap [ErrUnsupported].
//
// Decode is safe for concurrent use.
func Decode(contentEncoding string, body []byte, limit int64, inputTruncated bool) (Result, error) {
	lim := clampLimit(limit)
	codings, err := parseCodings(contentEncoding)
	if err != nil {
		return Result{Bytes: body}, err
	}
	if len(codings) == 0 {
		if len(body) > lim {
			return Result{Bytes: body[:lim], Cut: true}, nil
		}
		return Result{Bytes: body, Partial: inputTruncated}, nil
	}
	encoding := strings.Join(codings, ", ")
	if len(body) == 0 {
		// An empty body with a coding is what HEAD, 204 and 304 responses
		// carry: there is nothing to decode, and nothing is wrong.
		return Result{Bytes: body, Encoding: encoding, Partial: inputTruncated}, nil
	}

	// Start the output at a guess from the input size, so that small bodies
	// do not allocate the whole limit up front.
	hint := 4 * len(body)
	if hint/4 != len(body) { // overflow
		hint = lim
	}
	out, cut, err := run(codings, bytes.NewReader(body), lim, hint)
	if err != nil {
		if !inputTruncated || !endedEarly(err) {
			return Result{Bytes: body}, err
		}
		return Result{Bytes: out, Encoding: encoding, Partial: true}, nil
	}
	return Result{Bytes: out, Encoding: encoding, Cut: cut, Partial: inputTruncated && !cut}, nil
}

// clampLimit turns Decode's limit into a slice length.
func clampLimit(limit int64) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case uint64(limit) > math.MaxInt:
		return math.MaxInt
	}
	return int(limit)
}

// parseCodings returns the canonical names of the codings listed in a
// Content-Encoding value, in listing order, without identity.
func parseCodings(contentEncoding string) ([]string, error) {
	var codings []string
	for name := range strings.SplitSeq(contentEncoding, ",") {
		name = strings.ToLower(strings.Trim(name, " \t"))
		switch name {
		case "", "identity":
			continue
		case "x-gzip":
			name = "gzip"
		case "gzip", "deflate", "br", "zstd":
		default:
			return nil, fmt.Errorf("%w: %q", ErrUnsupported, name)
		}
		codings = append(codings, name)
	}
	if len(codings) > maxCodings {
		return nil, fmt.Errorf("%w: %d codings stacked, at most %d are undone", ErrUnsupported, len(codings), maxCodings)
	}
	return codings, nil
}

// endedEarly reports whether err means only that the input ran out.
func endedEarly(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// run undoes codings on the stream src and reads at most limit bytes of
// output. Decoders are chained as readers, so no intermediate stage is ever
// held whole in memory.
func run(codings []string, src io.Reader, limit, hint int) (out []byte, cut bool, err error) {
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	r := src
	for i := len(codings) - 1; i >= 0; i-- {
		coding := codings[i]
		next, closer, err := newReader(coding, r)
		if closer != nil {
			closers = append(closers, closer)
		}
		if err != nil {
			return nil, false, wrap(coding, err)
		}
		r = &codingReader{coding: coding, r: next}
	}
	return readAtMost(r, limit, hint)
}

// newReader returns a reader that undoes coding on r.
func newReader(coding string, r io.Reader) (io.Reader, func(), error) {
	switch coding {
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return zr, nil, err
	case "deflate":
		br := bufio.NewReader(r)
		if hdr, _ := br.Peek(2); isZlibHeader(hdr) {
			zr, err := zlib.NewReader(br)
			return zr, nil, err
		}
		return flate.NewReader(br), nil, nil
	case "br":
		return brotli.NewReader(r), nil, nil
	case "zstd":
		zr, err := zstd.NewReader(r,
			zstd.WithDecoderConcurrency(1), // decode in this goroutine, one block at a time
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow),
			zstd.WithDecoderMaxMemory(zstdMaxWindow),
			zstd.WithDecodeBuffersBelow(0), // never decode a whole buffer at once
		)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	}
	panic("decode: unknown coding " + coding) // parseCodings lets none through
}

// isZlibHeader reports whether hdr starts a zlib stream (RFC 1950) that
// zlib.NewReader accepts: DEFLATE method, a window of at most 32 KiB, a valid
// check value and no preset dictionary. Anything else is taken as raw DEFLATE,
// which is what browsers fall back to.
func isZlibHeader(hdr []byte) bool {
	if len(hdr) < 2 {
		return false
	}
	cmf, flg := hdr[0], hdr[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0 && flg&0x20 == 0
}

// readAtMost reads r to its end or to limit bytes, whichever comes first, and
// reports whether more output was there past the limit. The buffer grows by
// doubling from hint but never past limit, so it costs at most about twice
// limit however much r could produce.
func readAtMost(r io.Reader, limit, hint int) (buf []byte, cut bool, err error) {
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

// codingReader names its coding in the errors of the reader it wraps.
type codingReader struct {
	coding string
	r      io.Reader
}

func (c *codingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = wrap(c.coding, err)
	}
	return n, err
}

// codingError is an error from the decoder of one coding.
type codingError struct {
	coding string
	err    error
}

func (e *codingError) Error() string { return "decode " + e.coding + ": " + e.err.Error() }
func (e *codingError) Unwrap() error { return e.err }

// wrap names coding in err, unless err already names the inner coding it
// came from: with stacked codings an inner decoder's error passes through
// the outer ones, and it is the inner one that failed.
func wrap(coding string, err error) error {
	if ce := (*codingError)(nil); errors.As(err, &ce) {
		return err
	}
	return &codingError{coding: coding, err: err}
}
