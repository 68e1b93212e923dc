//go:build unix

package client

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path (created 0600 if missing; a
// symbolic link there is refused), waiting while another process holds it,
// until ctx ends; unlock releases it.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	return holdLock(ctx, f, func() error {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR) {
			return errLockHeld
		}
		return err
	}, func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) })
}
