// Package proxy is a capturing reverse proxy: it forwards every request to
// one upstream server, in any language, with net/http/httputil's
// ReverseProxy, and records each exchange through a bodytap Tap, so that
// an application gets bodytap's capture with no change to its code.
//
//	p, err := proxy.New(proxy.Config{Upstream: upstreamURL, Tap: bodytap.Config{Sink: store}})
//	if err != nil { ... }
//	srv := proxy.NewServer(":8080", p)
//	go srv.ListenAndServe()
//	...
//	srv.Shutdown(ctx) // stop accepting, wait for in-flight requests
//	p.Close()         // deliver the queued exchanges to the sink
//	store.Close()     // then close the sink
//
// # What the proxy promises
//
// The bytes are not changed, in either direction. Request and response
// bodies pass as they are, streamed both ways whatever their size, with
// memory bounded by the copy buffers and the capture caps, never by the
// body. Nothing is compressed or decompressed: the upstream gets the
// client's Accept-Encoding, or none, and a compressed response reaches the
// client compressed. Every header field passes with its values unchanged,
// credentials included (Authorization, Cookie, Set-Cookie), except:
//   - hop-by-hop headers (Connection and the headers it names, Keep-Alive,
//     Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE,
//     Trailer, Transfer-Encoding, Upgrade), which belong to each
//     connection; an upgrade keeps Connection and Upgrade;
//   - X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto and Forwarded:
//     the client's are dropped and the upstream gets the proxy's view:
//     X-Forwarded-For is the client's IP, X-Forwarded-Host the Host the
//     client asked for, X-Forwarded-Proto http or https;
//   - Host: the upstream gets its own host, as in Config.Upstream, unless
//     Config.PreserveHost is set.
//
// The server adds no Date or Content-Type of its own to a response that
// came without. Header names may change case (HTTP/2 lowercases them, and
// net/http writes HTTP/1.1 names in canonical form) and fields may change
// order; framing (Content-Length or chunked) belongs to each connection.
// The request's path and query reach the upstream as the client sent
// them, after Config.Upstream's path prefix. A request without a
// User-Agent gets none.
//
// Streams pass as they come: every read from the upstream is flushed to
// the client at once, so Server-Sent Events and other streams arrive
// event by event. 1xx responses (103 Early Hints) are passed on as the
// upstream sends them, trailers at the end (the client's request trailers
// reach the upstream too), and protocol switches (WebSocket) get the
// connection handed over after the 101, both ways.
// HTTP/1.1 requests are served full duplex: an upstream may answer while
// it still reads the request body; if the response is over while the
// proxy still waits for the client's next bytes of the body, the
// connection ends after the response, as it does with a server that did
// not read a body. A request body of known length up to 3 KiB (without
// Expect: 100-continue) is read before the request is forwarded, so that
// it reaches the upstream with the headers in one write; larger bodies,
// and those of unknown length, stream. When a client goes away, the
// upstream request is cancelled at once, not drained.
//
// When the upstream cannot be reached or fails (502), or times out (504),
// the client gets a one-line plain-text reason such as
//
//	bodytap proxy: upstream 127.0.0.1:9 unreachable: connect: connection refused
//
// the failure is logged once as a warning, and the exchange is recorded
// with that status and body and an Exchange.Err matching [ErrUpstream]. The
// proxy starts and serves whether its upstream is up or not;
// [CheckUpstream] lets a program warn at start. A client that goes away
// gets no response and causes no warning: its exchange is recorded with
// Err bodytap.ErrClientGone.
//
// # What is recorded
//
// Each exchange is recorded as the client saw it: Request.URL is the URL
// the client asked the proxy for, Request.Header the headers it sent,
// Response the status, headers, 1xx responses, body and trailers it
// received. Exchange.Route is empty (or what Config.Tap.Route returns).
// An upgraded connection is recorded with status 101, Hijacked set and
// Err bodytap.ErrHijacked; the bytes after the switch are not captured.
//
// Redaction happens before anything reaches a sink, and so before
// anything reaches the disk: credentials in headers, cookies, query
// strings and common body fields are replaced in the record (see
// bodytap.Redaction), in compressed bodies too, while the wire keeps them.
// The proxy refuses Config.Tap.SpillDir, whose files would hold bodies
// before redaction, and never turns redaction off itself: only an explicit
// Config.Tap.Redact.Disabled does.
//
// # Defaults
//
// [New] captures up to 64 KiB of each body (Config.Tap.MaxBodyBytes) and
// queues up to [DefaultQueueLen] exchanges or [DefaultQueueBytes] of body
// copies for the sink (the store takes them from this queue in batches,
// one transaction each, and has no queue of its own); when the sink falls
// behind for longer than that, a request waits up to [DefaultQueueWait]
// for room before its record is dropped, so that sustained load slows down instead of losing captures
// (drops, if any, are counted in Stats and logged by the CLI). The upstream
// transport is [NewTransport]'s. [NewServer] makes a server with header
// and idle timeouts but no read or write timeout, speaking HTTP/1.1, h2c
// and, over TLS, HTTP/2.
package proxy
