package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/secrettest"
)

// The tests in this file hold scanPlain, the scanner for the usual rules,
// to scan, the scanner for every rule, which the tests in diff_test.go
// hold to the reference: with the value detectors on (which the
// reference has not) and off, on the same inputs, they must give the
// same bytes, the same count, the same detectors, and fall back to the
// textual pass on the same inputs.

// plainConfigs are the rules scanPlain is for: no Fields, no JSONPaths.
var plainConfigs = []Options{
	{},
	{Detect: AllDetectors},
	{Detect: AllDetectors &^ DetectCard},
	{Detect: DetectCard},
	{Detect: DetectAWS | DetectHTTPAuth},
	{Detect: AllDetectors, Replacement: "a\"b\\c\n<>é"},
}

// redactJSONBy is redactJSONFound with the scanner chosen: scan if all,
// else scanPlain. It also says whether the scanner followed the input
// to its end (or fell back to the textual pass).
func redactJSONBy(r *Options, b []byte, all bool) (out []byte, n int, found Detector, ok bool) {
	s := jsonScrubber{r: r, in: b, det: r.Detect & AllDetectors}
	return s.run(!all)
}

// checkPlainSame fails tb if scanPlain and scan differ on in.
func checkPlainSame(tb testing.TB, r *Options, in []byte) {
	tb.Helper()
	out, n, found, ok := redactJSONBy(r, in, false)
	wout, wn, wfound, wok := redactJSONBy(r, in, true)
	if !bytes.Equal(out, wout) || (out == nil) != (wout == nil) || n != wn || found != wfound || ok != wok {
		tb.Fatalf("scanPlain(%q) with %+v:\ngot  %q, %d, %v, scanned %v\nwant %q, %d, %v, scanned %v",
			trimForLog(in), r, trimForLog(out), n, found, ok, trimForLog(wout), wn, wfound, wok)
	}
	// And redactJSONFound, which picks scanPlain for these rules.
	if gout, gn, gfound, err := r.redactJSONFound(in); err == nil && (!bytes.Equal(gout, wout) || gn != wn || gfound != wfound) {
		tb.Fatalf("redactJSONFound(%q) with %+v: got %q, %d, %v, want %q, %d, %v", trimForLog(in), r, trimForLog(gout), gn, gfound, trimForLog(wout), wn, wfound)
	}
}

// plainSeeds are inputs for the corners of scanPlain: keys and strings
// whose end (or a backslash) is at, before or after each of the bytes
// the scanner loads a word of, at the end of the input or not; literals
// cut and misspelt; containers at the 64 that a word of objs keeps;
// secrets in strings and numbers; invalid UTF-8.
func plainSeeds() []string {
	seeds := append([]string(nil), diffSeeds...)
	words := []string{"token", "password", "x", "id", "pw", "apiKey", "é", "\xff\xfe", `\"`, `\\`, `\u0074`, "a\x00b"}
	for n := 0; n <= 20; n++ {
		for _, w := range words {
			k := strings.Repeat("k", n) + w
			if len(k) > n+1 {
				k = k[:n+1]
			}
			for _, v := range []string{`1`, `"v"`, `"` + strings.Repeat("v", n) + `"`, `{"a":[1]}`, `true`, `nul`} {
				seeds = append(seeds,
					`{"`+k+`":`+v+`}`, `{"`+k+`" :`+v+`,"b":2}`, `{"`+k+"\"\n\t:"+v+`}`,
					`{"`+strings.Repeat("k", n)+`token":`+v+`}`, `{"token`+strings.Repeat("_", n)+`":`+v+`}`,
					`["`+k+`",`+v+`]`, `["`+k+`"`, `{"`+k, `{"`+k+`"`, `{"`+k+`":`)
			}
		}
	}
	for _, v := range []string{"true", "false", "null", "tru", "fals", "nul", "t", "f", "n", "trUe", "falsy", "nulL", "truex", "null1", "1e5", "-", "-0", "--1", "1.2.3", "+1"} {
		seeds = append(seeds, v, "["+v+"]", `{"a":`+v+`}`, `{"a":`+v+`,"b":[`+v+`,`+v+`]}`, "["+v+" ,"+v+"\n]", `[`+v)
	}
	for _, d := range []int{62, 63, 64, 65, 127, 128, 129} {
		seeds = append(seeds,
			strings.Repeat(`[`, d)+`{"token":1,"a":"`+strings.Repeat("x", 20)+`"}`+strings.Repeat(`]`, d)+`{"pw":1}`,
			strings.Repeat(`{"a":`, d)+`[]`+strings.Repeat(`}`, d)+`,{"pw":2}`,
			strings.Repeat(`{"a":[`, d/2)+`{}`+strings.Repeat(`]}`, d/2)+`{"secret":"s"}`,
			strings.Repeat(`[{}, [], `, d)+`"x"`+strings.Repeat(`]`, d))
	}
	for i, s := range secrettest.Generate(23, 80) {
		q, _ := json.Marshal(s.Value)
		key := []string{"note", "n", "a_longer_key", "x"}[i%4]
		seeds = append(seeds,
			`{"`+key+`":`+string(q)+`}`,
			`["`+strings.Repeat("é", i%9)+string(q[1:]),
			`{"a":[`+string(q)+`,"`+strings.ReplaceAll(s.Value, "/", `\/`)+`"]}`,
			`{"`+key+`":"see \n`+string(q[1:len(q)-1])+`\n"}`)
	}
	for _, n := range []string{"4111111111111111", "4111 1111 1111 1111", "378282246310005", "-4111111111111111", "41111111111111112", "4111111111111111.5", "4111111111111111e2", "5105105105105100", "4222222222222", "30569309025904", "4222 2222 22222"} {
		seeds = append(seeds, `{"n":`+n+`}`, `[`+n+`,`+n+`]`, n, `{"n":"`+n+`"}`)
	}
	return seeds
}

// TestScanPlainMatchesScan compares scanPlain with scan, with the
// detectors on and off, on the seeds (whole and cut at every byte), on
// the benchmark bodies (cut at many places), and on many random
// documents, whole and damaged.
func TestScanPlainMatchesScan(t *testing.T) {
	n := 5000
	if testing.Short() || raceEnabled {
		n = 500
	}
	var bodies [][]byte
	for _, s := range plainSeeds() {
		bodies = append(bodies, []byte(s))
	}
	for _, size := range []int{1 << 10, 8 << 10} {
		for _, secrets := range []bool{false, true} {
			bodies = append(bodies, benchJSON(size, secrets, false), benchJSON(size, secrets, true))
		}
		bodies = append(bodies, benchItems(size, 1))
	}
	for ci := range plainConfigs {
		r := &plainConfigs[ci]
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			for _, in := range bodies {
				checkPlainSame(t, r, in)
				step := 1
				if len(in) > 600 {
					step = 1 + len(in)/300
				}
				if raceEnabled {
					// One goroutine: the race detector has nothing to
					// find here, only time to spend; the plain run cuts
					// at every byte.
					step = max(step, 7)
				}
				for k := 0; k < len(in); k += step {
					checkPlainSame(t, r, in[:k])
				}
			}
			g := jsonGen{r: rand.New(rand.NewPCG(11, uint64(ci)))}
			secrets := secrettest.Generate(29, 200)
			for i := range n {
				doc := g.doc()
				if i%4 == 0 {
					// A secret in a string somewhere.
					s := secrets[i%len(secrets)].Value
					q, _ := json.Marshal(s)
					if p := bytes.IndexByte(doc, '"'); p >= 0 {
						doc = append(doc[:p:p], append(q, doc[p:]...)...)
					}
				}
				checkPlainSame(t, r, doc)
				for range 3 {
					checkPlainSame(t, r, damage(g.r, doc))
				}
			}
		})
	}
}

// TestScanPlainMemo: the keys that scanPlain and scan keep in the shared
// memos are kept alike, so that either finds the other's: a key looked up
// by one and then by the other is sensitive or not as sensitiveName
// says, whatever its length.
func TestScanPlainMemo(t *testing.T) {
	keys := []string{"a", "pw", "pin", "token", "tokens", "secret1", "password", "passwor", "api_key", "id", "cvv", "x_pw", "abcdefgh", "abcdefghijklmno", "abcdefghijklmnop", "passwordpassword", "tokentokentoken"}
	for round := range 4 {
		for _, k := range keys {
			in := []byte(`{"` + k + `":1,"` + k + `":"` + strings.Repeat("v", 20) + `"}`)
			want := 0
			if sensitiveName(k) {
				want = 2
			}
			_, n, _, _ := redactJSONBy(&Options{}, in, round%2 == 0)
			if n != want {
				t.Fatalf("round %d: key %q: %d hidden, want %d", round, k, n, want)
			}
		}
	}
}

// FuzzScanPlain: scanPlain and scan agree on anything, in every
// configuration of plainConfigs.
func FuzzScanPlain(f *testing.F) {
	for _, s := range plainSeeds()[:400] {
		f.Add(s)
	}
	f.Add(string(benchJSON(1<<10, true, false)))
	f.Add(string(benchItems(1<<10, 1)))
	f.Fuzz(func(t *testing.T, in string) {
		for ci := range plainConfigs {
			checkPlainSame(t, &plainConfigs[ci], []byte(in))
		}
	})
}
