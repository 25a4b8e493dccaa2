// Command bodytap captures HTTP traffic with no code change: a capturing
// reverse proxy in front of any server, an embedded SQLite store, and the
// commands to list, show, follow, export and import what it captured.
//
//	bodytap demo                                 sample upstream, proxy and viewer, with sample traffic
//	bodytap proxy --upstream http://127.0.0.1:3000
//	bodytap ls '~m POST & ~c 5xx'
//	bodytap show 01JD5...
//	bodytap tail '~u /api'
//	bodytap export --har out.har '~d example.com'
//	bodytap import in.har
//	bodytap replay --to http://127.0.0.1:3001 --detect-noise '~u /api'
//	bodytap mock --listen 127.0.0.1:3000 --har recorded.har
//	bodytap ui
//	bodytap collect                              receive captures from a fleet over OTLP into the store
//	bodytap help filters
//	bodytap version
//
// --db is a SQLite file or a PostgreSQL database that many processes
// share (postgres://user:password@host/db), for every command that takes
// it; messages mask its password.
//
// Every flag can also come from the environment: --db from BODYTAP_DB,
// --max-body from BODYTAP_MAX_BODY, and so on. Flags may come before or
// after the positional arguments.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// A command is one subcommand of bodytap.
type command struct {
	name    string
	args    string // positional arguments, for the usage line
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a command talks to: its output streams and environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	name           string // how to invoke bodytap in printed hints
}

var commands []*command

func init() {
	commands = []*command{
		{"demo", "", "run a sample upstream behind the proxy and the viewer, with sample traffic", runDemo},
		{"proxy", "", "capture everything between clients and an upstream server", runProxy},
		{"ls", "[FILTER]", "list captured exchanges, newest first", runLs},
		{"show", "ID", "show one exchange with headers and decoded bodies", runShow},
		{"tail", "[FILTER]", "follow exchanges as they are captured", runTail},
		{"export", "[FILTER]", "write exchanges to a HAR 1.2 file", runExport},
		{"import", "FILE", "read a HAR or JSON Lines file into the store", runImport},
		{"replay", "[FILTER]", "send captured requests to another server and compare the responses", runReplay},
		{"mock", "[FILTER]", "answer requests from captured exchanges, as a stand-in for the upstream", runMock},
		{"ui", "", "serve the web viewer for a store", runUI},
		{"collect", "", "receive captures from a fleet over OTLP (OpenTelemetry) and store them", runCollect},
		{"version", "", "print bodytap's version and the commit it was built from", runVersion},
		{"help", "[COMMAND|filters]", "show help for a command or for the filter syntax", runHelp},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, name: invokedAs()}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs one bodytap command line and returns the exit code: 0 on
// success, 2 on a usage error, 1 on any other failure. Errors are printed
// as one line that names the command.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" {
		usage(e.stdout)
		return 0
	}
	if name == "-version" || name == "--version" {
		name = "version"
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(e.stderr, "bodytap: unknown command %q (run 'bodytap help')\n", name)
		return 2
	}
	err := cmd.run(ctx, e, args[1:])
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return 0
	case errors.As(err, new(*usageError)):
		fmt.Fprintf(e.stderr, "bodytap %s: %v\n", cmd.name, err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "bodytap %s: %v\n", cmd.name, err)
		return 1
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "bodytap captures HTTP exchanges, bodies included, and keeps them in a SQLite store.\n\nUsage:\n  bodytap COMMAND [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'bodytap COMMAND --help' for a command's flags and 'bodytap help filters'\nfor the filter syntax. Every flag can also be set from the environment:\n--db from BODYTAP_DB, --max-body from BODYTAP_MAX_BODY, and so on.\n\n--db is a SQLite file, or a PostgreSQL database (postgres://user:password@host/db)\nthat many proxies and collectors share, for every command that takes --db.\n")
}

// invokedAs returns how the user ran bodytap, for the hints it prints:
// "go run ./cmd/bodytap" when it runs from go run's temporary build.
func invokedAs() string {
	exe := os.Args[0]
	if strings.Contains(exe, "go-build") {
		return "go run ./cmd/bodytap"
	}
	return "bodytap"
}
