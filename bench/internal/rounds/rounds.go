// Package rounds runs the bench package's benchmarks in rounds of fresh
// processes and keeps their samples, one per round, for the commands that
// summarize them (benchall and benchcore): medians over the rounds,
// per-round ratios and their quantiles, and the formats of their tables.
//
// Each round runs the test binary with the implementations in a rotated
// order (-bench.rotate), so that a noisy minute on a shared machine hits
// them all alike.
package rounds

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Build compiles the bench package's benchmarks into a test binary in a
// new temporary directory, whose name starts with prefix. It must run in
// the bench module's root. cleanup removes the directory.
func Build(prefix string) (bin string, cleanup func(), err error) {
	if _, err := os.Stat("go.mod"); err != nil {
		return "", nil, fmt.Errorf("run me from the bench directory (the bench module's root): %v", err)
	}
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	bin = filepath.Join(tmp, "bench.test")
	log.Print("building the benchmarks")
	if err := Command("go", "test", "-c", "-o", bin, ".").Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go test -c: %v", err)
	}
	return bin, cleanup, nil
}

// Run runs the test binary bin for round r (from 0) with args, after the
// flags every run shares: no tests, allocations reported, and the
// implementations rotated r places. It returns the binary's output, also
// when it fails.
func Run(bin string, r int, args ...string) ([]byte, error) {
	args = append([]string{"-test.run", "^$", "-test.benchmem", "-bench.rotate", strconv.Itoa(r)}, args...)
	out, err := Command(bin, args...).Output()
	if err != nil {
		return out, fmt.Errorf("round %d: %s %s: %v\n%s", r+1, bin, strings.Join(args, " "), err, out)
	}
	return out, nil
}

// Command returns cmd with its standard error going to ours.
func Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	return cmd
}

// Loadavg returns the load averages over 1, 5 and 15 minutes, or
// "unknown".
func Loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
