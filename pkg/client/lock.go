package client

import (
	"context"
	"errors"
	"os"
	"time"
)

// errLockHeld is what a lock attempt reports while another process holds
// the lock.
var errLockHeld = errors.New("lock held elsewhere")

// retryLock calls try until it takes the lock (nil), fails otherwise (an
// error other than errLockHeld), or ctx ends, waiting between attempts
// from a millisecond up to a tenth of a second.
func retryLock(ctx context.Context, try func() error) error {
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := try()
		if !errors.Is(err, errLockHeld) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.New("another command holds the sign-in")
		case <-time.After(wait):
		}
	}
}

// holdLock takes the lock on f with try (retried while it reports
// errLockHeld) and returns what releases it and closes f; f is closed if
// the lock is not taken.
func holdLock(ctx context.Context, f *os.File, try func() error, release func()) (unlock func(), err error) {
	if err := retryLock(ctx, try); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		release()
		f.Close()
	}, nil
}
