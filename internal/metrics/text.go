package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// ContentType is the media type of what WriteText writes: the Prometheus
// text exposition format, version 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText writes fams in the Prometheus text exposition format: for
// each, a HELP and a TYPE line, then its samples.
func WriteText(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	var buf []byte
	for i := range fams {
		f := &fams[i]
		name := f.PromName()
		typ := "counter"
		if f.Kind == Gauge {
			typ = "gauge"
		}
		buf = append(buf[:0], "# HELP "...)
		buf = append(buf, name...)
		buf = append(buf, ' ')
		buf = append(buf, helpEscaper.Replace(f.Help)...)
		buf = append(buf, "\n# TYPE "...)
		buf = append(buf, name...)
		buf = append(buf, ' ')
		buf = append(buf, typ...)
		buf = append(buf, '\n')
		f.Read(func(v float64, label string) {
			buf = append(buf, name...)
			if f.Label != "" {
				buf = append(buf, '{')
				buf = append(buf, f.Label...)
				buf = append(buf, `="`...)
				buf = append(buf, labelEscaper.Replace(label)...)
				buf = append(buf, `"}`...)
			}
			buf = append(buf, ' ')
			buf = appendValue(buf, v)
			buf = append(buf, '\n')
		})
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// Handler serves the families fams returns at each request, in the text
// format.
func Handler(fams func() []Family) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		WriteText(w, fams())
	})
}

// sampleLine is a sample of the text format as WriteText writes it: a
// name, at most one label, a value.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"\})? (\S+)$`)

// ParseText reads the text format, strictly: every sample must follow
// the HELP and TYPE lines of its name, and no name may come twice. It
// returns the samples by series, "name" or `name{key="value"}`, and the
// TYPE of each name. It is for tests, of this package and of the servers.
func ParseText(r io.Reader) (samples map[string]float64, types map[string]string, err error) {
	samples, types = make(map[string]float64), make(map[string]string)
	help := make(map[string]bool)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, _, _ := strings.Cut(line[len("# HELP "):], " ")
			if help[name] {
				return nil, nil, fmt.Errorf("line %d: second HELP for %s", n, name)
			}
			help[name] = true
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(line[len("# TYPE "):], " ")
			if !help[name] || types[name] != "" {
				return nil, nil, fmt.Errorf("line %d: TYPE of %s without its HELP, or twice", n, name)
			}
			if typ != "counter" && typ != "gauge" {
				return nil, nil, fmt.Errorf("line %d: type %q", n, typ)
			}
			types[name] = typ
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				return nil, nil, fmt.Errorf("line %d: not a sample: %q", n, line)
			}
			if types[m[1]] == "" {
				return nil, nil, fmt.Errorf("line %d: %s before its TYPE", n, m[1])
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %v", n, err)
			}
			if _, dup := samples[m[1]+m[2]]; dup {
				return nil, nil, fmt.Errorf("line %d: %s%s twice", n, m[1], m[2])
			}
			samples[m[1]+m[2]] = v
		}
	}
	return samples, types, sc.Err()
}
