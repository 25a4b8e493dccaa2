package bodytap

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bodytap/bodytap/internal/match"
)

// An Action says what the Tap keeps of an exchange that a [Rule] matches.
type Action int

const (
	// Capture keeps headers and bodies, up to the caps. It is what happens
	// to an exchange no rule matches.
	Capture Action = iota
	// HeadersOnly keeps everything but the body bytes; sizes are still
	// counted.
	HeadersOnly
	// Skip keeps nothing. Decided from the request alone, the request
	// passes with no wrapping at all, as with Config.Skip.
	Skip
)

var actionNames = [...]string{Capture: "capture", HeadersOnly: "headers-only", Skip: "skip"}

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: "capture",
// "headers-only" or "skip".
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if strings.EqualFold(string(b), n) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("bodytap: unknown action %q (want capture, headers-only or skip)", b)
}

// A Rule chooses an [Action] for the exchanges it matches. Every field
// that is set must match; empty fields match anything. Rules are tried in
// order and the first that matches decides; an exchange no rule matches
// is captured.
//
// A rule is decided as early as its fields allow: one that looks only at
// the request (Method, Path, Host, RequestType) is decided before the
// handler runs, so a Skip costs nothing and a HeadersOnly keeps no bytes;
// one that needs the status or response type is decided when the headers
// are sent; one on sizes when the handler returns. Until then bodies are
// copied up to their caps as usual, never buffered beyond them.
//
// Rules have JSON tags, so a list of them can be read from a
// configuration file; [ParseRules] reads a one-line-per-rule text form.
type Rule struct {
	// Method is a method or a comma-separated list ("GET,HEAD").
	Method string `json:"method,omitempty"`

	// Path is a glob on the URL path: "*" matches within one segment,
	// "**" across segments, and ServeMux-style wildcards work too ("{id}"
	// for one segment, "{rest...}" for the rest). A pattern ending in "/"
	// matches everything under it.
	Path string `json:"path,omitempty"`

	// Host is a glob on the request host without port ("*.example.com").
	Host string `json:"host,omitempty"`

	// RequestType and ResponseType are media types, parameters ignored;
	// "video/*" matches a whole type. A comma-separated list matches any.
	RequestType  string `json:"request_type,omitempty"`
	ResponseType string `json:"response_type,omitempty"`

	// Status is a status code, a class ("5xx"), a range ("400-499"), or a
	// comma-separated list of those.
	Status string `json:"status,omitempty"`

	// MinRequestSize and MinResponseSize match bodies of at least that many
	// bytes (the bytes that passed, not the bytes kept).
	MinRequestSize  int64 `json:"min_request_size,omitempty"`
	MinResponseSize int64 `json:"min_response_size,omitempty"`

	Action Action `json:"action"`
}

// stage is how much of an exchange is known when a rule is tried.
type stage int

const (
	atRequest stage = iota // the request line and headers
	atHeaders              // and the response status and headers
	atEnd                  // and the body sizes
)

// needs is the first stage at which every field of r is known.
func (r *Rule) needs() stage {
	switch {
	case r.MinRequestSize > 0 || r.MinResponseSize > 0:
		return atEnd
	case r.Status != "" || r.ResponseType != "":
		return atHeaders
	}
	return atRequest
}

// decide tries rules at stage s and reports the action of the first rule
// that matches, or ok false when a rule that needs more than s might
// match first.
func decide(rules []Rule, s stage, req *http.Request, status int, respHeader http.Header, reqSize, respSize int64) (a Action, ok bool) {
	for i := range rules {
		r := &rules[i]
		if !r.matchRequest(req) {
			continue
		}
		if r.needs() > s {
			return Capture, false
		}
		if s >= atHeaders && !r.matchResponse(status, respHeader) {
			continue
		}
		if s >= atEnd && (reqSize < r.MinRequestSize || respSize < r.MinResponseSize) {
			continue
		}
		return r.Action, true
	}
	return Capture, true
}

func (r *Rule) matchRequest(req *http.Request) bool {
	return (r.Method == "" || match.List(r.Method, func(m string) bool { return strings.EqualFold(m, req.Method) })) &&
		(r.Path == "" || match.Path(r.Path, req.URL.Path)) &&
		(r.Host == "" || match.Host(r.Host, req.Host)) &&
		(r.RequestType == "" || match.MediaType(r.RequestType, req.Header.Get("Content-Type")))
}

func (r *Rule) matchResponse(status int, h http.Header) bool {
	return (r.Status == "" || match.List(r.Status, func(s string) bool { return match.Status(s, status) })) &&
		(r.ResponseType == "" || match.MediaType(r.ResponseType, h.Get("Content-Type")))
}

// ParseRules reads rules written one per line as space-separated
// key=value pairs and an action after "->":
//
//	# no bodies for media
//	response_type=video/*,audio/* -> headers-only
//	method=GET path=/healthz -> skip
//	path=/api/** status=5xx -> capture
//
// Keys are the JSON names of [Rule]'s fields. Blank lines and lines
// starting with # are ignored.
func ParseRules(text string) ([]Rule, error) {
	var rules []Rule
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRule(line)
		if err != nil {
			return nil, fmt.Errorf("bodytap: rule on line %d: %w", n+1, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseRule(line string) (Rule, error) {
	var r Rule
	conds, action, ok := strings.Cut(line, "->")
	if !ok {
		return r, fmt.Errorf("%q has no -> action", line)
	}
	if err := r.Action.UnmarshalText([]byte(strings.TrimSpace(action))); err != nil {
		return r, err
	}
	for _, f := range strings.Fields(conds) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return r, fmt.Errorf("%q is not key=value", f)
		}
		var err error
		switch strings.ReplaceAll(strings.ToLower(k), "-", "_") {
		case "method":
			r.Method = v
		case "path":
			r.Path = v
		case "host":
			r.Host = v
		case "request_type":
			r.RequestType = v
		case "response_type", "type":
			r.ResponseType = v
		case "status":
			r.Status = v
		case "min_request_size":
			r.MinRequestSize, err = strconv.ParseInt(v, 10, 64)
		case "min_response_size":
			r.MinResponseSize, err = strconv.ParseInt(v, 10, 64)
		default:
			return r, fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return r, fmt.Errorf("%s: %w", k, err)
		}
	}
	return r, nil
}
