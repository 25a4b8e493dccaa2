// Package web is bodytap's web viewer: an [http.Handler] that shows the
// exchanges of a store in a browser: a local store file ([store.Store]), a
// PostgreSQL store that a fleet shares (package pgstore), or any [Source].
// "bodytap ui" serves it for either (--db FILE or --db postgres://...),
// and "bodytap proxy --ui ADDR" beside a running capture.
//
//	v, err := web.New(web.Config{Store: st})
//	if err != nil { … }
//	defer v.Close()
//	if err := web.CheckBind(addr, token); err != nil { … } // print it: it says why
//	http.ListenAndServe(addr, v)
//
// Everything it needs — templates, script, styles — is embedded in the
// binary: there is no build step, and nothing is fetched at run time.
//
// # Pages
//
//   - / — the list, newest first: time, method, host and path, status
//     (coloured by class), duration, body sizes and content type. A search
//     box takes the filter syntax of the CLI ([filter.Help]; ?f=EXPR), a
//     parse error shows in one line. Pages hold 100 rows and are paged by
//     keyset (?before=ID, the "older" link), so that a page deep in a store
//     of 100,000 exchanges costs what the first does. A filter that the
//     store must decide in Go (a header regex, say) examines at most 5,000
//     exchanges per page and links on from where it stopped. A search that
//     takes longer than a second (a body search of a large store) shows the
//     top of the page at once and a line of how far it has gone, streamed
//     in the same response (no script needed), then the rows. The first page
//     follows new exchanges live (Server-Sent Events from /api/stream), with
//     a pause button; every row is a real link to its exchange.
//   - /x/{id} — an exchange, at a stable address that can be bookmarked,
//     shared and reloaded: request and response headers, trailers, 1xx
//     responses, timings (time to headers, total), route, error, and the
//     bodies, decoded (gzip, br, zstd, deflate) and shown by type: JSON
//     pretty-printed and foldable (nested <details>, no script needed), text
//     converted from its charset, raster images previewed, anything else as
//     a hex dump, each with marks for what the Tap recorded (truncated,
//     redacted, withheld, decoded, incomplete). Bodies of more than 256 KiB
//     decoded, and hex dumps past 4 KiB, load on demand. A streamed response
//     lists its chunks ([bodytap.Response.Chunks]: bytes sent, when, the
//     gap), and an event stream (text/event-stream) shows each event with
//     the time it went out. The page offers the request as a curl command
//     and the exchange as HAR.
//   - /x/{id}/body/{request|response}/{raw|decoded} — the body as captured
//     or decoded, as a download; …/text and …/hex its text or hex dump as
//     text/plain (what the page loads on demand); …/image the body, only
//     when its bytes are a PNG, JPEG, GIF, WebP or BMP image.
//   - /api/har?f=EXPR — the exchanges a filter selects as a HAR 1.2 file,
//     streamed; /api/har?id=ID one exchange.
//
// The pages work without JavaScript. The one script (static/app.js) adds
// the live updates and the pause button, keyboard navigation (up/down or
// j/k through the list, Enter to open, / to filter, Escape back to the
// list), folding all of a JSON body at once, copy as curl, finding text in
// the bodies, and loading large bodies in place. On windows 1400 px wide
// or more, the list keeps its place and the exchange a click, Enter or
// up/down selects shows in a pane beside it, as in browser devtools; the
// list's address keeps the selection (/#ID) across a reload, and the rows
// stay links to /x/{id} for a new tab.
//
// # Safety
//
// Captured bodies, headers and URLs are attacker-controlled, and the viewer
// treats them so:
//
//   - Pages are rendered by html/template, which escapes everything it
//     inserts; the script only puts captured strings into text nodes (the
//     pane beside the list shows the /x/{id} page as the browser parsed the
//     server's response: no string becomes markup in the script). Pages
//     carry a strict Content-Security-Policy (scripts and styles from the
//     viewer only, no inline script or style, no frames, no plugins, base-uri
//     and form-action locked) with Trusted Types enforced, so that even a bug
//     that handed a string to innerHTML would throw. HTML, SVG and XML bodies
//     are shown as source. Since no captured markup is ever parsed, a
//     captured <meta http-equiv=refresh> cannot navigate the viewer (a CSP
//     does not stop that; not parsing it does).
//   - Bodies served on their own are downloads (Content-Disposition:
//     attachment, Content-Type: application/octet-stream) or text/plain,
//     always with X-Content-Type-Options: nosniff and a "sandbox" CSP, so no
//     browser renders them as a page of the viewer's origin. Images are
//     served only when their bytes are a raster image; SVG never is.
//   - Captured URLs are shown as text: the viewer never links to them,
//     frames them or fetches them.
//   - The viewer listens on 127.0.0.1 by default and needs no login there.
//     [CheckBind] refuses any other address without a token. With a token
//     ([Config.Token], [NewToken]), every request must carry it: once as
//     ?token=… (which sets an HttpOnly cookie and redirects to the address
//     without it) or as an "Authorization: Bearer" header; it is compared in
//     constant time. Without a token, requests whose Host header is not a
//     loopback name or address (or one of [Config.AllowedHosts]) are refused,
//     which defeats DNS rebinding; requests that another site's page makes
//     in the background (Sec-Fetch-Site: cross-site, other than a
//     navigation) are refused too. The viewer only answers GET and HEAD.
package web
