package redact

import (
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/secrettest"
)

// checkFind fails tb if find and findRef, the scan of every byte, differ
// on any start in b, in mode.
func checkFind(tb testing.TB, b string, mode int) {
	tb.Helper()
	for lo := 0; lo <= len(b); lo++ {
		f, t, w := find(AllDetectors, b, lo, len(b), mode)
		rf, rt, rw := findRef(AllDetectors, b, lo, len(b), mode)
		if f != rf || t != rt || w != rw {
			tb.Fatalf("mode %d, from %d, in %q: got %d:%d %v, want %d:%d %v", mode, lo, b, f, t, w, rf, rt, rw)
		}
		for _, d := range []Detector{DetectCard, DetectAWS, DetectHTTPAuth, AllDetectors &^ DetectCard} {
			f, t, w := find(d, b, lo, len(b), mode)
			rf, rt, rw := findRef(d, b, lo, len(b), mode)
			if f != rf || t != rt || w != rw {
				tb.Fatalf("detectors %v, mode %d, from %d, in %q: got %d:%d %v, want %d:%d %v", d, mode, lo, b, f, t, w, rf, rt, rw)
			}
		}
	}
}

// findContexts are what a secret is put between for TestFindAgrees: the
// bytes that a skip could step over wrongly (blanks, "%20", '+',
// escapes, word bytes) and nothing at all.
var findContexts = [][2]string{
	{"", ""}, {"x ", " y"}, {"x", "y"}, {`\n`, `\n`}, {`\\`, `\"`}, {`\\\n`, `\t`}, {"a\\", "\\"},
	{"+", "+"}, {"%20", "%20"}, {"Bearer ", ""}, {"Bearer%20", "&"}, {"Basic+", "="}, {"Bearer\t\t", "."},
	{"aws_secret=", ""}, {"-", "-"}, {"1 ", " 2"}, {".", ","}, {"\\/", "\\/"}, {"/", "/"}, {"é", "é"},
}

// TestFindAgrees: find, which skips what cannot hold a secret, finds
// exactly what the scan of every byte finds, from every start, in every
// mode, around the generated secrets and in the benchmark bodies.
func TestFindAgrees(t *testing.T) {
	secrets := secrettest.Generate(11, 120)
	for i, s := range secrets {
		cx := findContexts[i%len(findContexts)]
		for _, v := range []string{s.Value, url.QueryEscape(s.Value), strings.ReplaceAll(s.Value, "/", `\/`)} {
			q, _ := json.Marshal(v)
			for mode := modeText; mode <= modeForm; mode++ {
				checkFind(t, cx[0]+v+cx[1], mode)
				checkFind(t, string(q), mode)
			}
		}
	}
	edges := []string{
		"Basic dXNlcjpw", "Basic%20dXNlcjpw", "Basic+dXNlcjpw", "Basic%20+%20dXNlcjpw", `"\tBasic dXNlcjpw"`,
		"xBasic dXNlcjpw", "Bearer abc123def456", "Bearer%20%20abc123def456%3D", `\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n`, `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n`, `"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\\\"`,
		`https:\/\/hooks.slack.com\/services\/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`, `hooks.slack.com\\/services/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`,
		`\nwJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY\n`, `\\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, `x\/\/\`, `Basic dXNlcjpw\/\/`,
		"4111 1111 1111 1111", "4111+1111+1111+1111", `\n4111111111111111`, "x4111111111111111", "41111111111111111111", "4222222222222", "n 4222222222222.",
	}
	for _, e := range edges {
		for mode := modeText; mode <= modeForm; mode++ {
			checkFind(t, e, mode)
		}
	}
	for _, b := range []string{string(benchJSON(4<<10, true, false)), string(benchJSON(2<<10, false, true)), string(benchForm(2<<10, true))} {
		for mode := modeText; mode <= modeForm; mode++ {
			for lo := 0; lo < len(b); lo += 97 {
				checkFind(t, b[lo:min(len(b), lo+300)], mode)
			}
		}
	}
}

// TestFindAgreesRandom: find and the scan of every byte agree on random
// strings of the bytes that matter, with pieces of secrets in them.
func TestFindAgreesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 19))
	var pieces []string
	for _, s := range secrettest.Generate(13, 60) {
		pieces = append(pieces, s.Value, s.Core)
	}
	pieces = append(pieces, "Bearer", "Basic", "%20", "\\", `\"`, `\n`, `\/`, " ", "+", "-", "=", ".", "/", "eyJ", "AKIA", "4111", "-----BEGIN", "hooks.slack.com/services/")
	const alphabet = "aAbB09+/=-_. \t\\\"%2xyz56"
	n := 3000
	if testing.Short() || raceEnabled {
		n = 300
	}
	for range n {
		var b strings.Builder
		for b.Len() < 90 {
			if rng.IntN(3) == 0 {
				p := pieces[rng.IntN(len(pieces))]
				if len(p) > 4 && rng.IntN(2) == 0 {
					p = p[:rng.IntN(len(p))] // a secret cut short
				}
				b.WriteString(p)
			} else {
				for range 1 + rng.IntN(6) {
					b.WriteByte(alphabet[rng.IntN(len(alphabet))])
				}
			}
		}
		for mode := modeText; mode <= modeForm; mode++ {
			checkFind(t, b.String(), mode)
		}
	}
}

// FuzzFind: find and the scan of every byte agree on anything.
func FuzzFind(f *testing.F) {
	for _, s := range secrettest.Generate(17, 30) {
		f.Add(s.Value, uint8(0))
		q, _ := json.Marshal("x\\ " + s.Value)
		f.Add(string(q), uint8(1))
		f.Add("a=Bearer%20"+url.QueryEscape(s.Value), uint8(2))
	}
	f.Fuzz(func(t *testing.T, in string, mode uint8) {
		if len(in) > 400 {
			return // checkFind is quadratic
		}
		checkFind(t, in, int(mode%3))
	})
}

// TestPairTab: the pairs that mayHold looks for are those that the scan
// of every byte starts a secret at, detector by detector, and no others
// for all the detectors together.
func TestPairTab(t *testing.T) {
	for c := range 256 {
		for n := range 256 {
			pair := func(d Detector) bool {
				return uint16(pairTab[c]&(pairTab[n]>>16))&pairsOf[d] != 0
			}
			want := startDetectors[c] != 0 && secondByte(byte(c), byte(n))
			if pair(AllDetectors) != want {
				t.Errorf("%q, %q: pair %v, want %v", c, n, pair(AllDetectors), want)
			}
			for k := range numDetectors {
				if d := Detector(1) << k; startDetectors[c]&d != 0 && want && !pair(d) {
					t.Errorf("%q, %q: no pair for %v", c, n, d)
				}
			}
			if slash := uint16(pairTab[c]&(pairTab[n]>>16))&pairSlash != 0; slash != (c == '\\' && n == '/') {
				t.Errorf("%q, %q: escaped slash %v", c, n, slash)
			}
		}
	}
}

// TestMinPairSecret: the shortest secrets that start at a pair are
// minPairSecret bytes long, and found at the very end of a text (where
// mayHold stops looking for pairs minPairSecret-1 bytes before it), but
// not a byte shorter; so is each of the generated secrets, from every
// start, with an escaped slash after it or not.
func TestMinPairSecret(t *testing.T) {
	for _, s := range []string{"eyJhbGciOi.ab.", "Basic dXNlcjpw", "bAsIc\tdXNlcjpw"} {
		if len(s) != minPairSecret {
			t.Fatalf("%q: %d bytes, want %d", s, len(s), minPairSecret)
		}
		for _, pre := range []string{"", "x ", `\n`, "é "} {
			for mode := modeText; mode <= modeForm; mode++ {
				in := pre + s
				// (Outside JSON, "\n" is no escape: "neyJ..." is no word start.)
				if _, _, w := find(AllDetectors, in, 0, len(in), mode); w == 0 && (pre != `\n` || mode == modeJSON) {
					t.Errorf("mode %d: %q not found", mode, in)
				}
				checkFind(t, in, mode)
				checkFind(t, in[:len(in)-1], mode)
				checkFind(t, in+`\/`, mode)
			}
		}
	}
	for _, s := range secrettest.Generate(31, 200) {
		for _, v := range []string{s.Value, s.Value + `\/`, `\/` + s.Value} {
			checkFind(t, v, modeJSON)
		}
	}
}
