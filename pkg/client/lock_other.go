//go:build !unix

package client

import "context"

// lockFile does not lock where flock(2) does not exist: commands sharing a
// sign-in there must not refresh it at the same time.
func lockFile(context.Context, string) (unlock func(), err error) { return func() {}, nil }
