//go:build unix

package pgstore

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f, released when f is closed, and
// reports whether it got it (false: another process holds it).
func lockFile(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
