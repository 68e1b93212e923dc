package barrier

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/keyhaven/keyhaven/internal/storage"
)

// mapStore is a minimal storage.Store for the barrier's tests: a map under
// a lock, with writes buffered in the transaction and applied on success.
// With retries > 0, Update runs fn that many extra times on throwaway
// transactions first, like a backend retrying after a failed group commit.
type mapStore struct {
	mu      sync.RWMutex
	data    map[string][]byte
	retries int
}

func newMapStore() *mapStore { return &mapStore{data: make(map[string][]byte)} }

func (s *mapStore) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&mapTx{base: s.data})
}

func (s *mapStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range s.retries {
		_ = fn(&mapTx{base: s.data, writes: map[string][]byte{}})
	}
	tx := &mapTx{base: s.data, writes: map[string][]byte{}}
	if err := fn(tx); err != nil {
		return err
	}
	for k, v := range tx.writes {
		if v == nil {
			delete(s.data, k)
		} else {
			s.data[k] = v
		}
	}
	return nil
}

func (s *mapStore) Close() error { return nil }

// raw returns a copy of every stored key and value, bypassing the barrier.
func (s *mapStore) raw() map[string][]byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string][]byte, len(s.data))
	for k, v := range s.data {
		out[k] = bytes.Clone(v)
	}
	return out
}

// set writes a raw value, bypassing the barrier.
func (s *mapStore) set(key string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = bytes.Clone(value)
}

type mapTx struct {
	base   map[string][]byte
	writes map[string][]byte // nil value: deleted; nil map: read-only
}

func (tx *mapTx) lookup(k string) ([]byte, bool) {
	if v, ok := tx.writes[k]; ok {
		return v, v != nil
	}
	v, ok := tx.base[k]
	return v, ok
}

func (tx *mapTx) Get(key []byte) ([]byte, error) {
	if v, ok := tx.lookup(string(key)); ok {
		return v, nil
	}
	return nil, storage.ErrNotFound
}

func (tx *mapTx) Put(key, value []byte) error {
	if tx.writes == nil {
		return storage.ErrReadOnly
	}
	tx.writes[string(key)] = append(make([]byte, 0, len(value)), value...)
	return nil
}

func (tx *mapTx) Delete(key []byte) error {
	if tx.writes == nil {
		return storage.ErrReadOnly
	}
	tx.writes[string(key)] = nil
	return nil
}

func (tx *mapTx) Scan(prefix, start []byte, fn func(key, value []byte) (bool, error)) error {
	keys := slices.Collect(maps.Keys(tx.base))
	for k := range tx.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for _, k := range keys {
		if !strings.HasPrefix(k, string(prefix)) || k < string(start) {
			continue
		}
		v, ok := tx.lookup(k)
		if !ok {
			continue
		}
		if more, err := fn([]byte(k), v); err != nil || !more {
			return err
		}
	}
	return nil
}
