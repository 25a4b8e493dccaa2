package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bodytap/bodytap"
)

// An Outcome is what became of one replayed request.
type Outcome string

const (
	Same          Outcome = "same"           // the new response matches the recording
	Changed       Outcome = "changed"        // it differs: see Result.Diffs
	Failed        Outcome = "failed"         // no response: see Result.Reason
	Skipped       Outcome = "skipped"        // not sent: an unsafe method without AllowUnsafe
	NotReplayable Outcome = "not replayable" // not sent: the capture is not the request that was sent
)

// Outcomes lists the outcomes in the order a summary shows them.
var Outcomes = []Outcome{Same, Changed, Failed, Skipped, NotReplayable}

// A Result is what Run found for one exchange.
type Result struct {
	ID      string  `json:"id"`
	Method  string  `json:"method"`
	URL     string  `json:"url"` // where it was sent, or would have been
	Outcome Outcome `json:"outcome"`

	// Reason says why a request failed, was skipped or is not replayable.
	Reason string `json:"reason,omitempty"`

	RecordedStatus int `json:"recorded_status"`
	Status         int `json:"status,omitempty"` // of the new response

	// Diffs are the differences found, at most MaxDiffs.
	Diffs []Diff `json:"diffs,omitempty"`

	// Noise are the JSON paths and headers that DetectNoise found
	// differing between two answers, and ignored.
	Noise []string `json:"noise,omitempty"`

	// NotCompared says what of the response could not be compared, as
	// the recording does not hold it: the body past the part kept at
	// capture, or all of a body withheld. "" when everything was.
	NotCompared string `json:"not_compared,omitempty"`

	Duration time.Duration `json:"duration_ns"`
}

// Config configures [Run]. Only Target is required.
type Config struct {
	// Target is the base URL requests are sent to: the path and query of
	// each captured URL are appended to its path.
	Target *url.URL

	// Client sends the requests. Nil means one with no timeout of its own
	// that never follows redirects; a Client given here should not follow
	// them either (see the package documentation).
	Client *http.Client

	// Header is set on every request, replacing the captured values of
	// the same names.
	Header http.Header

	// AllowUnsafe sends POST, PUT, PATCH and DELETE requests too; without
	// it they are Skipped.
	AllowUnsafe bool

	// Concurrency is how many requests are in flight at once; 0 means 1.
	Concurrency int

	// Rate caps the requests sent per second, counting both sends of
	// DetectNoise; 0 means no cap.
	Rate float64

	// Rules say what the comparison ignores.
	Rules Rules

	// DetectNoise sends each request twice and ignores what differs
	// between the two answers.
	DetectNoise bool

	// Progress, if not nil, is called after each result with the number
	// done so far. It is called from one goroutine at a time.
	Progress func(done int)
}

// unsafeMethods change state on the server: replaying them is opt-in.
var unsafeMethods = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// hopHeaders are not forwarded (RFC 9110, section 7.6.1), with Host and
// Content-Length, which are the transport's to set.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
}

// Run replays xs in order with up to cfg.Concurrency in flight and returns
// one Result for each, in the order of xs. When ctx is canceled it stops
// sending, waits for what is in flight and returns the results of the
// requests that finished, with ctx's error.
func Run(ctx context.Context, cfg *Config, xs []*bodytap.Exchange) ([]Result, error) {
	if cfg.Target == nil {
		panic("replay: Config.Target is nil")
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	var tick <-chan time.Time
	if cfg.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
		defer t.Stop()
		tick = t.C
	}
	r := &runner{cfg: cfg, client: client, tick: tick}

	results := make([]Result, len(xs))
	finished := make([]bool, len(xs))
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range max(cfg.Concurrency, 1) {
		wg.Go(func() {
			for i := range work {
				res, ok := r.one(ctx, xs[i])
				mu.Lock()
				if ok {
					results[i], finished[i] = res, true
					done++
					if cfg.Progress != nil {
						cfg.Progress(done)
					}
				}
				mu.Unlock()
			}
		})
	}
feed:
	for i := range xs {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		var partial []Result
		for i, ok := range finished {
			if ok {
				partial = append(partial, results[i])
			}
		}
		return partial, err
	}
	return results, nil
}

type runner struct {
	cfg    *Config
	client *http.Client
	tick   <-chan time.Time
}

// one replays x. It returns false if ctx ended before there was a result.
func (r *runner) one(ctx context.Context, x *bodytap.Exchange) (Result, bool) {
	start := time.Now()
	res := Result{ID: x.ID.String(), Method: x.Request.Method, RecordedStatus: x.Response.Status}
	target := r.targetURL(x)
	res.URL = target.String()
	if ctx.Err() != nil {
		return res, false
	}
	if why := notReplayable(x, r.cfg.Header); why != "" {
		res.Outcome, res.Reason = NotReplayable, why
		return res, true
	}
	if unsafeMethods[strings.ToUpper(x.Request.Method)] && !r.cfg.AllowUnsafe {
		res.Outcome, res.Reason = Skipped, x.Request.Method+" is unsafe to replay (allow it with --allow-unsafe)"
		return res, true
	}
	got, err := r.send(ctx, x, target)
	if err != nil {
		if ctx.Err() != nil {
			return res, false
		}
		res.Outcome, res.Reason = Failed, err.Error()
		res.Duration = time.Since(start)
		return res, true
	}
	res.Status = got.Status
	rules := r.cfg.Rules
	if r.cfg.DetectNoise {
		again, err := r.send(ctx, x, target)
		if err != nil {
			if ctx.Err() != nil {
				return res, false
			}
			res.Outcome, res.Reason = Failed, "second send for --detect-noise: "+err.Error()
			return res, true
		}
		rules.Paths = append([]Path(nil), rules.Paths...)
		rules.Headers = append([]string(nil), rules.Headers...)
		seen := map[string]bool{}
		for _, d := range compare(got, again, &r.cfg.Rules, maxNoise) {
			p, where := noisePath(d)
			if seen[where] {
				continue
			}
			seen[where] = true
			res.Noise = append(res.Noise, where)
			switch {
			case p != nil:
				rules.Paths = append(rules.Paths, p)
			case strings.HasPrefix(d.Where, "header "):
				rules.Headers = append(rules.Headers, strings.TrimPrefix(d.Where, "header "))
			}
		}
	}
	rb := &x.Response.Body
	rec := &Message{
		Status: x.Response.Status, Header: x.Response.Header, Body: rb.Bytes,
		Host:     x.Request.Host,
		Partial:  rb.Truncated || rb.Withheld || !rb.EOF,
		Redacted: rb.Redacted,
	}
	switch {
	case rb.Withheld:
		res.NotCompared = "the body: withheld at capture"
	case rb.Redacted && rec.Partial:
		res.NotCompared = "the body: redacted and truncated at capture"
	case rb.Truncated:
		res.NotCompared = fmt.Sprintf("the body past the part kept at capture (%d of %d bytes kept)", len(rb.Bytes), rb.Size)
	case rec.Partial:
		res.NotCompared = fmt.Sprintf("the body past the %d bytes received: the recorded response did not complete", len(rb.Bytes))
	}
	if x.Response.Body.Decoded != "" {
		// The copy was stored decoded: compare it as such.
		rec.Header = rec.Header.Clone()
		rec.Header.Del("Content-Encoding")
	}
	res.Diffs = Compare(rec, got, &rules)
	res.Outcome = Same
	if len(res.Diffs) > 0 {
		res.Outcome = Changed
	}
	res.Duration = time.Since(start)
	return res, true
}

// maxNoise bounds the differences looked for between the two answers of
// DetectNoise: more than Compare reports, as each one found is ignored.
const maxNoise = 1000

// noisePath returns the JSON path that the noise difference d makes
// ignored, and how the report names it. When an array's length differs
// between the two answers (an element is only in one), its elements are
// noise at any index: the path ends in [*], so that an array of yet
// another length in the recording is covered too.
func noisePath(d Diff) (Path, string) {
	p := d.Path
	if n := len(p); n > 0 && p[n-1].index >= 0 && (d.Recorded == "" || d.Got == "") {
		p = p[:n-1].child(step{any: true, index: -1})
	}
	if p == nil {
		return nil, d.Where
	}
	return p, p.String()
}

func (r *runner) targetURL(x *bodytap.Exchange) *url.URL {
	u := *r.cfg.Target
	if x.Request.URL != nil {
		u.Path = strings.TrimSuffix(u.Path, "/") + x.Request.URL.Path
		if u.RawPath != "" || x.Request.URL.RawPath != "" {
			u.RawPath = strings.TrimSuffix(u.EscapedPath(), "/") + x.Request.URL.EscapedPath()
		}
		u.RawQuery = x.Request.URL.RawQuery
	}
	u.Fragment = ""
	return &u
}

// notReplayable says why x's request cannot be sent as it was, or "".
func notReplayable(x *bodytap.Exchange, override http.Header) string {
	b := &x.Request.Body
	switch {
	case x.Request.URL == nil:
		return "the capture has no URL"
	case b.Truncated:
		return fmt.Sprintf("request body truncated at capture (%d of %d bytes kept)", len(b.Bytes), b.Size)
	case b.Withheld:
		return "request body withheld at capture"
	case b.Redacted:
		return "request body redacted at capture"
	case b.Decoded != "":
		return "request body stored decoded (" + b.Decoded + "), not as sent"
	case !b.EOF && (b.Size > 0 || x.Request.ContentLength != 0):
		return "request body read only in part by the server"
	case strings.Contains(x.Request.URL.String(), "REDACTED"):
		return "URL redacted at capture"
	}
	for k, vs := range x.Request.Header {
		if len(override.Values(k)) > 0 {
			continue
		}
		for _, v := range vs {
			if strings.Contains(v, bodytap.DefaultReplacement) {
				return fmt.Sprintf("header %s redacted at capture (supply it with --header)", textproto.CanonicalMIMEHeaderKey(k))
			}
		}
	}
	return ""
}

// send sends x's request to target and reads the whole response.
func (r *runner) send(ctx context.Context, x *bodytap.Exchange, target *url.URL) (*Message, error) {
	if r.tick != nil {
		select {
		case <-r.tick:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var body io.Reader
	if len(x.Request.Body.Bytes) > 0 {
		body = bytes.NewReader(x.Request.Body.Bytes)
	}
	req, err := http.NewRequestWithContext(ctx, x.Request.Method, target.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header = x.Request.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	for _, f := range req.Header.Values("Connection") {
		for name := range strings.SplitSeq(f, ",") {
			req.Header.Del(strings.TrimSpace(name))
		}
	}
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	for k, vs := range r.cfg.Header {
		req.Header[textproto.CanonicalMIMEHeaderKey(k)] = vs
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = nil // as captured: none, not Go's
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	return &Message{Status: resp.StatusCode, Header: resp.Header, Body: b, Host: target.Host}, nil
}
