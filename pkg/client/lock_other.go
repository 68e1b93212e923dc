//go:build !unix && !windows

package client

import "context"

// lockFile does not lock where neither flock(2) nor LockFileEx exists
// (plan9, wasm): commands sharing a sign-in there must not refresh it at
// the same time.
func lockFile(context.Context, string) (unlock func(), err error) { return func() {}, nil }
