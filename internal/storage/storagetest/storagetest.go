// Package storagetest is the conformance suite for storage.Store backends.
//
// A backend's tests call Run with a function that opens a fresh, empty
// store; Run checks every guarantee documented in package storage (ordering,
// atomic rollback, read-only views, snapshots, concurrency, Close, context
// cancellation) in its own subtest, each on a new store. Bench runs the
// shared benchmarks. A backend passes the suite when Run reports no failure
// under the race detector.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/keyhaven/keyhaven/internal/storage"
)

// Run runs the conformance suite against the stores that open returns. open
// must return a new, empty store each time it is called; Run closes it when
// the subtest ends (tolerating storage.ErrClosed), so open only needs to
// clean up other resources, e.g. with t.TempDir.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGetOverwriteDelete", testPutGetOverwriteDelete},
		{"DeleteAbsent", testDeleteAbsent},
		{"EmptyValue", testEmptyValue},
		{"EmptyKeyRejected", testEmptyKeyRejected},
		{"PutCopiesInput", testPutCopiesInput},
		{"ScanOrder", testScanOrder},
		{"ScanPrefixBoundaries", testScanPrefixBoundaries},
		{"ScanStart", testScanStart},
		{"ScanStopsEarly", testScanStopsEarly},
		{"ScanErrorPropagates", testScanErrorPropagates},
		{"ScanDeleteWhileScanning", testScanDeleteWhileScanning},
		{"UpdateErrorRollsBack", testUpdateErrorRollsBack},
		{"UpdateErrorRestoresRewrittenKeys", testUpdateErrorRestoresRewrittenKeys},
		{"ReadYourWrites", testReadYourWrites},
		{"ValuesStableDuringTx", testValuesStableDuringTx},
		{"ValuesCopiedOutSurvive", testValuesCopiedOutSurvive},
		{"ViewReadOnly", testViewReadOnly},
		{"ViewSnapshot", testViewSnapshot},
		{"ViewReturnsFnError", testViewReturnsFnError},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ContextCanceled", testContextCanceled},
		{"Close", testClose},
		{"CloseWithPendingUpdates", testCloseWithPendingUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// kv is one key/value pair, copied out of a transaction.
type kv struct {
	key, value string
}

var errBoom = errors.New("storagetest: deliberate failure")

func update(t testing.TB, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// putAll stores every pair in one Update.
func putAll(t testing.TB, s storage.Store, pairs ...kv) {
	t.Helper()
	update(t, s, func(tx storage.Tx) error {
		for _, p := range pairs {
			if err := tx.Put([]byte(p.key), []byte(p.value)); err != nil {
				return err
			}
		}
		return nil
	})
}

// putKeys stores each key with itself as value.
func putKeys(t testing.TB, s storage.Store, keys ...string) {
	t.Helper()
	pairs := make([]kv, len(keys))
	for i, k := range keys {
		pairs[i] = kv{k, k}
	}
	putAll(t, s, pairs...)
}

// lookup reads key in a View; found is false when Get wraps ErrNotFound.
func lookup(t testing.TB, s storage.Store, key string) (value string, found bool) {
	t.Helper()
	view(t, s, func(tx storage.Tx) error {
		var err error
		value, found, err = get(tx, key)
		return err
	})
	return value, found
}

// get reads key inside a transaction and copies the value out.
func get(tx storage.Tx, key string) (string, bool, error) {
	v, err := tx.Get([]byte(key))
	if errors.Is(err, storage.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get %q: %w", key, err)
	}
	return string(v), true, nil
}

func wantValue(t testing.TB, s storage.Store, key, want string) {
	t.Helper()
	got, found := lookup(t, s, key)
	if !found {
		t.Fatalf("key %q: not found, want %q", key, want)
	}
	if got != want {
		t.Fatalf("key %q = %q, want %q", key, got, want)
	}
}

func wantMissing(t testing.TB, s storage.Store, key string) {
	t.Helper()
	if got, found := lookup(t, s, key); found {
		t.Fatalf("key %q = %q, want not found", key, got)
	}
}

// scanTx collects Scan(prefix, start) inside a transaction.
func scanTx(tx storage.Tx, prefix, start []byte) ([]kv, error) {
	var out []kv
	err := tx.Scan(prefix, start, func(k, v []byte) (bool, error) {
		out = append(out, kv{string(k), string(v)})
		return true, nil
	})
	return out, err
}

// scan collects Scan(prefix, start) in a View.
func scan(t testing.TB, s storage.Store, prefix, start []byte) []kv {
	t.Helper()
	var out []kv
	view(t, s, func(tx storage.Tx) error {
		var err error
		out, err = scanTx(tx, prefix, start)
		return err
	})
	return out
}

func keysOf(pairs []kv) []string {
	keys := make([]string, len(pairs))
	for i, p := range pairs {
		keys[i] = p.key
	}
	return keys
}

func wantKeys(t testing.TB, what string, got []kv, want ...string) {
	t.Helper()
	g := keysOf(got)
	if !slices.Equal(g, want) {
		t.Fatalf("%s: got keys %q, want %q", what, g, want)
	}
}
