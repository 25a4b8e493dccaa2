package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlags("version")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(e.stdout, versionLine(info))
	return nil
}

// versionLine describes a build: the module's version ("(devel)" when
// built from a source tree), the commit it was built from, and the Go
// release. The commit is known only when the build stamped it: go build
// in a git checkout does, unless -buildvcs=false; go install of a
// released version leaves the version to say it.
func versionLine(info *debug.BuildInfo) string {
	if info == nil {
		return "bodytap (version unknown: built without module information)"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	commit := "commit unknown"
	if rev != "" {
		commit = "commit " + rev[:min(len(rev), 12)]
		if at != "" {
			commit += " of " + at
		}
		if modified {
			commit += ", with local changes"
		}
	} else if strings.HasPrefix(version, "v") {
		commit = "commit of " + version
	}
	return fmt.Sprintf("bodytap %s (%s), %s", version, commit, info.GoVersion)
}
