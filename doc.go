// Package bodytap tees the bodies of HTTP requests and responses as they
// stream through a net/http server, keeps a bounded copy of each, and hands
// every finished [Exchange] to a [Sink] — while the client sees exactly what
// it would have seen without it.
//
// # The problem
//
// "How do I get the response body in a middleware?" is usually answered by
// buffering the whole body and rebuilding the response. That breaks
// streaming (Server-Sent Events, large downloads), costs memory in
// proportion to the body, loses Flush, Hijack and sendfile, and silently
// drops headers a middleware sets after the handler has started writing.
//
// # How bodytap does it
//
// [Tap.Handler] wraps the handler's ResponseWriter and request body. Every
// Write goes straight to the client; the Tap only copies the first
// [Config.MaxBodyBytes] bytes on the side and counts the rest. Flush, Hijack,
// ReadFrom (sendfile), Push and the rest pass through: of the seven
// optional interfaces that httpsnoop preserves (http.Flusher, FlushError()
// error, http.CloseNotifier, http.Hijacker, io.ReaderFrom, http.Pusher,
// io.StringWriter), the wrapper implements exactly those the writer it
// wraps implements, no more and no fewer, plus Unwrap, through which
// http.ResponseController reaches deadlines and full duplex.
// The request body is never read ahead or cut: the handler reads what it
// reads, and the record says how much that was.
//
// When the handler returns, the Exchange goes into a bounded queue and a
// delivery goroutine hands it to the Sink. A slow, failing or panicking
// sink costs dropped records (counted in [Stats]), never a slower response;
// bodies go first: a nearly full queue takes exchanges without their body
// copies ([ErrShed]) before a full one drops them whole.
//
// # What to capture
//
// By default every exchange is captured, each body up to
// [Config.MaxBodyBytes] (64 KiB), or [Config.MaxRequestBodyBytes] and
// [Config.MaxResponseBodyBytes] separately. A bounded tee makes it
// unnecessary to exclude large or streaming endpoints for memory's sake,
// but [Config.Rules] can keep only headers, or nothing, for chosen
// exchanges, written in code or as text:
//
//	rules, err := bodytap.ParseRules(`
//		response_type=video/*,audio/* -> headers-only
//		method=GET path=/healthz -> skip
//	`)
//
// [Config.Sampling] keeps a fraction of exchanges, plus every error and
// every slow one; decisions that need the response are taken when the
// handler returns, over the bounded copy, never by buffering.
//
// [Config.SpillDir] lets a copy go on past the memory cap into a temporary
// file, within a per-body cap and a total quota, so that a sink can read a
// whole large body with [Body.Open]; [Body.Release] removes the file.
//
// # Sinks
//
// A [Sink] is anything with a Record(*Exchange) method; [SinkFunc] adapts
// a function. Built in: [SlogSink] logs each exchange with log/slog (and
// [Exchange] is a slog.LogValuer), [Multi] fans out and [Filter] picks
// per sink. Package jsonl writes one JSON object per exchange to a writer
// or to a rotating file, and reads them back; package har writes HAR 1.2
// files. Sinks in a Multi share each Exchange read-only; one that
// must change it works on [Exchange.Clone]. A sink that keeps nothing of
// an exchange once Record returns says so ([ReusingSink]: the slog and
// JSON Lines sinks do), and the Tap then reuses the exchange's memory.
//
// # Headers set too late
//
// [Config.BeforeHeaders] runs just before the final headers go out, with the
// status and the live header map, so a middleware can still add headers
// that depend on the handler's work, such as X-Process-Time.
//
// # Changing responses
//
// A Tap only records. Package [github.com/bodytap/bodytap/rewrite] is a
// middleware that buffers a response up to a cap and lets a function
// change its status, headers and body, streaming it unchanged past the cap.
//
// # Ownership and concurrency
//
// A Tap is safe for concurrent use. The Sink's Record method is called from
// one goroutine at a time; the Exchange it receives is the sink's to keep.
package bodytap
