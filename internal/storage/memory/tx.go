package memory

import (
	"bytes"
	"fmt"

	"github.com/keyhaven/keyhaven/internal/storage"
)

// emptyValue is returned for keys stored with a nil or empty value, so that a
// found key never yields a nil slice.
var emptyValue = []byte{}

// txn is the storage.Tx handed to View and Update functions. The caller of
// View or Update holds the store's lock for the txn's whole life.
type txn struct {
	s        *Store
	writable bool
	done     bool
	gen      uint64 // bumped by every write, so Scan can notice them
	undo     []undoEntry
}

// undoEntry restores one key to what it was before a write.
type undoEntry struct {
	key     []byte
	value   []byte
	existed bool
}

func (t *txn) finish() { t.done = true }

func (t *txn) check(write bool) error {
	if t.done {
		return errTxDone
	}
	if write && !t.writable {
		return storage.ErrReadOnly
	}
	return nil
}

// Get returns the stored value; the slice is never modified by the store.
func (t *txn) Get(key []byte) ([]byte, error) {
	if err := t.check(false); err != nil {
		return nil, err
	}
	i, found := t.s.search(key)
	if !found {
		return nil, fmt.Errorf("memory: get %q: %w", key, storage.ErrNotFound)
	}
	return nonNil(t.s.items[i].value), nil
}

// Put stores copies of key and value.
func (t *txn) Put(key, value []byte) error {
	if err := t.check(true); err != nil {
		return err
	}
	if len(key) == 0 {
		return errEmptyKey
	}
	k := bytes.Clone(key)
	old, existed := t.s.set(k, append([]byte{}, value...))
	t.undo = append(t.undo, undoEntry{key: k, value: old, existed: existed})
	t.gen++
	return nil
}

// Delete removes key; an absent key is not an error.
func (t *txn) Delete(key []byte) error {
	if err := t.check(true); err != nil {
		return err
	}
	if len(key) == 0 {
		return errEmptyKey
	}
	it, existed := t.s.remove(key)
	if existed {
		t.undo = append(t.undo, undoEntry{key: it.key, value: it.value, existed: true})
		t.gen++
	}
	return nil
}

// Scan visits keys with the given prefix that are >= start, in order. If fn
// writes to the transaction, the scan resumes after the last visited key.
func (t *txn) Scan(prefix, start []byte, fn func(key, value []byte) (bool, error)) error {
	if err := t.check(false); err != nil {
		return err
	}
	i, _ := t.s.search(seekKey(prefix, start))
	for i < len(t.s.items) && bytes.HasPrefix(t.s.items[i].key, prefix) {
		it, gen := t.s.items[i], t.gen
		more, err := fn(it.key, nonNil(it.value))
		if err != nil || !more {
			return err
		}
		i = t.next(i, gen, it.key)
	}
	return nil
}

// next returns the index after position i, which held key last, re-searching
// if the transaction was written to since gen.
func (t *txn) next(i int, gen uint64, last []byte) int {
	if t.gen == gen {
		return i + 1
	}
	j, found := t.s.search(last)
	if found {
		j++
	}
	return j
}

// rollback replays the undo log backwards.
func (t *txn) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := t.undo[i]
		if u.existed {
			t.s.set(u.key, u.value)
		} else {
			t.s.remove(u.key)
		}
	}
	t.undo = nil
}

// seekKey is where a Scan over prefix from start begins: the larger of the two.
func seekKey(prefix, start []byte) []byte {
	if bytes.Compare(start, prefix) > 0 {
		return start
	}
	return prefix
}

func nonNil(v []byte) []byte {
	if v == nil {
		return emptyValue
	}
	return v
}
