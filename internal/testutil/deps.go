package testutil

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// OwnDependenciesOnly fails tb if the package in the current directory
// depends, directly or not, on a module other than the standard library
// and bodytap's own root and internal packages, or one of also (import
// paths). Without the go command it skips the test, except in CI.
func OwnDependenciesOnly(tb testing.TB, also ...string) {
	tb.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("go command not on PATH in CI")
		}
		tb.Skip("go command not on PATH; this check runs in CI")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		switch {
		case p == "github.com/bodytap/bodytap":
		case strings.HasPrefix(p, "github.com/bodytap/bodytap/internal/"):
		case slices.Contains(also, p):
		default:
			tb.Errorf("depends on %s", p)
		}
	}
}
