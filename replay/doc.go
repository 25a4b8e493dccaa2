// Package replay sends captured requests again, to another version of a
// service, and compares each new response with the recorded one: the
// engine behind 'bodytap replay'.
//
// # What is sent
//
// [Run] rebuilds each request from its [bodytap.Exchange]: the captured
// method, the path and query of the captured URL joined to
// [Config.Target], the captured headers minus the hop-by-hop ones, Host
// and Content-Length, plus [Config.Header], and the captured body. A
// request whose copy is not the request that was sent (its body was
// truncated, withheld, redacted, only partly read or stored decoded, or a
// header or the URL holds a redacted value that Config.Header does not
// replace) is reported [NotReplayable] rather than sent wrong. Unsafe
// methods (POST, PUT, PATCH, DELETE) are [Skipped] unless
// [Config.AllowUnsafe] is set.
//
// Redirects are never followed: a capturing proxy hands the redirect
// itself to its client, so the redirect is what was recorded and what is
// compared, and a Location pointing at another host is never visited.
//
// # What is compared
//
// [Compare] compares the status, the headers and the body. Headers are
// compared by canonical name, all of them except [DefaultIgnoredHeaders]
// and those in [Rules.Headers]; Set-Cookie is compared by cookie names
// only, and Location with the request's own scheme and host taken off.
// Content-Type is compared only when the recording has one (a Tap does not
// record a type that net/http sniffed).
//
// Bodies are compared after their content codings are undone (package
// decode), and classified by the media-type table the viewer and
// 'bodytap show' use. JSON bodies are compared structurally: key order
// and number spelling do not count (1, 1.0 and 1e0 are the same; integers
// are compared exactly, beyond 2^53 too), and each difference is named by
// its JSON path, such as $.items[2].price, so that it can be ignored with
// [Rules.Paths]. Other text is compared line by line as diff does, by a
// longest common subsequence: a line added near the top is one
// difference, not one per line below it ("line N" for a recorded line
// changed or removed, "new line M" for one added; texts whose differing
// middles exceed about two million line pairs are compared at the same
// line numbers instead). Anything else is compared by SHA-256.
//
// A recorded body that was truncated at capture, or only partly
// received, is compared as far as it goes with the start of the new body
// ("body at byte K" names the first byte that differs), and
// [Result.NotCompared] says what was left out; a withheld body is not
// compared at all. In a recorded JSON body that was redacted, the
// "[REDACTED]" strings match anything.
//
// # Noise
//
// With [Config.DetectNoise], each request is sent twice and the JSON paths
// and headers that differ between the two answers (timestamps, generated
// IDs) are ignored when the first is compared with the recording. An
// array whose length differs between the two answers is noise at every
// index ($.events[*]): the recording may hold yet another length.
package replay
