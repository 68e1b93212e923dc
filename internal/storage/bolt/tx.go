package bolt

import (
	"bytes"
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/keyhaven/keyhaven/internal/storage"
)

// errEmptyKey is returned by Put and Delete when given an empty key.
var errEmptyKey = errors.New("bolt: empty key")

// errTxDone is returned by a Tx used after its fn has returned.
var errTxDone = errors.New("bolt: transaction used after its function returned")

// emptyValue is returned for keys stored with an empty value, so that a
// found key never yields a nil slice.
var emptyValue = []byte{}

// txn adapts a bbolt bucket to storage.Tx. Each fn gets its own txn, even
// when several share one bbolt transaction.
type txn struct {
	b    *bbolt.Bucket
	done bool
	gen  uint64 // bumped by every write, so Scan can notice them
	// cur is Get's cursor, kept between Gets (each Seek starts again from
	// the root) so a read does not allocate a cursor and grow its stack;
	// curGen is the gen it was made at, as writes invalidate cursors.
	cur    *bbolt.Cursor
	curGen uint64
}

// call runs fn on a fresh txn over b, recovering a panic into the result.
func call(fn func(storage.Tx) error, b *bbolt.Bucket) (res result) {
	tx := &txn{b: b}
	defer func() {
		tx.finish()
		if p := recover(); p != nil {
			res = result{panicked: true, panicValue: p}
		}
	}()
	return result{err: fn(tx)}
}

func (t *txn) finish() { t.done = true }

func (t *txn) check(write bool) error {
	if t.done {
		return errTxDone
	}
	if write && !t.b.Writable() {
		return storage.ErrReadOnly
	}
	return nil
}

// Get returns the value at key; it points into bbolt's memory.
func (t *txn) Get(key []byte) ([]byte, error) {
	if err := t.check(false); err != nil {
		return nil, err
	}
	if len(key) > 0 {
		if t.cur == nil || t.curGen != t.gen {
			t.cur, t.curGen = t.b.Cursor(), t.gen
		}
		if k, v := t.cur.Seek(key); bytes.Equal(k, key) {
			return nonNil(v), nil
		}
	}
	return nil, fmt.Errorf("bolt: get %q: %w", key, storage.ErrNotFound)
}

// Put stores key and a copy of value (bbolt copies the key itself but keeps
// the value slice until commit).
func (t *txn) Put(key, value []byte) error {
	if err := t.check(true); err != nil {
		return err
	}
	if len(key) == 0 {
		return errEmptyKey
	}
	if err := t.b.Put(key, append([]byte{}, value...)); err != nil {
		return fmt.Errorf("bolt: put %q: %w", key, err)
	}
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
	if err := t.b.Delete(key); err != nil {
		return fmt.Errorf("bolt: delete %q: %w", key, err)
	}
	t.gen++
	return nil
}

// Scan visits keys with the given prefix that are >= start, in order. bbolt
// cursors are invalidated by writes, so after a callback that wrote to the
// transaction the cursor is re-positioned after the last visited key.
func (t *txn) Scan(prefix, start []byte, fn func(key, value []byte) (bool, error)) error {
	if err := t.check(false); err != nil {
		return err
	}
	seek := prefix
	if bytes.Compare(start, prefix) > 0 {
		seek = start
	}
	c := t.b.Cursor()
	for k, v := c.Seek(seek); k != nil && bytes.HasPrefix(k, prefix); {
		gen := t.gen
		more, err := fn(k, nonNil(v))
		if err != nil || !more {
			return err
		}
		if t.gen == gen {
			k, v = c.Next()
			continue
		}
		c = t.b.Cursor()
		k, v = seekAfter(c, bytes.Clone(k))
	}
	return nil
}

// seekAfter positions c on the first key greater than last.
func seekAfter(c *bbolt.Cursor, last []byte) (key, value []byte) {
	k, v := c.Seek(last)
	if bytes.Equal(k, last) {
		return c.Next()
	}
	return k, v
}

func nonNil(v []byte) []byte {
	if v == nil {
		return emptyValue
	}
	return v
}
