package redact

import (
	"bytes"
	"testing"
)

// findBenchSpans returns the spans of b that redaction hands to find: the
// insides of the JSON strings long enough, or the form values.
func findBenchSpans(b []byte, form bool) [][2]int {
	var spans [][2]int
	if form {
		for pos := 0; pos < len(b); {
			end := bytes.IndexByte(b[pos:], '&')
			if end < 0 {
				end = len(b)
			} else {
				end += pos
			}
			if eq := bytes.IndexByte(b[pos:end], '='); eq >= 0 && end-(pos+eq+1) >= minSecret {
				spans = append(spans, [2]int{pos + eq + 1, end})
			}
			pos = end + 1
		}
		return spans
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		e, _ := jsonStringEnd(b, i)
		if e-i > minSecret {
			spans = append(spans, [2]int{i + 1, e - 1})
		}
		i = e - 1
	}
	return spans
}

func BenchmarkFind(b *testing.B) {
	for _, c := range []struct {
		name string
		b    []byte
		form bool
	}{
		{"json", benchJSON(64<<10, false, false), false},
		{"form", benchForm(64<<10, false), true},
	} {
		spans := findBenchSpans(c.b, c.form)
		mode := modeJSON
		if c.form {
			mode = modeForm
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for _, s := range spans {
					find(AllDetectors, c.b, s[0], s[1], mode)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
			b.ReportMetric(float64(len(spans)), "spans")
		})
	}
}
