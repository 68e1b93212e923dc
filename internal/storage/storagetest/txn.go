package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/storage"
)

func ctx() context.Context { return context.Background() }

func quote(s string) string { return strconv.Quote(s) }

// fmtKey returns prefix followed by i as fixed-width decimal, so keys sort
// numerically.
func fmtKey(prefix string, i int) []byte {
	return fmt.Appendf(nil, "%s%08d", prefix, i)
}

// failingUpdate runs fn and then fails; Update must apply none of fn's
// writes and return errBoom itself, not a wrapper.
func failingUpdate(t *testing.T, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	err := s.Update(ctx(), func(tx storage.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update error = %v, want exactly errBoom", err)
	}
}

func testUpdateErrorRollsBack(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"a", "1"}, kv{"b", "1"})
	failingUpdate(t, s, func(tx storage.Tx) error {
		return errors.Join(
			tx.Put([]byte("a"), []byte("2")),
			tx.Delete([]byte("b")),
			tx.Put([]byte("c"), []byte("3")),
		)
	})
	wantValue(t, s, "a", "1")
	wantValue(t, s, "b", "1")
	wantMissing(t, s, "c")
	wantKeys(t, "Scan after rollback", scan(t, s, nil, nil), "a", "b")
	// The store must still accept writes after a rollback.
	putAll(t, s, kv{"c", "3"})
	wantValue(t, s, "c", "3")
}

func testUpdateErrorRestoresRewrittenKeys(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"a", "1"})
	failingUpdate(t, s, func(tx storage.Tx) error {
		return errors.Join(
			tx.Put([]byte("a"), []byte("2")),
			tx.Put([]byte("a"), []byte("3")),
			tx.Delete([]byte("a")),
			tx.Put([]byte("a"), []byte("4")),
			tx.Put([]byte("n"), []byte("1")),
			tx.Delete([]byte("n")),
			tx.Put([]byte("n"), []byte("2")),
		)
	})
	wantValue(t, s, "a", "1")
	wantMissing(t, s, "n")
	// A wrapped error comes back as the very same value.
	wrapped := fmt.Errorf("context: %w", errBoom)
	if err := s.Update(ctx(), func(storage.Tx) error { return wrapped }); err != wrapped {
		t.Fatalf("Update error = %v, want the fn's error unchanged", err)
	}
}

func testReadYourWrites(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"p/a", "old"}, kv{"p/b", "gone"}, kv{"p/c", "keep"})
	update(t, s, func(tx storage.Tx) error {
		err := errors.Join(
			tx.Put([]byte("p/a"), []byte("new")),
			tx.Delete([]byte("p/b")),
			tx.Put([]byte("p/d"), []byte("added")),
		)
		if err != nil {
			return err
		}
		checkTxState(t, tx)
		return nil
	})
	checkState(t, s)
}

// checkTxState verifies, inside the transaction, the writes made by
// testReadYourWrites.
func checkTxState(t *testing.T, tx storage.Tx) {
	t.Helper()
	want := map[string]string{"p/a": "new", "p/c": "keep", "p/d": "added"}
	for k, w := range want {
		if v, found, err := get(tx, k); err != nil || !found || v != w {
			t.Errorf("in-tx Get(%q) = %q, %t, %v; want %q", k, v, found, err, w)
		}
	}
	if _, found, _ := get(tx, "p/b"); found {
		t.Error("in-tx Get sees a key deleted by the same tx")
	}
	got, err := scanTx(tx, []byte("p/"), nil)
	if err != nil {
		t.Fatalf("in-tx Scan: %v", err)
	}
	wantKeys(t, "in-tx Scan", got, "p/a", "p/c", "p/d")
	if got[0].value != "new" || got[2].value != "added" {
		t.Errorf("in-tx Scan values = %q", got)
	}
}

func checkState(t *testing.T, s storage.Store) {
	t.Helper()
	wantValue(t, s, "p/a", "new")
	wantMissing(t, s, "p/b")
	wantValue(t, s, "p/d", "added")
}

func testViewReadOnly(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"a", "1"})
	view(t, s, func(tx storage.Tx) error {
		if err := tx.Put([]byte("a"), []byte("2")); !errors.Is(err, storage.ErrReadOnly) {
			t.Errorf("Put in View = %v, want ErrReadOnly", err)
		}
		if err := tx.Put([]byte("b"), []byte("2")); !errors.Is(err, storage.ErrReadOnly) {
			t.Errorf("Put in View = %v, want ErrReadOnly", err)
		}
		if err := tx.Delete([]byte("a")); !errors.Is(err, storage.ErrReadOnly) {
			t.Errorf("Delete in View = %v, want ErrReadOnly", err)
		}
		return nil
	})
	wantValue(t, s, "a", "1")
	wantMissing(t, s, "b")
}

// testViewSnapshot starts an Update while a View is running. A backend may
// block that Update until the View ends, or run it concurrently; either way
// the View must keep seeing the state from before the Update.
func testViewSnapshot(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"s/a", "1"}, kv{"s/b", "1"})
	done := make(chan error, 1)
	view(t, s, func(tx storage.Tx) error {
		before := mustScan(t, tx)
		go func() {
			done <- s.Update(ctx(), func(tx storage.Tx) error {
				return errors.Join(tx.Put([]byte("s/a"), []byte("2")),
					tx.Delete([]byte("s/b")), tx.Put([]byte("s/c"), []byte("2")))
			})
		}()
		select {
		case err := <-done:
			done <- err // the Update ran concurrently; keep its result
		case <-time.After(50 * time.Millisecond):
		}
		if after := mustScan(t, tx); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("View saw %q, then %q after a concurrent Update", before, after)
		}
		return nil
	})
	if err := <-done; err != nil {
		t.Fatalf("concurrent Update: %v", err)
	}
	wantKeys(t, "Scan after Update", scan(t, s, []byte("s/"), nil), "s/a", "s/c")
}

func mustScan(t *testing.T, tx storage.Tx) []kv {
	t.Helper()
	got, err := scanTx(tx, []byte("s/"), nil)
	if err != nil {
		t.Errorf("Scan: %v", err)
	}
	for _, k := range []string{"s/a", "s/b", "s/c"} {
		v, found, err := get(tx, k)
		if err != nil {
			t.Errorf("Get(%q): %v", k, err)
		}
		got = append(got, kv{k + "?", fmt.Sprint(v, found)})
	}
	return got
}
