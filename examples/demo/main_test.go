package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bodytap/bodytap/internal/sample"
)

// TestRun runs the demo's sample traffic and checks that every request was
// logged and that the login's secrets were not.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	log := out.String()
	if n := strings.Count(log, "msg=exchange"); n != len(sample.Traffic) {
		t.Errorf("logged %d exchanges, want %d:\n%s", n, len(sample.Traffic), log)
	}
	for _, secret := range []string{"hunter2", "k3y", "very-secret"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds the secret %q:\n%s", secret, log)
		}
	}
	if !strings.Contains(log, "[REDACTED]") {
		t.Errorf("nothing was redacted:\n%s", log)
	}
}
