package memory

import (
	"context"
	"errors"
	"testing"

	"github.com/keyhaven/keyhaven/internal/storage"
)

func TestPanicRollsBackAndPropagates(t *testing.T) {
	s := New()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Put([]byte("a"), []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want boom", p)
			}
		}()
		_ = s.Update(ctx, func(tx storage.Tx) error {
			_ = tx.Put([]byte("a"), []byte("2"))
			_ = tx.Put([]byte("b"), []byte("2"))
			panic("boom")
		})
	}()
	err := s.View(ctx, func(tx storage.Tx) error {
		if v, err := tx.Get([]byte("a")); err != nil || string(v) != "1" {
			t.Errorf("a = %q, %v after a panicking Update; want 1", v, err)
		}
		if _, err := tx.Get([]byte("b")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("b: %v after a panicking Update; want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err) // also fails if the panic left the lock held
	}
}

func TestTxUnusableAfterFn(t *testing.T) {
	s := New()
	var leaked storage.Tx
	if err := s.Update(context.Background(), func(tx storage.Tx) error { leaked = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := leaked.Put([]byte("k"), nil); !errors.Is(err, errTxDone) {
		t.Errorf("Put on a leaked Tx = %v, want errTxDone", err)
	}
	if _, err := leaked.Get([]byte("k")); !errors.Is(err, errTxDone) {
		t.Errorf("Get on a leaked Tx = %v, want errTxDone", err)
	}
}
