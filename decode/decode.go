package decode

import (
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/bodytap/bodytap/internal/coding"
)

// DefaultLimit is the output limit, 10 MiB, that [Decode] uses when it is
// given a limit of zero or less.
const DefaultLimit = coding.DefaultLimit

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
	res, err := decoder.Decode(contentEncoding, body, limit, inputTruncated)
	var ue *coding.UnsupportedError
	var tm *coding.TooManyError
	switch {
	case errors.As(err, &ue):
		err = fmt.Errorf("%w: %q", ErrUnsupported, ue.Name)
	case errors.As(err, &tm):
		err = fmt.Errorf("%w: %d codings stacked, at most %d are undone", ErrUnsupported, tm.N, coding.MaxCodings)
	}
	return Result{Bytes: res.Bytes, Encoding: res.Codings, Cut: res.Cut, Partial: res.Partial}, err
}

// decoder is the one content-coding decoder (gzip and deflate) with br
// and zstd added.
var decoder = &coding.Decoder{Extra: map[string]coding.Func{
	"br": func(r io.Reader) (io.ReadCloser, error) {
		return io.NopCloser(brotli.NewReader(r)), nil
	},
	"zstd": func(r io.Reader) (io.ReadCloser, error) {
		zr, err := zstd.NewReader(r,
			zstd.WithDecoderConcurrency(1), // decode in this goroutine, one block at a time
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow),
			zstd.WithDecoderMaxMemory(zstdMaxWindow),
			zstd.WithDecodeBuffersBelow(0), // never decode a whole buffer at once
		)
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	},
}}
