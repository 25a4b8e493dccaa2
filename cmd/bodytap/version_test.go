package main

import (
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2025-03-04T05:06:07Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"checkout", &debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"bodytap (devel) (commit 0123456789ab of 2025-03-04T05:06:07Z, with local changes), go1.25.0"},
		{"released", &debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Version: "v1.2.3"}},
			"bodytap v1.2.3 (commit of v1.2.3), go1.25.0"},
		{"-buildvcs=false", &debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Version: "(devel)"}},
			"bodytap (devel) (commit unknown), go1.25.0"},
		{"no module", &debug.BuildInfo{GoVersion: "go1.25.0"},
			"bodytap (devel) (commit unknown), go1.25.0"},
		{"no build info", nil, "bodytap (version unknown: built without module information)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionLine(tc.info); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out := ok(t, "version")
	if !regexp.MustCompile(`^bodytap \S+ \(commit [^)]*\), go1\.\d+`).MatchString(out) {
		t.Errorf("bodytap version: %q", out)
	}
	for _, flag := range []string{"--version", "-version"} {
		if got := ok(t, flag); got != out {
			t.Errorf("bodytap %s: %q, want %q as bodytap version says", flag, got, out)
		}
	}
	if !strings.Contains(ok(t, "--help"), "version") {
		t.Error("the usage does not list the version command")
	}
}
