// Package memory implements storage.Store in process memory, for dev mode
// and tests. Nothing survives Close or a process exit.
//
// Guarantees, beyond those of package storage:
//   - Update is serialized by a write lock and applies its writes in place,
//     keeping an undo log; when fn returns an error (or panics) the undo log
//     is replayed so none of its writes remain. "Durable" here only means
//     visible to later transactions.
//   - View holds a read lock for the whole of fn, so it sees a consistent
//     snapshot; Updates wait until running Views have finished.
//   - Put copies both key and value, so callers may reuse their buffers.
//     Slices returned by Get and Scan are never modified by the store, so they
//     stay valid even after the transaction, although storage does not
//     promise that.
//   - Scan tolerates Put and Delete from inside its callback: it resumes after
//     the last key it visited.
//
// Keys are held in a sorted slice with binary search: O(log n) lookups and
// O(n) inserts, which is fine for the data sizes of dev mode and tests.
package memory

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/keyhaven/keyhaven/internal/storage"
)

var _ storage.Store = (*Store)(nil)

// errEmptyKey is returned by Put and Delete when given an empty key.
var errEmptyKey = errors.New("memory: empty key")

// errTxDone is returned by a Tx used after its fn has returned.
var errTxDone = errors.New("memory: transaction used after its function returned")

// Store is an in-memory storage.Store. The zero value is not usable; call New.
type Store struct {
	mu     sync.RWMutex
	items  []item // sorted by key, keys unique
	closed bool
}

type item struct {
	key, value []byte
}

// New returns an empty, open Store.
func New() *Store {
	return &Store{}
}

// View runs fn under the read lock.
func (s *Store) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storage.ErrClosed
	}
	tx := &txn{s: s}
	defer tx.finish()
	return fn(tx)
}

// Update runs fn under the write lock and undoes its writes unless fn
// returns nil. A panic in fn is rolled back too and then propagates.
func (s *Store) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return storage.ErrClosed
	}
	tx := &txn{s: s, writable: true}
	defer tx.finish()
	committed := false
	defer func() {
		if !committed {
			tx.rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return nil
}

// Close waits for running transactions, then drops all data. Every later
// call, including Close, returns storage.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return storage.ErrClosed
	}
	s.closed = true
	s.items = nil
	return nil
}

// search returns the index of the first item whose key is >= key, and
// whether that item's key equals key.
func (s *Store) search(key []byte) (int, bool) {
	return slices.BinarySearchFunc(s.items, key, func(it item, k []byte) int {
		return bytes.Compare(it.key, k)
	})
}

// set stores value at key; key and value must already be private copies.
// It returns the previous value and whether there was one.
func (s *Store) set(key, value []byte) (old []byte, existed bool) {
	i, found := s.search(key)
	if found {
		old = s.items[i].value
		s.items[i].value = value
		return old, true
	}
	s.items = slices.Insert(s.items, i, item{key: key, value: value})
	return nil, false
}

// remove deletes key and returns the removed item, if there was one.
func (s *Store) remove(key []byte) (item, bool) {
	i, found := s.search(key)
	if !found {
		return item{}, false
	}
	it := s.items[i]
	s.items = slices.Delete(s.items, i, i+1)
	return it, true
}
