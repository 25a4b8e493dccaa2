//go:build !unix

package pgstore

import "os"

// lockFile is a no-op where flock is missing: there, a spool directory
// must not be shared by processes.
func lockFile(*os.File) (bool, error) { return true, nil }
