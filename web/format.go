package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/media"
	"github.com/bodytap/bodytap/store"
)

// row is one line of the list, formatted: the server renders rows with
// html/template, and sends the same fields as JSON to the live stream, so
// that the script only ever puts ready-made strings into text nodes.
type row struct {
	ID        string `json:"id"`
	Href      string `json:"href"`
	Time      string `json:"time"`
	TimeTitle string `json:"timeTitle"`
	Method    string `json:"method"`
	Host      string `json:"host"`
	Path      string `json:"path"`
	Status    string `json:"status"`
	Class     string `json:"class"` // s2, s3, s4, s5, s0 (no response), s1
	Dur       string `json:"dur"`
	Req       string `json:"req"`
	Resp      string `json:"resp"`
	Type      string `json:"type"`
	Title     string `json:"title"` // the full URL and error, as a tooltip
	Flags     string `json:"flags"` // CSS classes: x-error, x-truncated, x-redacted, x-hijacked
}

// exchangeHref is the stable address of an exchange's detail page.
func exchangeHref(id bodytap.ID) string { return "/x/" + id.String() }

func newRow(s *store.Summary, now time.Time) row {
	host, path := s.Host, s.Path
	if u, err := url.Parse(s.URL); err == nil && s.URL != "" {
		if u.Host != "" {
			host = u.Host
		}
		path = u.EscapedPath()
		if u.Opaque != "" {
			path = u.Opaque
		}
		if u.RawQuery != "" {
			path += "?" + u.RawQuery
		}
	}
	if path == "" {
		path = "/"
	}
	title := s.URL
	if s.Route != "" {
		title += "\nroute: " + s.Route
	}
	if s.Error != "" {
		title += "\nerror: " + s.Error
	}
	var flags []string
	if s.Error != "" {
		flags = append(flags, "x-error")
	}
	if s.Truncated {
		flags = append(flags, "x-truncated")
		title += "\na body was truncated"
	}
	if s.Redacted {
		flags = append(flags, "x-redacted")
		title += "\na body was redacted"
	}
	if s.Hijacked {
		flags = append(flags, "x-hijacked")
		title += "\nthe connection was hijacked"
	}
	status, class := statusText(s.Status)
	return row{
		ID:        s.ID.String(),
		Href:      exchangeHref(s.ID),
		Time:      shortTime(s.Start, now),
		TimeTitle: s.Start.Local().Format("2006-01-02 15:04:05.000 MST"),
		Method:    s.Method,
		Host:      host,
		Path:      path,
		Status:    status,
		Class:     class,
		Dur:       fmtDuration(s.Duration),
		Req:       fmtSize(s.ReqSize),
		Resp:      fmtSize(s.RespSize),
		Type:      media.Type(s.ContentType),
		Title:     title,
		Flags:     strings.Join(flags, " "),
	}
}

// statusText returns the text and CSS class of a status code.
func statusText(code int) (text, class string) {
	switch {
	case code <= 0:
		return "—", "s0"
	case code < 200:
		return strconv.Itoa(code), "s1"
	case code < 600:
		return strconv.Itoa(code), "s" + strconv.Itoa(code/100)
	}
	return strconv.Itoa(code), "s0"
}

// shortTime formats a start time for the list: the time of day, with the
// date when it is not today.
func shortTime(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04:05.000")
	}
	if t.Year() == now.Year() {
		return t.Format("Jan 02 15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

// fmtDuration formats a duration with three significant digits.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d/time.Microsecond)
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond)) + " ms"
	case d < time.Minute:
		return sig3(d.Seconds()) + " s"
	}
	return d.Round(time.Second).String()
}

func sig3(v float64) string {
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// fmtSize formats a byte count in binary units.
func fmtSize(n int64) string {
	const unit = 1024
	if n < 0 {
		return "?"
	}
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= unit
		if v < unit || u == "TiB" {
			return sig3(v) + " " + u
		}
	}
	return "" // not reached
}

// fmtCount formats a count with thousands separators.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
