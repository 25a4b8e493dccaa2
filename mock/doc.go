// Package mock serves recorded exchanges back as a stand-in for the server
// they were recorded from: the engine behind 'bodytap mock'.
//
// # Matching
//
// A request matches a recorded exchange with the same method, the same
// path and the same query parameters, in any order, leaving out those
// named in [Config.IgnoreParams]. The host is not compared: the mock
// stands in for the upstream whatever name the client used. With
// [Config.MatchBody] the request body must be the recorded one too, byte
// for byte; a recorded body that was truncated matches a request body of
// the recorded size that starts with the kept bytes, and a recorded body
// that was withheld or stored decoded never matches.
//
// When several recorded exchanges match the same request, the first
// request is answered from the earliest recorded, the second from the
// next, and so on; once they are used up, the last one answers every
// further request. Each distinct request (and, with MatchBody, each
// distinct body) keeps its own count.
//
// # Answers
//
// An answer carries the recorded status, the recorded headers minus the
// hop-by-hop ones and Content-Length (which net/http computes again), the
// recorded body byte for byte, and the recorded trailers. A body recorded
// as it was on the wire keeps its Content-Encoding; one stored with its
// content codings undone (Body.Decoded, or a HAR file from a browser) is
// served decoded, without Content-Encoding. A body redacted at capture is
// served as redacted. 1xx responses are not replayed.
//
// A recorded response that cannot be served as it was (its body was
// truncated or withheld at capture, or it never completed) is answered
// with 502 Bad Gateway and a plain text saying why, never with a wrong
// body. A redirect (a 3xx status with a Location) is the exception: its
// body is what a client never reads, and browsers keep none, so a HAR file
// recorded by Chromium leaves it out. A redirect whose body is not known
// is served with an empty one.
//
// A request that matches nothing is answered with 404 Not Found and
// a plain text naming the closest recorded request (the same method, the
// most leading path segments in common), and reported to
// [Config.OnMiss].
//
// # Timing
//
// With [Config.Timing], a streamed response (one with Response.Chunks) is
// sent as it was recorded: its headers after the recorded time to
// headers, and each part of its body, flushed, at the recorded time since
// the request arrived. A body stored decoded has no wire offsets to cut
// it at and is sent at once.
package mock
