//go:build !unix

package client

// lockFile does not lock where flock(2) does not exist: commands sharing a
// sign-in there must not refresh it at the same time.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
