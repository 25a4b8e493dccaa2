//go:build !unix

package main

import "os"

// terminalWidth returns 80: the width of a terminal is read on Unix only.
func terminalWidth(f *os.File) int { return 80 }

// isTTY reports true: elsewhere, isTerminal trusts the character device.
func isTTY(f *os.File) bool { return true }
