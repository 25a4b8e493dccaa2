package filter

// Help describes the filter language for users: it is the text of
// "bodytap help filters".
const Help = `Filter expressions

A filter expression selects exchanges. The language is mitmproxy's flow
filter language, with a few extensions (marked * below) for what bodytap
records. Examples:

  ~m POST & ~u /api & !~c 200
  ~d example.com ~c 5xx
  ~path "/users/*/orders" | ~route "GET /health"
  ~dur >250ms & ~sizes >=1MiB
  ~hq "^Authorization: Bearer" & ~c 401

An empty expression matches every exchange.

Operators without an argument

  ~all            every exchange
  ~http           every exchange (bodytap records only HTTP)
  ~q              a request without a response: no status was sent
  ~s              a request with a response
  ~e              the exchange has an error: the client went away, a write
                  failed, the handler panicked or aborted, the connection
                  was hijacked
  ~a              the response is an asset: its Content-Type contains
                  text/css, text/javascript, application/javascript,
                  application/x-javascript, image/, font/ or
                  application/font
  ~websocket      a websocket: the connection was hijacked after a request
                  with "Upgrade: websocket"

Operators that match a regular expression

  ~u regex        the full request URL, as https://host/path?query
  regex           a word without an operator means ~u regex
  ~m regex        the request method (ignoring case)
  ~d regex        the request host, without port (ignoring case)
  ~dst regex      the server address, host:port; when the URL has no port,
                  the scheme's (80 for http, 443 for https)
  ~src regex      the client address, ip:port
  ~h regex        a request or response header line
  ~hq regex       a request header line
  ~hs regex       a response header line
  ~b regex        the request or response body
  ~bq regex       the request body
  ~bs regex       the response body
  ~t regex        the request or response Content-Type (ignoring case)
  ~tq regex       the request Content-Type (ignoring case)
  ~ts regex       the response Content-Type (ignoring case)
  ~route regex  * the route pattern that matched the request, such as
                  "GET /items/{id}"

Status, duration, size and path

  ~c 404          the response status code; also, as extensions, a class
                  (~c 5xx, ~c 5.., ~c 20x) or a range (~c 400-499). Codes
                  have three digits, 100 to 999
  ~dur >250ms   * the time from the request until the handler returned,
                  compared with <, <=, >, >= or =, then a Go duration
                  (ns, us, ms, s, m, h: 250ms, 1.5s, 2m). Without a
                  comparison, >= is meant: ~dur 1s is ~dur >=1s
  ~size >=1MiB  * the larger of the request and response body sizes
  ~sizeq >10k   * the request body size
  ~sizes <1k    * the response body size
  ~path glob    * the request path (decoded) matches the glob as a whole:
                  *  any characters within one path segment (no /)
                  ** any characters, across segments
                  ?  one character other than /
                  Every other character matches itself, so a glob
                  without wildcards must equal the path:
                  ~path /api/users      only /api/users
                  ~path "/api/*/orders" /api/7/orders, not /api/7/a/orders
                  ~path "/api/**"       everything below /api/

  Sizes are the counts bodytap made: the bytes of the request body the
  handler read, and of the response body it wrote. A size is a number
  (it may have a fraction: 1.5M) with an optional unit; the units ignore
  case and are all powers of 1024: k, kb, kib = 1024; m, mb, mib =
  1024*1024; g, gb, gib = 1024*1024*1024. A space may separate the
  comparison from the value: ~dur > 1s.

Combining

  !x              not x
  x & y           x and y
  x y             x and y, written side by side
  x | y           x or y
  (x)             grouping

  ! binds tightest, then &, then |. Terms written side by side are joined
  last of all, as in mitmproxy: ~m GET ~c 404 | ~c 500 means
  ~m GET & (~c 404 | ~c 500).

  !, & and | are operators only where a term begins; inside a word they
  are part of it, so ~u a&b=1 is the URL regex a&b=1 and ~u v1|v2 is the
  regex alternation v1|v2. Write spaces around & and | to join terms.
  (The arguments of ~c and of the comparisons end at !, & and |, so
  ~c 404|~c 410 means what it seems to.)

Regular expressions

  Regular expressions use Go's RE2 syntax (https://pkg.go.dev/regexp/syntax):
  there are no backreferences and no lookaround, and every match runs in
  linear time. A regex matches anywhere in the text: use ^ and $ to
  anchor it. Matching ignores case, as in mitmproxy since version 11.1;
  write (?-i) in front of a pattern to match case: ~u "(?-i)/API/".

  Header lines read "Name: value", one line per value, with the name in
  canonical form (Content-Type, X-Request-Id), so ^ and $ match at the
  start and end of the line. The request's lines do not include Host
  (use ~d), and trailers are not searched.

  Bodies are the copy bodytap kept: decoded when bodytap decoded them,
  else as on the wire (a compressed body stays compressed), and only the
  part kept in memory when the body was larger than the capture limit. A
  body whose copy was withheld matches nothing. In body regexes, .
  matches a newline too.

  When no response was sent (~q), the response operators (~hs, ~bs, ~ts,
  ~a, and the response half of ~h, ~b and ~t) have nothing to match.

Quoting

  An argument is one word, or a string in double or single quotes. Quote
  any argument with spaces, parentheses or quotes in it, or that starts
  with ~: ~u "get(Info|Routers)", ~b 'name="x"'. Inside quotes, \", \'
  and \\ stand for ", ' and \; every other backslash is kept as it is,
  so ~b "\d{3}-\d{4}" means the regex \d{3}-\d{4}. Unquoted words are
  taken as they are written.

Not supported

  These mitmproxy operators do not apply to what bodytap records, and
  are rejected:

  ~marked, ~marker            bodytap has no marks (marking flows is a
                              feature of mitmproxy's UI)
  ~comment                    bodytap records no comments on exchanges
  ~meta                       bodytap records no flow metadata
  ~replay, ~replayq, ~replays bodytap only observes requests; it never
                              replays them
  ~tcp, ~udp, ~dns            bodytap records only HTTP exchanges
`
