package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/bodytap/bodytap/internal/payload"
)

// redactBenchSizes are the body sizes the redaction benchmarks run at.
var redactBenchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
}

var (
	benchFirst = []string{"Alice", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Gustavo", "Hiroshi", "Ingrid", "Jamal"}
	benchLast  = []string{"Smith", "Okafor", "Müller", "Ivanova", "Nakamura", "García", "O'Brien", "Haddad"}
	benchTags  = []string{"admin", "beta", "billing", "eu-west", "trial", "vip", "support", "mobile"}
)

// benchJSON returns a realistic API response of about n bytes: a page of
// user records with ids, names, e-mail addresses, timestamps, nested
// objects and arrays, in compact form. With secrets, every eighth record
// (the first included) carries credentials under sensitive keys. With
// indent, the document is pretty-printed as many APIs send it.
func benchJSON(n int, secrets, indent bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i := 0; ; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		first, last := benchFirst[i%len(benchFirst)], benchLast[i%len(benchLast)]
		fmt.Fprintf(&b, `{"id":%d,"uuid":"%08x-4e2b-9c1d-%012x","type":"user","attributes":{`, 100000+i, i*2654435761%(1<<32), i*40503)
		fmt.Fprintf(&b, `"first_name":%q,"last_name":%q,"email":"%s.%s%d@example.com",`, first, last, first, last, i)
		fmt.Fprintf(&b, `"created_at":"2024-0%d-1%dT0%d:%02d:%02dZ","active":%t,"score":%d.%02d,"balance":-%de%d,`, 1+i%9, i%10, i%10, i%60, (i*7)%60, i%3 != 0, i%1000, i%100, i%50, i%5)
		fmt.Fprintf(&b, `"tags":[%q,%q],"address":{"street":"%d Main St","city":"Springfield","zip":"%05d","geo":[%d.%d,-%d.%d]},`, benchTags[i%len(benchTags)], benchTags[(i+3)%len(benchTags)], i%900+1, i*37%100000, i%90, i%1000, i%180, i%1000)
		b.WriteString(`"note":"Line one\nLine \"two\" with a \\ backslash and \u00e9",`)
		if secrets && i%8 == 0 {
			fmt.Fprintf(&b, `"password":"hunter%d!","api_key":"ak_live_%016x","credentials":{"token":"%032x","refresh":"r%d"},`, i, i*977, i*7919, i)
		}
		fmt.Fprintf(&b, `"roles":[{"id":%d,"name":%q,"permissions":["read","write"]}],"manager_id":null}}`, i%7, benchTags[i%5])
		if b.Len() >= n-40 {
			break
		}
	}
	fmt.Fprintf(&b, `],"meta":{"page":1,"per_page":%d,"total":12345,"next":"/v1/users?page=2"}}`, 100)
	if secrets {
		// One more at the top level, as an auth response would have.
		b.Truncate(b.Len() - 1)
		b.WriteString(`,"authorization":"Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig","client_secret":"cs_123"}`)
	}
	if !indent {
		return b.Bytes()
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// benchItems returns a document of n bytes shaped as the in-process
// benchmark's payload (bench/app.go, makePayload): an object holding an
// array of small records, a key or a string every few bytes, and a
// padding string, with nothing to hide.
func benchItems(n, seed int) []byte { return payload.Items(n, seed) }

// benchForm returns an application/x-www-form-urlencoded body of about n
// bytes; with secrets, some of its fields are sensitive.
func benchForm(n int, secrets bool) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte('&')
		}
		switch {
		case secrets && i%16 == 3:
			fmt.Fprintf(&b, "password=hunter%d%%21", i)
		case secrets && i%16 == 11:
			fmt.Fprintf(&b, "access_token=at_%016x", i*7919)
		default:
			fmt.Fprintf(&b, "field_%d=%s+%s&email%d=%s.%s%%40example.com&item%%5B%d%%5D%%5Bqty%%5D=%d", i, benchFirst[i%len(benchFirst)], benchLast[i%len(benchLast)], i, benchFirst[i%len(benchFirst)], benchTags[i%len(benchTags)], i, i%17)
		}
	}
	return b.Bytes()
}

// BenchmarkRedactJSON measures JSON body redaction, by itself, on bodies
// with nothing to hide ("clean"), with a few secrets ("secrets"),
// pretty-printed with nothing to hide ("indented"), and shaped as the
// in-process benchmark's payload ("items", benchItems), by names alone
// ("names") and with every value detector on too ("detect"): the
// difference between the two is what the detectors cost.
func BenchmarkRedactJSON(b *testing.B) {
	b.Run("names", func(b *testing.B) { benchRedactJSON(b, &Options{}, (*Options).redactJSON) })
	b.Run("detect", func(b *testing.B) { benchRedactJSON(b, &Options{Detect: AllDetectors}, (*Options).redactJSON) })
}

// BenchmarkRedactJSONReference is BenchmarkRedactJSON for the code as it
// was before it was made fast (redact_ref_test.go), to compare with.
func BenchmarkRedactJSONReference(b *testing.B) {
	benchRedactJSON(b, &Options{}, refRedactJSON)
}

func benchRedactJSON(b *testing.B, r *Options, redact func(*Options, []byte) ([]byte, int, error)) {
	for _, kind := range []struct {
		name            string
		secrets, indent bool
	}{
		{"clean", false, false},
		{"secrets", true, false},
		{"indented", false, true},
		{"items", false, false},
	} {
		for _, sz := range redactBenchSizes {
			body := benchJSON(sz.n, kind.secrets, kind.indent)
			if kind.name == "items" {
				body = benchItems(sz.n, 1)
			}
			b.Run(kind.name+"/"+sz.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					out, n, err := redact(r, body)
					if err != nil || (n > 0) != kind.secrets || (out == nil) != (n == 0) {
						b.Fatalf("redactJSON: %d replaced, %v", n, err)
					}
				}
			})
		}
	}
}

// BenchmarkRedactForm measures urlencoded form redaction.
func BenchmarkRedactForm(b *testing.B) {
	b.Run("names", func(b *testing.B) { benchRedactForm(b, &Options{}, redactPairs[[]byte]) })
	b.Run("detect", func(b *testing.B) { benchRedactForm(b, &Options{Detect: AllDetectors}, redactPairs[[]byte]) })
}

// BenchmarkRedactFormReference is BenchmarkRedactForm for the code as it
// was before it was made fast.
func BenchmarkRedactFormReference(b *testing.B) {
	benchRedactForm(b, &Options{}, refRedactPairs[[]byte])
}

func benchRedactForm(b *testing.B, r *Options, redact func(*Options, []byte) ([]byte, int)) {
	for _, kind := range []struct {
		name    string
		secrets bool
	}{
		{"clean", false},
		{"secrets", true},
	} {
		for _, sz := range redactBenchSizes[:2] {
			body := benchForm(sz.n, kind.secrets)
			b.Run(kind.name+"/"+sz.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, n := redact(r, body); (n > 0) != kind.secrets {
						b.Fatalf("redactPairs: %d replaced", n)
					}
				}
			})
		}
	}
}

// BenchmarkSensitiveField measures the name check on its own, over names
// typical of APIs.
func BenchmarkSensitiveField(b *testing.B) {
	r := &Options{}
	names := []string{"id", "uuid", "type", "attributes", "first_name", "last_name", "email", "created_at", "active", "score", "tags", "address", "street", "city", "zip", "roles", "permissions", "manager_id", "access_token", "password"}
	var bn [][]byte
	for _, n := range names {
		bn = append(bn, []byte(n))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range bn {
			sensitiveField(r, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bn)), "ns/name")
}

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

// BenchmarkFind measures the value detectors alone, over what redaction
// hands them in the benchmark bodies with nothing to hide: the JSON
// strings long enough to hold a secret, and the form values. ns/span is
// the time per string or value.
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
			b.ReportAllocs()
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
