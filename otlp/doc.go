// Package otlp carries exchanges through OpenTelemetry: [Sink] exports
// each [bodytap.Exchange] as one OTLP LogRecord through the OpenTelemetry
// log SDK, over OTLP/HTTP or OTLP/gRPC, to an OpenTelemetry Collector or
// any OTLP receiver; [Receiver] receives such records (OTLP/HTTP with
// protobuf or JSON, and OTLP/gRPC) and turns them back into exchanges, as
// bodytap collect does to fill a store from a fleet.
//
//	sink, err := otlp.New(ctx, otlp.Config{URL: "http://collector:4318"})
//	tap := bodytap.New(bodytap.Config{Sink: sink})
//	...
//	tap.Close()
//	sink.Close()
//
// Redaction happens in the Tap, before any sink: what is exported is what
// the Tap's [bodytap.Config.Redaction] left.
//
// # The record of an exchange
//
// Its event name is [EventName], "bodytap.exchange". Its trace and span
// IDs and trace flags are [bodytap.Exchange.Trace]'s. Its timestamp and
// observed timestamp are Exchange.Start. Its severity is ERROR (17) for a
// 5xx status or an exchange that failed (Exchange.Err), WARN (13) for a 4xx
// status, INFO (9) otherwise. Its body is a one-line summary, "POST
// http://example.com/items 201", for log viewers; nothing reads it back.
//
// Its attributes follow the OpenTelemetry semantic conventions for HTTP
// servers where they have an attribute:
//
//	http.request.method          GET, POST, ...; _OTHER for another method,
//	http.request.method_original   which this then holds
//	url.full                     Request.URL
//	url.scheme, url.path, url.query
//	http.route                   the path template of Exchange.Route ("/items/{id}")
//	http.response.status_code    Response.Status; absent when none was sent
//	http.request.body.size       Request.Body.Size: every byte that passed
//	http.response.body.size      Response.Body.Size
//	http.request.body.content    Request.Body.Bytes: the kept copy (see below)
//	http.response.body.content   Response.Body.Bytes
//	network.protocol.name        "http"
//	network.protocol.version     "1.1", "2", ... from Request.Proto
//	client.address, client.port  Request.RemoteAddr: the peer the server saw
//	server.address, server.port  Request.Host
//	user_agent.original          the first User-Agent request header
//	error.type                   client_gone, handler_panic, aborted, hijacked
//	                               or _OTHER for Exchange.Err, else the status
//	                               of a 5xx response
//
// A body's copy goes in http.*.body.content as the conventions say: as a
// string when it is text (by its Content-Type, or for a generic one by its
// bytes, as package jsonl decides) and valid UTF-8, as bytes otherwise,
// never in base64. A text copy that the capture cap cut inside a
// character is the string up to that character, with the cut bytes in
// bodytap.*.body.tail. A copy still in a content coding (a gzip body the
// Tap did not decode) is not the decoded content the conventions want:
// it goes in bodytap.*.body.encoded, as bytes, instead.
//
// What the conventions lack goes under bodytap.*:
//
//	bodytap.id                          Exchange.ID, ULID text
//	bodytap.duration_ns                 Exchange.Duration, integer nanoseconds
//	bodytap.time_to_headers_ns          Exchange.TimeToHeaders
//	bodytap.start                       Exchange.Start in RFC 3339, only when a
//	                                      LogRecord's time cannot hold it
//	bodytap.route                       Exchange.Route, when http.route is not it
//	bodytap.request.proto               Request.Proto, when network.protocol.* cannot give it back
//	bodytap.request.host                Request.Host, when server.* cannot
//	bodytap.request.remote_addr         Request.RemoteAddr, when client.* cannot
//	bodytap.request.content_length      Request.ContentLength (-1: unknown)
//	bodytap.request.header              Request.Header as the server received it:
//	                                      a map of each name to its values
//	bodytap.response.header             Response.Header as it was sent
//	bodytap.response.trailer            Response.Trailer
//	bodytap.response.informational      Response.Informational: a list of
//	                                      {"status": 103, "header": {...}}
//	bodytap.response.chunks             Response.Chunks: a list of
//	                                      {"offset": bytes, "at_ns": nanoseconds}
//	bodytap.response.chunks_omitted     Response.ChunksOmitted, when not zero
//	bodytap.request.body.truncated      true when the copy is only the body's start
//	bodytap.request.body.eof            true when the whole body was seen
//	bodytap.request.body.decoded        the content codings undone in the copy
//	bodytap.request.body.redacted       true when redaction replaced values in the copy
//	bodytap.request.body.withheld       true when the copy was dropped as unsafe to keep
//	bodytap.request.body.error          what went wrong preparing the copy
//	bodytap.request.body.encoded        the copy, still in its content coding
//	bodytap.request.body.tail           the bytes of a character the cap cut
//	bodytap.response.body.*             the same for the response body
//	bodytap.hijacked                    true when the handler hijacked the connection
//	bodytap.error                       Exchange.Err's text
//	bodytap.detected                    Exchange.Detected: the names of the
//	                                      detectors that found secrets
//
// Boolean attributes are present only when true, and the others only when
// they have a value. A string that is not valid UTF-8 (a header value in
// Latin-1, say), which an OTLP string may not hold, goes as bytes; a
// header whose names are not all valid UTF-8 goes as a list of [name,
// values] pairs instead of a map.
//
// [FromLogRecord] reads all of it back: Exchange → LogRecord → Exchange
// loses nothing that the store keeps.
package otlp
