// Package storage defines the ordered key-value store that keyhaven's core
// owns. Backends (memory, bbolt, later PostgreSQL) implement Store; the
// storagetest package holds the conformance suite every backend must pass.
//
// Guarantees every backend gives:
//   - Keys are compared as raw bytes; Scan visits keys in ascending order.
//   - Update runs fn in a read-write transaction. When Update returns nil the
//     transaction's writes are durable (on disk-backed stores: fsynced) and
//     visible to every later View or Update. When fn returns an error, none of
//     its writes are applied and Update returns that error unchanged.
//   - fn may be called more than once (a backend may retry it after another
//     transaction in the same group commit failed), so it must not have side
//     effects outside the transaction.
//   - View runs fn in a read-only transaction that sees a consistent snapshot.
//   - Values passed to and returned from a Tx are only valid during fn; callers
//     copy what they keep. Callers must not modify returned slices. A Tx
//     copies what it is given, so callers may reuse their buffers after Put.
//   - fn must not start another transaction on the same Store (that may
//     deadlock), and must not use its Tx after returning.
//   - If ctx is already done when View or Update is called, fn is not run
//     and ctx.Err() is returned.
//
// Storage never sees plaintext: the barrier package encrypts every value
// before it reaches a Store.
package storage

import (
	"context"
	"errors"
)

// ErrNotFound is returned (possibly wrapped) by Tx.Get when the key is absent.
var ErrNotFound = errors.New("storage: key not found")

// ErrReadOnly is returned by Put and Delete inside a View transaction.
var ErrReadOnly = errors.New("storage: write in read-only transaction")

// ErrClosed is returned by every operation after Close.
var ErrClosed = errors.New("storage: store is closed")

// Store is a transactional, ordered key-value store.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction that is durable when
	// Update returns nil. Concurrent Updates may share one commit.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store. Pending Updates either complete or fail.
	Close() error
}

// Generations is implemented by stores that number their commits, so that
// a program can note the number when it stops and tell at its next start
// whether anything (another program included) wrote in between.
type Generations interface {
	// Generation returns the number of the last commit.
	Generation() (uint64, error)
	// NoteGeneration commits, at key, the number of that very commit as 8
	// big-endian bytes: right after it, Generation returns the same number.
	NoteGeneration(key []byte) error
}

// Tx is a transaction handed to the function given to View or Update.
type Tx interface {
	// Get returns the value stored at key, or an error wrapping ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Put stores value at key, replacing any previous value. Empty values
	// are allowed; keys must be non-empty.
	Put(key, value []byte) error
	// Delete removes key. Deleting an absent key is not an error.
	Delete(key []byte) error
	// Scan calls fn for every key that starts with prefix and is >= start
	// (start may be nil), in ascending key order, until fn returns false or
	// an error. An error from fn stops the scan and is returned. Inside an
	// Update, fn may Delete the key it was given (e.g. to clear a prefix);
	// the scan then continues with the next key.
	Scan(prefix, start []byte, fn func(key, value []byte) (more bool, err error)) error
}
