package har

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The HAR schema check runs the npm package har-validator 5.1.5 under
// node, on testdata/validate.js. It finds the package in
// $BODYTAP_NODE_MODULES, else in testdata/node_modules; install it with
//
//	npm install --prefix har/testdata --no-save --no-audit --no-fund har-validator@5.1.5
//
// When node or the package is missing the check is skipped, except in CI
// (CI set), where it fails.

// validate checks the HAR files at paths against the HAR 1.2 schema.
func validate(tb testing.TB, paths ...string) {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(tb, "node is not installed")
		return
	}
	script, err := filepath.Abs(filepath.Join("testdata", "validate.js"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(node, append([]string{script}, paths...)...)
	cmd.Env = os.Environ()
	if dir := os.Getenv("BODYTAP_NODE_MODULES"); dir != "" {
		cmd.Env = append(cmd.Env, "NODE_PATH="+dir)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		missing(tb, strings.TrimSpace(string(out)))
	default:
		tb.Errorf("har-validator: %v\n%s", err, out)
	}
}

func missing(tb testing.TB, why string) {
	tb.Helper()
	const how = "install it with: npm install --prefix har/testdata --no-save --no-audit --no-fund har-validator@5.1.5 " +
		"(or point BODYTAP_NODE_MODULES at a node_modules that has it)"
	if os.Getenv("CI") != "" {
		tb.Fatalf("HAR schema check cannot run: %s; %s", why, how)
	}
	tb.Skipf("HAR schema check skipped: %s; %s", why, how)
}

// writeFile writes data to a new file in dir and returns its path.
func writeFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestValidateRoundTripCases(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cases.har")
	w, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range roundTripCases(t) {
		w.Record(tc.x)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	empty := writeFile(t, dir, "empty.har", streamed(t))
	validate(t, p, empty)
}

// TestValidatorRejects makes sure the check can fail: a file missing a
// required field must not pass.
func TestValidatorRejects(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.har", []byte(`{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[{"time":1}]}}`))
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed")
		return
	}
	cmd := exec.Command(node, filepath.Join("testdata", "validate.js"), bad)
	if d := os.Getenv("BODYTAP_NODE_MODULES"); d != "" {
		cmd.Env = append(os.Environ(), "NODE_PATH="+d)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		missing(t, strings.TrimSpace(string(out)))
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		if !strings.Contains(string(out), "startedDateTime") {
			t.Errorf("the validator's complaint does not name the missing field:\n%s", out)
		}
	default:
		t.Errorf("got %v, want exit status 1:\n%s", err, out)
	}
}
