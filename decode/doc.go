// Package decode turns captured bodies back into something a person can
// read: it undoes their Content-Encoding, safely, and converts text to UTF-8.
//
// bodytap captures bodies as they went over the wire: still compressed, and
// possibly cut at a capture cap. Sinks that show or search bodies want them
// decoded. This package does that off the request path, in the delivery
// goroutine, and it lives apart from the root package because it needs
// third-party decoders (brotli, zstd) and golang.org/x/text.
//
// # Content codings
//
// [Decode] undoes a Content-Encoding value such as "gzip" or "gzip, br"
// (decoded right to left, as RFC 9110 says). It knows gzip, deflate (zlib or
// raw), br and zstd; anything else is refused with an error wrapping
// [ErrUnsupported], and the body comes back untouched.
//
// # Bounded by construction
//
// A captured body is untrusted input, and a few kilobytes of it can expand
// to gigabytes. Decode streams every coding through the next, never holds an
// intermediate stage whole, stops reading once the output reaches the
// caller's limit, and reports that with [Result].Cut. zstd windows larger
// than the 8 MB that RFC 9659 allows are refused, and no more than five
// stacked codings are undone.
//
// # Truncated captures
//
// A capture cut at its cap is a prefix of the real body, so its compressed
// stream ends abruptly. Told so, Decode returns the decoded prefix and sets
// [Result].Partial; not told so, it treats the abrupt end as the error it
// then is, and returns the raw bytes with it.
//
// # Text
//
// [IsText] tells whether a body is text worth printing, from its Content-Type
// or, when that says nothing, from its bytes. [ToUTF8] converts a text body
// to UTF-8 from the charset its Content-Type names (or its byte order mark),
// and says when the bytes are not valid text, so that the caller can fall
// back to base64; [ToUTF8Prefix] does the same for a truncated capture,
// whose last character may have been cut in half.
package decode
