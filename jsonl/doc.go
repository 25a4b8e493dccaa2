// Package jsonl writes and reads [bodytap.Exchange] records as JSON Lines:
// one JSON object per exchange, one exchange per line.
//
// [Writer] is a [bodytap.Sink] that writes the lines to an io.Writer
// ([NewWriter]) or to a file it rotates by size ([OpenFile]); [Read] reads
// them back. [Marshal], [Append] and [Unmarshal] convert one exchange.
//
// # Schema
//
// The JSON form of an Exchange is one object with a fixed schema, the
// format of every line a [Writer] writes and [Unmarshal] reads:
//
//	{
//	  "id": "01HQ3J5V2X0000000000000000",      ULID text of Exchange.ID
//	  "start": "2024-02-20T10:00:00.123456789Z", RFC 3339 with nanoseconds, UTC
//	  "duration_ns": 1500000,                   durations are integer nanoseconds
//	  "time_to_headers_ns": 900000,
//	  "route": "POST /items",                   omitted when empty
//	  "trace": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
//	                                            Exchange.Trace in the traceparent form;
//	                                            omitted when there is none
//	  "request": {
//	    "method": "POST",
//	    "url": "http://example.com/items?q=1",  "" when Request.URL is nil
//	    "proto": "HTTP/1.1",                    proto, host, remote_addr omitted when empty
//	    "host": "example.com",
//	    "remote_addr": "192.0.2.1:53412",
//	    "header": {"Content-Type": ["application/json"]},  omitted when empty
//	    "content_length": 11,                   -1 when unknown
//	    "body": BODY
//	  },
//	  "response": {
//	    "status": 201,
//	    "header": {...},                        header, trailer, informational omitted when empty
//	    "trailer": {...},
//	    "informational": [{"status": 103, "header": {...}}],
//	    "body": BODY,
//	    "chunks": [{"offset": 9, "at_ns": 1200000}],  Response.Chunks: when a streamed body
//	                                            went out, bytes sent and time since start;
//	                                            omitted when empty
//	    "chunks_omitted": 12                    Response.ChunksOmitted; omitted when 0
//	  },
//	  "detected": ["jwt", "aws"],               Exchange.Detected: the names of the value
//	                                            detectors that fired (bodytap.Detector.Names);
//	                                            omitted when none did
//	  "hijacked": true,                         omitted when false
//	  "error": "bodytap: client went away"      Exchange.Err as text; omitted when nil
//	}
//
// and BODY is
//
//	{
//	  "size": 11,                               Body.Size: every byte that passed
//	  "text": "{\"id\": 7}",                    the kept copy, when it is UTF-8 text, or
//	  "base64": "AAEC", "encoding": "base64",   the kept copy in standard base64, otherwise
//	  "truncated": true,                        truncated, decoded, redacted, withheld
//	  "eof": true,                              and error are omitted when false or empty;
//	  "decoded": "gzip",                        eof is always present
//	  "redacted": true,
//	  "withheld": true,
//	  "error": "..."
//	}
//
// A body's copy goes as "text" when it is valid UTF-8 and reads as text:
// its Content-Type is textual (text/*, JSON, XML, JavaScript, form data,
// YAML, …) or, with no or a generic Content-Type, it holds no control
// bytes, and it is not still compressed (a Content-Encoding that
// Body.Decoded does not undo). Any other copy, including a textual one
// that is not valid UTF-8 (a Latin-1 body, or one cut off inside a
// character by the capture cap), goes as "base64" with "encoding":
// "base64", so that the bytes read back are exactly the bytes captured.
// Neither field is present for an empty copy.
//
// Header, URL and error strings that are not valid UTF-8 are written with
// U+FFFD in place of the bad bytes, so the output is always valid JSON.
// Readers should ignore fields they do not know: fields may be added, but
// none will be renamed or change meaning.
//
// Encoding fails only for a Start outside the years 0 to 9999. HTML
// characters are not escaped.
package jsonl
