// Package har writes and reads HTTP Archive (HAR 1.2) files: it turns a
// [bodytap.Exchange] into a HAR [Entry] and back, writes HAR files as
// exchanges arrive, and reads them, large ones included.
//
// # Writing
//
// A [Writer] is a [bodytap.Sink]. [NewWriter] streams a document to any
// io.Writer and completes it on [Writer.Close]:
//
//	w := har.NewWriter(os.Stdout)
//	tap := bodytap.New(bodytap.Config{Sink: w})
//	http.ListenAndServe(addr, tap.Handler(mux))
//	// at shutdown: tap.Close(), then w.Close()
//
// [Create] and [OpenFile] write a file that is a complete, valid HAR
// document after every entry: the file always ends with the "]}}" that
// closes it, and each entry is written in one write over that end,
// followed by a new one. A process that is killed between entries leaves
// a valid file. One killed in the middle of a write (or a disk that fills
// up) leaves the last entry cut short; [OpenFile] repairs such a file the
// next time it is opened, cutting it back to its last complete entry and
// closing it again, and then adds to it. The file is synced within
// [SyncInterval] of each write, on [Writer.Sync] and on Close.
//
// # How an Exchange maps to HAR
//
// Request and response headers are listed one value per item, names in
// sorted order; cookies are parsed from the Cookie and Set-Cookie headers
// and the query string from the URL. headersSize is -1: the server does
// not tell bodytap what the head looked like on the wire. request.bodySize
// is the number of body bytes the handler read and response.bodySize the
// number of bytes the handler wrote (before any Content-Encoding is
// undone). The timings are those a server sees: send is 0, wait runs until
// the response headers were sent, receive from then until the handler
// returned, and time is their sum.
//
// Response content.text is the body with its Content-Encoding undone, as
// HAR wants, by package [github.com/bodytap/bodytap/decode] (gzip,
// deflate, br, zstd; at most [decode.DefaultLimit] bytes of output, past
// which the text is cut and content.comment says so), and text in another
// charset converted to UTF-8. A body that is not text (by its
// Content-Type, or by its bytes when that says nothing) goes in base64,
// with content.encoding "base64". A request's postData is written as it
// was sent, as text when it is valid UTF-8. HAR 1.2 has no encoding field
// for postData, so a request body that is not goes in postData.text in
// base64 with the custom field "_encoding": "base64", as the HAR 1.3 draft
// and other tools do.
//
// # Custom fields
//
// What HAR 1.2 cannot say goes in fields whose names start with "_", which
// the format allows and other tools ignore:
//
//   - entry "_id": the exchange's [bodytap.ID]; "_route": the route pattern
//     that matched; "_error": the text of Exchange.Err; "_hijacked": true
//     when the handler took over the connection; "_detected": the names of
//     the value detectors that found a secret and had it replaced
//     (Exchange.Detected, as [bodytap.Detector.Names] gives them).
//   - request "_remoteAddr": the client's address; "_host": the Host, when
//     it is not the URL's; "_contentLength": the length the client
//     declared, when the Content-Length header does not tell it (a chunked
//     request is -1); "_incomplete": true when the handler did not read the
//     whole body.
//   - response "_trailers": the HTTP trailers; "_informational": the 1xx
//     responses sent before the final one, each {status, headers};
//     "_incomplete": true when the body was not sent whole (the handler
//     panicked or a write failed); "_chunks": when a streamed body went
//     out, each {offset, time}: the bytes of the body sent so far and the
//     milliseconds since the entry started ([bodytap.Response.Chunks]);
//     "_chunksOmitted": how many flushes past those were not recorded.
//   - postData and content ([BodyInfo]) "_truncated": true when the text
//     holds only the first part of the body: it was bigger than the capture
//     cap, or the rest went to a spill file (spill files are not copied into
//     HAR); "_decoded": the codings the Tap undid in its copy to redact it
//     (the text is then decoded and the bytes as sent were not kept);
//     "_redacted": true when redaction replaced values in the body;
//     "_withheld": true when the Tap dropped its copy because it could not
//     make it safe, and "_error": why, or what else went wrong with the copy.
//   - content "_raw": the Tap's copy byte for byte, in base64, present
//     whenever content.text is not it (the Content-Encoding was undone here,
//     or the text was converted or cut to valid UTF-8);
//     "_contentEncoding": set to the Content-Encoding when it could not be
//     undone, saying that content.text still carries it.
//
// With these, [ToExchange] gives back from an entry that [FromExchange]
// wrote the same bodies byte for byte, headers, trailers, status, timings
// and ID: a HAR file is a way to store and move exchanges, not only to
// look at them.
//
// content.size is the size of the body once decoded when that is known:
// the body was not encoded, or it was and the whole of it was captured and
// decoded. Otherwise it is response.bodySize. content.compression is the
// difference when it is known.
//
// [Writer.Record] releases the exchange's bodies once written (see
// [bodytap.Exchange.Release]).
//
// # Reading
//
// [Read] reads a whole document. A [Decoder] reads one entry at a time, so
// that a file of any size imports in memory bounded by its largest entry.
// Both return a one-line error naming what is wrong and where, and never
// panic on bad input. [ToExchange] also imports entries that other tools
// wrote; see its documentation for what it does with them.
package har
