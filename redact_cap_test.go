package bodytap

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRedactKeptWithinCap: a body that redaction makes longer is cut at
// the cap it was captured with, before a UTF-8 sequence rather than in
// it, and marked Truncated (issue 19: a 64 KiB cap showed 65537 bytes).
func TestRedactKeptWithinCap(t *testing.T) {
	const cap = 1 << 10
	tap := prepTap(t, Config{MaxBodyBytes: cap})
	var b strings.Builder
	b.WriteString(`[`)
	for b.Len() < cap+40 {
		b.WriteString(`{"pin":"1","n":"é"},`)
	}
	body := b.String()[:cap]
	x := bodyExchange("application/json", []byte(body))
	x.Response.Body.Truncated = true
	tap.prepare(x)
	got := x.Response.Body
	if len(got.Bytes) > cap || !got.Truncated || !got.Redacted || !utf8.Valid(got.Bytes) {
		t.Errorf("kept %d bytes (cap %d), Truncated %v, Redacted %v, valid UTF-8 %v", len(got.Bytes), cap, got.Truncated, got.Redacted, utf8.Valid(got.Bytes))
	}
}

// FuzzRedactCap: whatever the body, what redaction keeps fits the cap,
// and a valid JSON body that fits after redaction stays valid JSON.
func FuzzRedactCap(f *testing.F) {
	f.Add(`{"pin":"1","a":[{"otp":2}],"t":"Bearer abc123def456ghi789"}`, 64)
	f.Add(`{"a":"4111 1111 1111 1111"}`, 20)
	f.Add("text AKIAIOSFODNN7EXAMPLE text", 16)
	tap := prepTap(f, Config{MaxBodyBytes: 1 << 16})
	f.Fuzz(func(t *testing.T, in string, limit int) {
		if limit <= 0 || limit > 1<<16 || len(in) > limit {
			return
		}
		for _, ct := range []string{"application/json", "text/plain", "application/x-www-form-urlencoded"} {
			x := bodyExchange(ct, []byte(in))
			mem := tap.respMax
			tap.respMax = int64(limit)
			tap.prepare(x)
			tap.respMax = mem
			b := x.Response.Body
			if len(b.Bytes) > limit {
				t.Fatalf("%s: kept %d bytes past the cap %d", ct, len(b.Bytes), limit)
			}
			if ct == "application/json" && json.Valid([]byte(in)) && !b.Truncated && !b.Withheld && !json.Valid(b.Bytes) {
				t.Fatalf("valid JSON %q became %q", in, b.Bytes)
			}
		}
	})
}
