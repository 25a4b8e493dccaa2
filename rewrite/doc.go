// Package rewrite is a net/http middleware for the "rebuild the response"
// pattern, made safe for streaming: it buffers each response up to a cap,
// lets a function change its status, headers, body and trailers, and then
// sends it. It is to package bodytap what net/http/httputil is to
// net/http: a second product, with a package of its own.
//
//	addVersion := rewrite.New(func(r *http.Request, resp *rewrite.Response) error {
//		resp.Header.Set("X-Version", "2")
//		resp.Body = bytes.ReplaceAll(resp.Body, []byte("v1"), []byte("v2"))
//		return nil
//	}, rewrite.Config{})
//	http.ListenAndServe(":8080", addVersion(mux))
//
// [New] takes the function and a [Config] whose zero value works: it
// buffers up to [DefaultMaxBytes] (1 MiB), hands bodies over as the
// handler wrote them, treats Server-Sent Events, gRPC and the like as
// streams ([IsStreamingResponse]), and answers a failed rewrite with a
// plain 500. Its hooks are function fields, each nil by default: Stream
// (nil: IsStreamingResponse), Skip (nil: skip nothing), OnFallback (nil:
// not told), ErrorHandler (nil: a plain-text 500 that logs nothing) and
// Decode (nil: the built-in gzip and deflate decoder, used only with
// DecodeBodies).
//
// # Fallback
//
// A response is rewritten only if it can be buffered without changing
// what the client experiences. When the handler writes more than
// Config.MaxBytes, flushes, hijacks the connection, answers 101, or sends
// a streaming content type (Config.Stream; by default Server-Sent Events,
// multipart/x-mixed-replace, gRPC, NDJSON), the rewrite is abandoned for
// that response: what was buffered goes out as it was (the same status,
// and the headers as the handler had set them when it committed the
// status), the rest streams through untouched, and Config.OnFallback is
// told why, as a [FallbackReason]. A response is never truncated, and
// never held past the cap; within it, what the handler writes waits for
// the handler to return, so a handler whose client must see something
// before that has to flush, as it must already for net/http's own
// buffers. Requests that ask for a protocol upgrade (WebSocket) or use
// CONNECT pass through unwrapped, with OnFallback told FallbackUpgrade.
//
// The ResponseWriter the handler gets implements exactly those of the
// seven optional interfaces that httpsnoop preserves (http.Flusher,
// FlushError() error, http.CloseNotifier, http.Hijacker, io.ReaderFrom,
// http.Pusher, io.StringWriter) that the writer it wraps implements, no
// more and no fewer, plus Unwrap, so that http.ResponseController reaches
// the wrapped writer's deadlines and full duplex. Flush sends what was
// buffered and streams from then on. Hijack passes what the handler had
// written before it on to the wrapped writer, if anything, and forwards
// the call, so the client gets what it would get without rewrite: an
// HTTP/1.x server then sends the status and headers (if the handler had
// written any) and drops the part of the body still in its 2 KiB buffer,
// which is all of a small one; if the handler had written nothing,
// nothing is sent. ReadFrom buffers while the body fits
// under the cap; past it, the rest goes to the wrapped writer's ReadFrom,
// so sendfile still works. 1xx informational responses (103 Early Hints)
// are sent at once, never buffered.
//
// If the handler panics before the response falls back, nothing of it is
// sent and its headers are dropped; the panic goes on up to the server
// (or to an outer recovering middleware, which then starts clean).
//
// # Headers after a rewrite
//
//   - Content-Length is set to the length of the body sent, whatever the
//     handler or the function set (for HEAD, the length the GET would
//     send), except that it is left as it is for a HEAD the handler
//     answered without writing a body and the function gave none (as
//     http.ServeContent answers HEAD), for statuses that have no body
//     (204, 304), and when the response has trailers or a
//     Transfer-Encoding (then a stale one is removed).
//   - The body counts as changed when the bytes sent differ from those the
//     handler wrote. Then the handler's ETag is removed if the content
//     changed, or made weak (W/) if only the content coding did, unless
//     the function set a different ETag; Content-Digest, Repr-Digest,
//     Digest and Content-MD5 are removed unless it set different ones.
//   - For HEAD requests and for 204 and 304 statuses, no body is sent,
//     whatever Body holds. A Body set on a 204 or 304 changes no
//     validator: the ETag of a 304 names the representation the client
//     has cached, and stays as the handler or the function set it.
//   - Content-Range is the function's responsibility when it changes a 206
//     body.
//
// # Content encoding
//
// With Config.DecodeBodies, a body with a Content-Encoding is handed to
// the function decoded, and Content-Encoding is left in Header. The
// decoder is Config.Decode, the same hook as the Tap's
// ([github.com/bodytap/bodytap.Config].Decode) with the same default: nil
// undoes gzip, x-gzip and deflate, stacked up to five deep ("gzip,
// gzip"); decode.Func (package [github.com/bodytap/bodytap/decode]) adds
// br and zstd. The decoded body is bounded by Config.MaxDecodedBytes.
//
// When the function returns, if Content-Encoding still lists the same
// codings:
//
//   - if the function left the body as it was, the handler's original
//     bytes are sent, untouched;
//   - if it changed the body and every coding is gzip or deflate, the body
//     is encoded again with them, in the same order;
//   - if it changed the body and a coding is one the standard library
//     cannot write (br, zstd), the new body is sent as identity:
//     Content-Encoding is removed (Vary is kept, as the response still
//     depends on Accept-Encoding), and Content-Length fits the new body.
//
// If the function removed Content-Encoding, the decoded body is sent as it
// is; if it set other codings, Body must already be in them. A body that
// cannot be decoded (a coding the decoder does not know, a corrupt stream,
// more than MaxDecodedBytes) is handed over as the handler wrote it, with
// [Response].DecodeErr set: the function should leave it alone or replace
// it whole. Without DecodeBodies, the function gets the bytes exactly as
// the handler wrote them and must check Content-Encoding itself.
//
// The middleware works on either side of a compression middleware:
// outside it, the function sees the compressed body (decoded, with
// DecodeBodies); inside it, the function sees the plain body and the
// compressor encodes what it leaves.
//
// # Capturing too
//
// A [github.com/bodytap/bodytap.Tap] outside the rewrite records what the client got; one
// inside records what the handler wrote. Headers that depend only on the
// handler's timing (X-Process-Time) need no buffering: the Tap's
// BeforeHeaders hook adds them while the response streams.
package rewrite
