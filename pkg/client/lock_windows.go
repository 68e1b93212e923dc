//go:build windows

package client

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes an exclusive lock on path (created if missing; a symbolic
// link there is refused), waiting while another process holds it, until
// ctx ends; unlock releases it. Windows locks a byte range with LockFileEx.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, errors.New(path + " is a symbolic link")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	h := windows.Handle(f.Fd())
	return holdLock(ctx, f, func() error {
		err := windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return errLockHeld
		}
		return err
	}, func() { _ = windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped)) })
}
