//go:build !unix

package pgtest

import (
	"errors"
	"os/exec"
)

func runAs(*exec.Cmd, string) {}

func chownTo(string, string) error { return errors.New("not supported on this system") }
