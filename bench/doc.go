// Package bench compares bodytap with the other ways Go programs see
// request and response bodies in a middleware, on one workload, in one run.
//
// It is a separate module so that its peers (httpsnoop, chi, echo) never
// become dependencies of bodytap. Each implementation in [Impls] wraps the
// same application ([NewApp], or [NewEchoApp] for the echo family) and
// reports what it saw to a [Sink] that does the same minimal work for all:
// it stores the sizes and counts the exchange.
//
// The implementations:
//
//   - bare: the application alone, the limit.
//   - bodytap: bodytap with its defaults (redaction on) and a 64 KiB cap,
//     reusing exchanges (Config.ReuseExchanges): like the peers' callbacks,
//     the sink keeps nothing of a record once it has read it.
//   - bodytap-noredact: the same with redaction off.
//   - bodytap-keep: bodytap-noredact with a sink that keeps its exchanges
//     (ReuseExchanges off, the default): every request allocates its record.
//   - bodytap-lossless: the defaults, but a full queue makes the request
//     wait (Config.QueueWait) instead of dropping the record, as the proxy
//     does.
//   - httpsnoop: httpsnoop.Wrap with Write and ReadFrom hooks teeing into a
//     64 KiB bounded buffer, and the request body teed the same way.
//   - chi: chi's middleware.NewWrapResponseWriter with Tee into a 64 KiB
//     bounded buffer, and the request body teed the same way.
//   - bufferall: the usual answer to "how do I get the response body in a
//     middleware": read the whole request, buffer the whole response, then
//     rebuild it on the real writer.
//   - echo: the same application written for echo, with no middleware: the
//     baseline of the echo family.
//   - echo-bodydump: echo with middleware.BodyDump (which keeps whole
//     bodies: it has no cap).
//
// The benchmarks are in bench_test.go; cmd/benchall runs them in
// interleaved rounds and writes RESULTS.md; cmd/benchcore runs the core
// comparison (bodytap against the cheapest of chi and httpsnoop, over
// loopback and in process, records lost counted at saturation and at half
// of it) and prints ratios to that peer; cmd/benchserver and wrk.sh
// measure end to end with wrk.
package bench
