package storagetest

import (
	"errors"
	"testing"

	"github.com/keyhaven/keyhaven/internal/storage"
)

func testGetMissing(t *testing.T, s storage.Store) {
	putKeys(t, s, "present")
	check := func(tx storage.Tx) error {
		for _, k := range []string{"missing", "presen", "present\x00", "\xff"} {
			if _, err := tx.Get([]byte(k)); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Get(%q) error = %v, want one wrapping ErrNotFound", k, err)
			}
		}
		return nil
	}
	view(t, s, check)
	update(t, s, check)
}

func testPutGetOverwriteDelete(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"k", "v1"})
	wantValue(t, s, "k", "v1")
	putAll(t, s, kv{"k", "v2"})
	wantValue(t, s, "k", "v2")
	update(t, s, func(tx storage.Tx) error { return tx.Delete([]byte("k")) })
	wantMissing(t, s, "k")
	putAll(t, s, kv{"k", "v3"})
	wantValue(t, s, "k", "v3")
}

func testDeleteAbsent(t *testing.T, s storage.Store) {
	putKeys(t, s, "a")
	update(t, s, func(tx storage.Tx) error {
		if err := tx.Delete([]byte("nope")); err != nil {
			return err
		}
		return tx.Delete([]byte("nope"))
	})
	wantValue(t, s, "a", "a")
}

func testEmptyValue(t *testing.T, s storage.Store) {
	update(t, s, func(tx storage.Tx) error {
		if err := tx.Put([]byte("nil"), nil); err != nil {
			return err
		}
		return tx.Put([]byte("empty"), []byte{})
	})
	for _, k := range []string{"nil", "empty"} {
		wantValue(t, s, k, "")
	}
	wantKeys(t, "Scan", scan(t, s, nil, nil), "empty", "nil")
}

func testEmptyKeyRejected(t *testing.T, s storage.Store) {
	err := s.Update(ctx(), func(tx storage.Tx) error {
		if err := tx.Put(nil, []byte("v")); err == nil {
			t.Error("Put(nil key) succeeded, want an error")
		}
		return tx.Put([]byte{}, []byte("v"))
	})
	if err == nil {
		t.Fatal("Put(empty key) succeeded, want an error")
	}
	view(t, s, func(tx storage.Tx) error {
		if _, err := tx.Get(nil); err == nil {
			t.Error("Get(nil key) succeeded, want an error")
		}
		return nil
	})
	wantKeys(t, "Scan after rejected puts", scan(t, s, nil, nil))
}

func testPutCopiesInput(t *testing.T, s storage.Store) {
	update(t, s, func(tx storage.Tx) error {
		key, val := []byte("k1"), []byte("one")
		if err := tx.Put(key, val); err != nil {
			return err
		}
		key[1], val[0] = '2', 'X'
		if err := tx.Put(key, []byte("two")); err != nil {
			return err
		}
		copy(val, "zzz")
		return nil
	})
	wantValue(t, s, "k1", "one")
	wantValue(t, s, "k2", "two")
}

func testValuesStableDuringTx(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"a", "original"})
	update(t, s, func(tx storage.Tx) error {
		v, err := tx.Get([]byte("a"))
		if err != nil {
			return err
		}
		if err := tx.Put([]byte("a"), []byte("REPLACED")); err != nil {
			return err
		}
		for i := range 200 {
			if err := tx.Put(fmtKey("fill/", i), make([]byte, 100)); err != nil {
				return err
			}
		}
		if string(v) != "original" {
			t.Errorf("value from Get changed within the tx to %q", v)
		}
		return nil
	})
}

func testValuesCopiedOutSurvive(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"a", "first"}, kv{"b", "bee"})
	var fromGet, fromScan []kv
	view(t, s, func(tx storage.Tx) error {
		v, err := tx.Get([]byte("a"))
		if err != nil {
			return err
		}
		fromGet = []kv{{"a", string(v)}}
		fromScan, err = scanTx(tx, nil, nil)
		return err
	})
	putAll(t, s, kv{"a", "second"}, kv{"b", "BEE"})
	update(t, s, func(tx storage.Tx) error { return tx.Delete([]byte("b")) })
	if fromGet[0].value != "first" {
		t.Errorf("copied Get value = %q, want %q", fromGet[0].value, "first")
	}
	if len(fromScan) != 2 || fromScan[0] != (kv{"a", "first"}) || fromScan[1] != (kv{"b", "bee"}) {
		t.Errorf("copied Scan result = %q", fromScan)
	}
}

func testViewReturnsFnError(t *testing.T, s storage.Store) {
	if err := s.View(ctx(), func(storage.Tx) error { return errBoom }); err != errBoom {
		t.Fatalf("View error = %v, want exactly errBoom", err)
	}
}
