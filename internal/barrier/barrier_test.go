package barrier

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
)

// testKDF keeps Argon2id cheap in tests; the default parameters have their
// own tests.
var testKDF = kdfParams{Time: 1, Memory: 64, Threads: 1}

func testPassphraseSeal(pass string) Seal {
	return &kdfSeal{typ: typePassphrase, secret: []byte(pass), params: testKDF}
}

var ctx = context.Background()

// newTestBarrier returns an initialized, unsealed barrier over a fresh store
// with vault keys for vaults "a" and "b".
func newTestBarrier(t testing.TB) (*Barrier, *mapStore) {
	t.Helper()
	store := newMapStore()
	b := New(store)
	if err := b.Initialize(ctx, NewDevSeal()); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	update(t, b, func(tx *Tx) error {
		return errors.Join(tx.CreateVaultKey("a"), tx.CreateVaultKey("b"))
	})
	return b, store
}

func update(t testing.TB, b *Barrier, fn func(*Tx) error) {
	t.Helper()
	if err := b.Update(ctx, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func put(t testing.TB, b *Barrier, key string, value []byte) {
	t.Helper()
	update(t, b, func(tx *Tx) error { return tx.Put(key, value) })
}

func get(b *Barrier, key string) ([]byte, error) {
	var v []byte
	err := b.View(ctx, func(tx *Tx) (err error) {
		v, err = tx.Get(key)
		return err
	})
	return v, err
}

func mustGet(t testing.TB, b *Barrier, key string) []byte {
	t.Helper()
	v, err := get(b, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

// wantIntegrity checks that reading key fails with ErrIntegrity and that the
// message does not leak secret.
func wantIntegrity(t *testing.T, b *Barrier, key string, secret []byte, what string) {
	t.Helper()
	v, err := get(b, key)
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("%s: Get(%q) = %q, %v; want ErrIntegrity", what, key, v, err)
	}
	if len(secret) > 0 && bytes.Contains([]byte(err.Error()), secret) {
		t.Fatalf("%s: error message leaks the plaintext: %v", what, err)
	}
}

func TestRoundTrip(t *testing.T) {
	b, _ := newTestBarrier(t)
	cases := map[string][]byte{
		"sys/config":          []byte("root-protected"),
		"v/a/secrets/x/1":     []byte("vault a"),
		"v/b/secrets/x/1":     []byte("vault b"),
		"v/a/empty":           {},
		"v/a/large":           bytes.Repeat([]byte{0xA5}, 1<<20),
		"other/with spaces/é": []byte("any key outside v/ uses the root key"),
	}
	for k, v := range cases {
		put(t, b, k, v)
	}
	for k, want := range cases {
		got := mustGet(t, b, k)
		if !bytes.Equal(got, want) || got == nil {
			t.Errorf("Get(%q) = %d bytes, want %d", k, len(got), len(want))
		}
	}
	put(t, b, "v/a/secrets/x/1", []byte("overwritten"))
	if got := mustGet(t, b, "v/a/secrets/x/1"); string(got) != "overwritten" {
		t.Errorf("after overwrite got %q", got)
	}
}

func TestValuesAreOwnedByCaller(t *testing.T) {
	b, _ := newTestBarrier(t)
	in := []byte("original")
	update(t, b, func(tx *Tx) error {
		err := tx.Put("v/a/k", in)
		copy(in, "mutated!")
		return err
	})
	got := mustGet(t, b, "v/a/k")
	if string(got) != "original" {
		t.Fatalf("Put kept a reference to the caller's slice: got %q", got)
	}
	copy(got, "scribble")
	if again := mustGet(t, b, "v/a/k"); string(again) != "original" {
		t.Fatalf("Get returned a shared slice: got %q", again)
	}
}

func TestGetMissing(t *testing.T) {
	b, _ := newTestBarrier(t)
	for _, k := range []string{"sys/nothing", "v/a/nothing", "v/novault/nothing"} {
		if _, err := get(b, k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want storage.ErrNotFound", k, err)
		}
	}
}

func TestNoPlaintextInStore(t *testing.T) {
	b, store := newTestBarrier(t)
	marker := []byte("MARKER-7f3a9c-do-not-store-in-clear")
	put(t, b, "sys/marker", marker)
	put(t, b, "v/a/secrets/marker/1", marker)
	put(t, b, "v/b/secrets/marker/1", bytes.Repeat(marker, 3))
	if err := b.Update(ctx, func(tx *Tx) error { return tx.RotateVaultKey("a") }); err != nil {
		t.Fatal(err)
	}
	put(t, b, "v/a/secrets/marker/2", marker)

	forbidden := map[string][]byte{"marker": marker, "marker prefix": marker[:16]}
	st := b.state.Load()
	forbidden["root key"] = bytes.Clone(st.rootKey)
	for _, id := range []string{"a", "b"} {
		for i, k := range vaultKeyBytes(t, b, id) {
			forbidden[fmt.Sprintf("vault %s key %d", id, i)] = k
		}
	}
	raw := store.raw()
	if len(raw) < 8 {
		t.Fatalf("store has only %d records", len(raw))
	}
	for key, value := range raw {
		for name, secret := range forbidden {
			if bytes.Contains(value, secret) || strings.Contains(key, string(secret)) {
				t.Errorf("%s appears in the clear at %q", name, key)
			}
		}
	}
}

// vaultKeyBytes decrypts vault id's record and returns its raw keys.
func vaultKeyBytes(t *testing.T, b *Barrier, id string) [][]byte {
	t.Helper()
	var out [][]byte
	err := b.View(ctx, func(tx *Tx) error {
		_, keys, err := tx.readRecord(id, vaultKeyPrefix+id)
		for _, k := range keys {
			out = append(out, bytes.Clone(k.key[:]))
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("reading vault key %q: %v", id, err)
	}
	return out
}

func TestEveryFlippedByteFails(t *testing.T) {
	b, store := newTestBarrier(t)
	secret := []byte("tamper-test-plaintext")
	for _, key := range []string{"sys/tamper", "v/a/secrets/tamper/1"} {
		put(t, b, key, secret)
		orig := store.raw()[key]
		if len(orig) != overhead+len(secret) {
			t.Fatalf("stored %d bytes, want %d", len(orig), overhead+len(secret))
		}
		for i := range orig {
			for _, mask := range []byte{0x01, 0x80} {
				bad := bytes.Clone(orig)
				bad[i] ^= mask
				store.set(key, bad)
				wantIntegrity(t, b, key, secret, fmt.Sprintf("byte %d ^ %#x", i, mask))
			}
		}
		for n := range len(orig) {
			store.set(key, orig[:n])
			wantIntegrity(t, b, key, secret, fmt.Sprintf("truncated to %d", n))
		}
		store.set(key, append(bytes.Clone(orig), 0))
		wantIntegrity(t, b, key, secret, "extended")
		store.set(key, orig)
		if got := mustGet(t, b, key); !bytes.Equal(got, secret) {
			t.Fatalf("restored value reads %q", got)
		}
	}
}

func TestTamperedVaultKeyRecordFails(t *testing.T) {
	b, store := newTestBarrier(t)
	put(t, b, "v/a/x", []byte("x"))
	rec := vaultKeyPrefix + "a"
	orig := store.raw()[rec]
	for i := range orig {
		bad := bytes.Clone(orig)
		bad[i] ^= 0x10
		store.set(rec, bad)
		wantIntegrity(t, b, "v/a/x", nil, fmt.Sprintf("record byte %d", i))
	}
	// Vault b's record moved onto vault a's key is rejected too.
	store.set(rec, store.raw()[vaultKeyPrefix+"b"])
	wantIntegrity(t, b, "v/a/x", nil, "record of vault b")
	store.set(rec, orig)
	mustGet(t, b, "v/a/x")
}

func TestCopiedRecordFails(t *testing.T) {
	b, store := newTestBarrier(t)
	src := map[string]string{
		"sys/one":           "sys/two",          // root, other name
		"sys/one ":          "sys/new",          // root, onto a key that never existed
		"v/a/secrets/s/1":   "v/a/secrets/s/2",  // same vault, other version
		"v/a/secrets/t/1":   "v/b/secrets/t/1",  // other vault, same path
		"v/b/secrets/u/1":   "sys/u",            // vault key to root key
		"sys/w":             "v/a/secrets/w/1",  // root key to vault key
		"v/a/keys/k/1":      "v/a/secrets/k/1",  // other collection
		"v/a/secrets/z/1.0": "v/a/secrets/z/1.", // key prefix of the original
	}
	for from, to := range src {
		secret := []byte("value of " + from)
		put(t, b, from, secret)
		if to != "sys/new" {
			put(t, b, to, []byte("value of "+to))
		}
		mustGet(t, b, from) // its data key is now cached: the copy must fail all the same
		store.set(to, store.raw()[from])
		wantIntegrity(t, b, to, secret, from+" copied to "+to)
		if got := mustGet(t, b, from); !bytes.Equal(got, secret) {
			t.Fatalf("source %q damaged: %q", from, got)
		}
	}
}

func TestSwappedRecordsFail(t *testing.T) {
	b, store := newTestBarrier(t)
	pairs := [][2]string{
		{"v/a/secrets/p/1", "v/a/secrets/q/1"},
		{"v/a/secrets/p/1", "v/b/secrets/p/1"},
		{"sys/p", "sys/q"},
	}
	for _, p := range pairs {
		put(t, b, p[0], []byte("first"))
		put(t, b, p[1], []byte("second"))
		mustGet(t, b, p[0]) // with cached data keys
		mustGet(t, b, p[1])
		raw := store.raw()
		store.set(p[0], raw[p[1]])
		store.set(p[1], raw[p[0]])
		wantIntegrity(t, b, p[0], []byte("second"), "swapped")
		wantIntegrity(t, b, p[1], []byte("first"), "swapped")
	}
}

func TestDestroyVaultKey(t *testing.T) {
	b, _ := newTestBarrier(t)
	put(t, b, "v/a/secrets/s/1", []byte("in a"))
	put(t, b, "v/b/secrets/s/1", []byte("in b"))
	mustGet(t, b, "v/a/secrets/s/1") // warm the cache

	// A destroy that rolls back changes nothing.
	boom := errors.New("boom")
	err := b.Update(ctx, func(tx *Tx) error {
		return errors.Join(tx.DestroyVaultKey("a"), boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	mustGet(t, b, "v/a/secrets/s/1")

	update(t, b, func(tx *Tx) error { return tx.DestroyVaultKey("a") })
	if v, err := get(b, "v/a/secrets/s/1"); !errors.Is(err, ErrNoVaultKey) || v != nil {
		t.Fatalf("after destroy Get = %q, %v; want ErrNoVaultKey", v, err)
	}
	if got := mustGet(t, b, "v/b/secrets/s/1"); string(got) != "in b" {
		t.Fatalf("vault b reads %q", got)
	}
	if err := b.Update(ctx, func(tx *Tx) error { return tx.Put("v/a/new", []byte("x")) }); !errors.Is(err, ErrNoVaultKey) {
		t.Fatalf("Put into destroyed vault = %v", err)
	}
	if err := b.Update(ctx, func(tx *Tx) error { return tx.DestroyVaultKey("a") }); !errors.Is(err, ErrNoVaultKey) {
		t.Fatalf("second destroy = %v", err)
	}
	// A new key for the same vault ID does not revive the old data.
	update(t, b, func(tx *Tx) error { return tx.CreateVaultKey("a") })
	wantIntegrity(t, b, "v/a/secrets/s/1", []byte("in a"), "recreated vault key")
	// The leftover ciphertext can still be listed and deleted.
	update(t, b, func(tx *Tx) error {
		return tx.ScanKeys("v/a/", "", func(k string) (bool, error) { return true, tx.Delete(k) })
	})
	if _, err := get(b, "v/a/secrets/s/1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after delete Get = %v", err)
	}
}

func TestCreateVaultKeyTwice(t *testing.T) {
	b, _ := newTestBarrier(t)
	put(t, b, "v/a/x", []byte("x"))
	err := b.Update(ctx, func(tx *Tx) error { return tx.CreateVaultKey("a") })
	if !errors.Is(err, ErrVaultKeyExists) {
		t.Fatalf("CreateVaultKey on existing vault = %v", err)
	}
	mustGet(t, b, "v/a/x")
}

// storedTerm returns the key term recorded in the stored value at key.
func storedTerm(t *testing.T, store *mapStore, key string) uint32 {
	t.Helper()
	raw := store.raw()[key]
	if len(raw) < overhead {
		t.Fatalf("no stored value at %q", key)
	}
	return binary.BigEndian.Uint32(raw[offTerm:])
}

func TestRotateVaultKey(t *testing.T) {
	b, store := newTestBarrier(t)
	put(t, b, "v/a/old", []byte("old"))
	put(t, b, "sys/r", []byte("root"))
	mustGet(t, b, "v/a/old") // warm the cache with term 1 only
	update(t, b, func(tx *Tx) error { return tx.RotateVaultKey("a") })
	put(t, b, "v/a/new", []byte("new"))
	update(t, b, func(tx *Tx) error {
		// Rotation and use in one transaction.
		return errors.Join(tx.RotateVaultKey("a"), tx.Put("v/a/newer", []byte("newer")))
	})

	want := map[string]uint32{"v/a/old": 1, "v/a/new": 2, "v/a/newer": 3, "sys/r": rootTerm}
	for key, term := range want {
		if got := storedTerm(t, store, key); got != term {
			t.Errorf("%q stored with term %d, want %d", key, got, term)
		}
	}
	check := func() {
		for _, key := range []string{"v/a/old", "v/a/new", "v/a/newer"} {
			if got := mustGet(t, b, key); string(got) != key[4:] {
				t.Errorf("Get(%q) = %q", key, got)
			}
		}
	}
	check()
	b2 := New(store) // a fresh process, empty cache
	unsealWithDevKey(t, b, b2)
	b = b2
	check()
	// Vault b is untouched.
	put(t, b, "v/b/x", nil)
	if got := storedTerm(t, store, "v/b/x"); got != 1 {
		t.Errorf("vault b term %d", got)
	}
}

// unsealWithDevKey unseals to with from's root key via a throwaway seal.
func unsealWithDevKey(t *testing.T, from, to *Barrier) {
	t.Helper()
	root := bytes.Clone(from.state.Load().rootKey)
	if err := to.Unseal(ctx, fixedSeal{root}); err != nil {
		t.Fatalf("Unseal: %v", err)
	}
}

// fixedSeal returns the same root key for any blob.
type fixedSeal struct{ root []byte }

func (s fixedSeal) Type() string                  { return "fixed" }
func (s fixedSeal) Wrap([]byte) ([]byte, error)   { return []byte("fixed"), nil }
func (s fixedSeal) Unwrap([]byte) ([]byte, error) { return bytes.Clone(s.root), nil }

func TestRolledBackRotationIsNotUsed(t *testing.T) {
	b, store := newTestBarrier(t)
	boom := errors.New("boom")
	err := b.Update(ctx, func(tx *Tx) error {
		if err := tx.RotateVaultKey("a"); err != nil {
			return err
		}
		if err := tx.Put("v/a/x", []byte("x")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	put(t, b, "v/a/y", []byte("y"))
	if got := storedTerm(t, store, "v/a/y"); got != 1 {
		t.Fatalf("write after rolled-back rotation used term %d", got)
	}
	mustGet(t, b, "v/a/y")
}

func TestUpdateRetried(t *testing.T) {
	store := newMapStore()
	store.retries = 2
	b := New(store)
	if err := b.Initialize(ctx, NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	update(t, b, func(tx *Tx) error {
		if err := tx.CreateVaultKey("r"); err != nil {
			return err
		}
		return tx.Put("v/r/x", []byte("retried"))
	})
	update(t, b, func(tx *Tx) error {
		return errors.Join(tx.RotateVaultKey("r"), tx.Put("v/r/y", []byte("y")))
	})
	if got := mustGet(t, b, "v/r/x"); string(got) != "retried" {
		t.Fatalf("got %q", got)
	}
	mustGet(t, b, "v/r/y")
}

func TestSealedRefusesEverything(t *testing.T) {
	b, _ := newTestBarrier(t)
	put(t, b, "v/a/x", []byte("x"))
	ops := map[string]func(tx *Tx) error{
		"Get":             func(tx *Tx) error { _, err := tx.Get("v/a/x"); return err },
		"Put":             func(tx *Tx) error { return tx.Put("v/a/x", []byte("y")) },
		"Delete":          func(tx *Tx) error { return tx.Delete("v/a/x") },
		"Scan":            func(tx *Tx) error { return tx.Scan("", "", nil) },
		"ScanKeys":        func(tx *Tx) error { return tx.ScanKeys("", "", nil) },
		"CreateVaultKey":  func(tx *Tx) error { return tx.CreateVaultKey("c") },
		"RotateVaultKey":  func(tx *Tx) error { return tx.RotateVaultKey("a") },
		"DestroyVaultKey": func(tx *Tx) error { return tx.DestroyVaultKey("a") },
	}
	for name, op := range ops {
		b, _ := newTestBarrier(t)
		put(t, b, "v/a/x", []byte("x"))
		// Sealed in the middle of a transaction.
		err := b.Update(ctx, func(tx *Tx) error {
			b.Seal()
			return op(tx)
		})
		if !errors.Is(err, ErrSealed) {
			t.Errorf("%s after Seal in a transaction = %v", name, err)
		}
		// Sealed before the transaction.
		called := false
		err = b.Update(ctx, func(tx *Tx) error { called = true; return op(tx) })
		if !errors.Is(err, ErrSealed) || called {
			t.Errorf("Update while sealed = %v (fn called: %v)", err, called)
		}
	}
	b.Seal()
	if !b.Sealed() {
		t.Fatal("Sealed() = false")
	}
	if err := b.View(ctx, func(*Tx) error { return nil }); !errors.Is(err, ErrSealed) {
		t.Errorf("View = %v", err)
	}
	if _, err := b.SealBytes("p", nil); !errors.Is(err, ErrSealed) {
		t.Errorf("SealBytes = %v", err)
	}
	if _, err := b.OpenBytes("p", nil); !errors.Is(err, ErrSealed) {
		t.Errorf("OpenBytes = %v", err)
	}
	if ok, err := b.Initialized(ctx); !ok || err != nil {
		t.Errorf("Initialized while sealed = %v, %v", ok, err)
	}
}

func TestSealZeroesKeys(t *testing.T) {
	b, _ := newTestBarrier(t)
	put(t, b, "v/a/x", []byte("x"))
	mustGet(t, b, "v/a/x") // populate the vault key cache
	if len(b.state.Load().vaults) == 0 {
		t.Fatal("vault key cache is empty")
	}
	st := b.state.Load()
	root := st.rootKey
	b.Seal()
	if !bytes.Equal(root, make([]byte, keySize)) {
		t.Fatal("root key bytes not zeroed by Seal")
	}
	if st.rootKey != nil || st.vaults != nil {
		t.Fatal("key state not dropped by Seal")
	}
}

func TestInitializeTwice(t *testing.T) {
	b, store := newTestBarrier(t)
	if err := b.Initialize(ctx, NewDevSeal()); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("second Initialize = %v", err)
	}
	b2 := New(store)
	if err := b2.Initialize(ctx, NewDevSeal()); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("Initialize on an initialized store = %v", err)
	}
	if !b2.Sealed() {
		t.Fatal("failed Initialize unsealed the barrier")
	}
}

func TestUnsealNotInitialized(t *testing.T) {
	b := New(newMapStore())
	if ok, err := b.Initialized(ctx); ok || err != nil {
		t.Fatalf("Initialized = %v, %v", ok, err)
	}
	if err := b.Unseal(ctx, NewDevSeal()); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Unseal = %v", err)
	}
}

func TestPassphraseUnseal(t *testing.T) {
	store := newMapStore()
	b := New(store)
	if err := b.Initialize(ctx, testPassphraseSeal("correct horse")); err != nil {
		t.Fatal(err)
	}
	if b.Sealed() {
		t.Fatal("Initialize left the barrier sealed")
	}
	update(t, b, func(tx *Tx) error {
		return errors.Join(tx.CreateVaultKey("a"), tx.Put("v/a/s", []byte("kept")), tx.Put("sys/s", []byte("too")))
	})
	b.Seal()

	for _, wrong := range []Seal{testPassphraseSeal("wrong horse"), testPassphraseSeal("correct horse "), NewDevSeal()} {
		err := b.Unseal(ctx, wrong)
		if !errors.Is(err, ErrUnsealFailed) {
			t.Fatalf("Unseal with wrong %s seal = %v", wrong.Type(), err)
		}
		if !b.Sealed() {
			t.Fatal("failed Unseal unsealed the barrier")
		}
		if _, err := get(b, "v/a/s"); !errors.Is(err, ErrSealed) {
			t.Fatalf("Get after failed Unseal = %v", err)
		}
	}
	// A seal that releases a wrong root key is caught by the canary.
	wrongRoot := make([]byte, keySize)
	rand.Read(wrongRoot)
	if err := b.Unseal(ctx, fixedSeal{wrongRoot}); !errors.Is(err, ErrUnsealFailed) || !b.Sealed() {
		t.Fatalf("Unseal with wrong root key = %v", err)
	}

	for _, bb := range []*Barrier{b, New(store)} { // same process, restart
		if err := bb.Unseal(ctx, testPassphraseSeal("correct horse")); err != nil {
			t.Fatalf("Unseal: %v", err)
		}
		if err := bb.Unseal(ctx, testPassphraseSeal("correct horse")); err != nil {
			t.Fatalf("Unseal when unsealed: %v", err)
		}
		if got := mustGet(t, bb, "v/a/s"); string(got) != "kept" {
			t.Fatalf("after Unseal got %q", got)
		}
		if got := mustGet(t, bb, "sys/s"); string(got) != "too" {
			t.Fatalf("after Unseal got %q", got)
		}
	}
}

func TestDevSealIsPerProcess(t *testing.T) {
	store := newMapStore()
	b := New(store)
	dev := NewDevSeal()
	if err := b.Initialize(ctx, dev); err != nil {
		t.Fatal(err)
	}
	b.Seal()
	if err := b.Unseal(ctx, NewDevSeal()); !errors.Is(err, ErrUnsealFailed) {
		t.Fatalf("Unseal with another dev seal = %v", err)
	}
	if err := b.Unseal(ctx, dev); err != nil {
		t.Fatalf("Unseal with the same dev seal = %v", err)
	}
}

func TestReservedKeys(t *testing.T) {
	b, _ := newTestBarrier(t)
	put(t, b, "sys/visible", []byte("v"))
	for _, k := range []string{sealKey, canaryKey, vaultKeyPrefix + "a", vaultKeyPrefix} {
		err := b.Update(ctx, func(tx *Tx) error {
			_, gerr := tx.Get(k)
			return errors.Join(gerr, tx.Put(k, []byte("x")), tx.Delete(k))
		})
		var n int
		for e := range strings.SplitSeq(fmt.Sprint(err), "\n") {
			if strings.Contains(e, ErrReservedKey.Error()) {
				n++
			}
		}
		if !errors.Is(err, ErrReservedKey) || n != 3 {
			t.Errorf("operations on %q = %v", k, err)
		}
	}
	var seen []string
	err := b.View(ctx, func(tx *Tx) error {
		return tx.Scan("sys/", "", func(k string, _ []byte) (bool, error) {
			seen = append(seen, k)
			return true, nil
		})
	})
	if err != nil || strings.Join(seen, ",") != "sys/visible" {
		t.Fatalf("Scan(sys/) saw %v, %v", seen, err)
	}
}

func TestInvalidKeys(t *testing.T) {
	b, _ := newTestBarrier(t)
	for _, k := range []string{"", "v/", "v//x", "v/a"} {
		err := b.Update(ctx, func(tx *Tx) error { return tx.Put(k, []byte("x")) })
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q) = %v", k, err)
		}
	}
	for _, id := range []string{"", "a/b", "/"} {
		err := b.Update(ctx, func(tx *Tx) error { return tx.CreateVaultKey(id) })
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("CreateVaultKey(%q) = %v", id, err)
		}
	}
}

func TestReadOnlyView(t *testing.T) {
	b, _ := newTestBarrier(t)
	ops := []func(tx *Tx) error{
		func(tx *Tx) error { return tx.Put("v/a/x", nil) },
		func(tx *Tx) error { return tx.Delete("v/a/x") },
		func(tx *Tx) error { return tx.CreateVaultKey("c") },
		func(tx *Tx) error { return tx.RotateVaultKey("a") },
		func(tx *Tx) error { return tx.DestroyVaultKey("a") },
	}
	for i, op := range ops {
		if err := b.View(ctx, op); !errors.Is(err, storage.ErrReadOnly) {
			t.Errorf("op %d in View = %v", i, err)
		}
	}
}

func TestScan(t *testing.T) {
	b, _ := newTestBarrier(t)
	keys := []string{"v/a/s/1", "v/a/s/2", "v/a/s/3", "v/a/t/1", "v/b/s/1"}
	update(t, b, func(tx *Tx) error {
		for _, k := range keys {
			if err := tx.Put(k, []byte("val:"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	var got []string
	err := b.View(ctx, func(tx *Tx) error {
		return tx.Scan("v/a/s/", "v/a/s/2", func(k string, v []byte) (bool, error) {
			if string(v) != "val:"+k {
				return false, fmt.Errorf("%q has value %q", k, v)
			}
			got = append(got, k)
			return true, nil
		})
	})
	if err != nil || strings.Join(got, ",") != "v/a/s/2,v/a/s/3" {
		t.Fatalf("Scan = %v, %v", got, err)
	}
	got = nil
	err = b.View(ctx, func(tx *Tx) error {
		return tx.ScanKeys("v/", "", func(k string) (bool, error) {
			got = append(got, k)
			return len(got) < 4, nil
		})
	})
	if err != nil || strings.Join(got, ",") != strings.Join(keys[:4], ",") {
		t.Fatalf("ScanKeys = %v, %v", got, err)
	}
	// A damaged value stops Scan with ErrIntegrity but not ScanKeys.
	b2, store := newTestBarrier(t)
	put(t, b2, "v/a/x", []byte("x"))
	store.set("v/a/x", []byte("garbage"))
	err = b2.View(ctx, func(tx *Tx) error {
		return tx.Scan("v/a/", "", func(string, []byte) (bool, error) { return true, nil })
	})
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("Scan over damaged value = %v", err)
	}
}

// ScanBorrowed gives the values Scan gives, of every size, and clears each
// one when its visit returns.
func TestScanBorrowed(t *testing.T) {
	b, store := newTestBarrier(t)
	want := map[string][]byte{
		"v/a/s/1": []byte("first"),
		"v/a/s/2": {},
		"v/a/s/3": bytes.Repeat([]byte{0x5A}, 3000),
		"v/a/s/4": bytes.Repeat([]byte{0xC3}, 100<<10), // over the pooled buffer
		"v/a/s/5": []byte("after a large one"),
		"v/a/t/1": []byte("not under the prefix"),
	}
	update(t, b, func(tx *Tx) error {
		for k, v := range want {
			if err := tx.Put(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	var kept [][]byte
	var got []string
	err := b.View(ctx, func(tx *Tx) error {
		return tx.ScanBorrowed("v/a/s/", "", func(k string, v []byte) (bool, error) {
			if !bytes.Equal(v, want[k]) || v == nil {
				return false, fmt.Errorf("%q: %d bytes, want %d", k, len(v), len(want[k]))
			}
			got = append(got, k)
			kept = append(kept, v)
			return true, nil
		})
	})
	if err != nil || strings.Join(got, ",") != "v/a/s/1,v/a/s/2,v/a/s/3,v/a/s/4,v/a/s/5" {
		t.Fatalf("ScanBorrowed = %v, %v", got, err)
	}
	for i, v := range kept {
		if !bytes.Equal(v, make([]byte, len(v))) {
			t.Errorf("%s: the value handed to the visit was not cleared after it", got[i])
		}
	}
	// A damaged value stops it with ErrIntegrity, as it does Scan.
	store.set("v/a/s/3", []byte("garbage"))
	err = b.View(ctx, func(tx *Tx) error {
		return tx.ScanBorrowed("v/a/", "", func(string, []byte) (bool, error) { return true, nil })
	})
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("ScanBorrowed over a damaged value = %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	b, _ := newTestBarrier(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			vault := []string{"a", "b"}[w%2]
			for i := range 50 {
				key := fmt.Sprintf("v/%s/w%d/%d", vault, w, i%5)
				val := []byte(key)
				if err := b.Update(ctx, func(tx *Tx) error { return tx.Put(key, val) }); err != nil {
					t.Error(err)
					return
				}
				if got, err := get(b, key); err != nil || !bytes.Equal(got, val) {
					t.Errorf("Get(%q) = %q, %v", key, got, err)
					return
				}
				if i%10 == 0 {
					if err := b.Update(ctx, func(tx *Tx) error { return tx.RotateVaultKey(vault) }); err != nil {
						t.Error(err)
						return
					}
				}
				if _, err := b.SealBytes("p", val); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Sealing concurrently with readers: they either succeed or see ErrSealed.
	for range 4 {
		wg.Go(func() {
			for {
				_, err := get(b, "v/a/w0/0")
				if errors.Is(err, ErrSealed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	b.Seal()
	wg.Wait()
}

// TestWithMemoryStore runs the main paths over the real in-memory backend
// and checks the raw store for plaintext.
func TestWithMemoryStore(t *testing.T) {
	store := memory.New()
	b := New(store)
	if err := b.Initialize(ctx, testPassphraseSeal("pw")); err != nil {
		t.Fatal(err)
	}
	marker := []byte("MARKER-memory-store")
	update(t, b, func(tx *Tx) error {
		return errors.Join(tx.CreateVaultKey("a"), tx.CreateVaultKey("b"),
			tx.Put("v/a/s", marker), tx.Put("v/b/s", marker), tx.Put("sys/s", marker))
	})
	update(t, b, func(tx *Tx) error { return tx.RotateVaultKey("a") })
	put(t, b, "v/a/t", marker)
	update(t, b, func(tx *Tx) error { return tx.DestroyVaultKey("b") })
	b.Seal()
	if err := b.Unseal(ctx, testPassphraseSeal("pw")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"v/a/s", "v/a/t", "sys/s"} {
		if got := mustGet(t, b, k); !bytes.Equal(got, marker) {
			t.Errorf("Get(%q) = %q", k, got)
		}
	}
	if _, err := get(b, "v/b/s"); !errors.Is(err, ErrNoVaultKey) {
		t.Errorf("destroyed vault: %v", err)
	}
	n := 0
	err := store.View(ctx, func(stx storage.Tx) error {
		return stx.Scan(nil, nil, func(k, v []byte) (bool, error) {
			n++
			if bytes.Contains(v, marker) {
				t.Errorf("plaintext at %q", k)
			}
			return true, nil
		})
	})
	if err != nil || n < 6 {
		t.Fatalf("raw scan saw %d records: %v", n, err)
	}
}

// Data keys cached by reads are forgotten when the barrier seals, and the
// cache stays bounded.
func TestDataKeyCache(t *testing.T) {
	b, _ := newTestBarrier(t)
	for i := range maxCachedDEKs + 10 {
		key := fmt.Sprintf("v/a/secrets/s%d/1", i)
		put(t, b, key, []byte("v"))
		mustGet(t, b, key)
		if got := mustGet(t, b, key); string(got) != "v" {
			t.Fatalf("cached read of %s = %q", key, got)
		}
	}
	st := b.state.Load()
	if addr := uintptr(unsafe.Pointer(&st.deks.sets[0][0])); addr%64 != 0 {
		t.Errorf("the data-key cache's sets start %d bytes into a cache line", addr%64)
	}
	if n := st.deks.len(); n < maxCachedDEKs*3/4 || n > maxCachedDEKs {
		t.Fatalf("%d cached data keys, want most of the %d it holds", n, maxCachedDEKs)
	}
	b.Seal()
	if n := st.deks.len(); n != 0 {
		t.Fatalf("sealing kept %d cached data keys", n)
	}
}

// A set holds four data keys; a fifth that maps to it replaces one of them,
// and the others are still served.
func TestDataKeyCacheSets(t *testing.T) {
	a, err := newAEAD(bytes.Repeat([]byte{3}, keySize))
	if err != nil {
		t.Fatal(err)
	}
	c := new(dekCache)
	ids := make([]dekID, dekWays+1)
	for i := range ids {
		ids[i] = dekID{kek: a, key: fmt.Sprintf("v/a/secrets/s%d/1", i)}
		ids[i].wrapped[0] = byte(2*i + 1) // the same set (bits 8 and up), distinct tags
		ids[i].wrapped[5] = byte(i)       // and distinct doorkeeper slots
		c.put(&ids[i], a)
		c.put(&ids[i], a)
		if c.get(&ids[i]) != a {
			t.Fatalf("key %d not cached after its second miss", i)
		}
	}
	if setOf(hashOf(&ids[0])) != setOf(hashOf(&ids[dekWays])) {
		t.Fatal("the test's keys are not in one set")
	}
	served := 0
	for i := range ids {
		if c.get(&ids[i]) != nil {
			served++
		}
	}
	if served != dekWays || c.len() != dekWays {
		t.Fatalf("%d of %d keys of a full set served, %d cached; want %d", served, len(ids), c.len(), dekWays)
	}
	c.wipe()
	if c.len() != 0 || c.get(&ids[dekWays]) != nil {
		t.Fatal("wipe kept entries")
	}

	// Two keys with the same tag (the same wrapped bytes under two storage
	// keys) are both cached, each served to its own reads only; a key
	// admitted twice is cached once.
	x, y := ids[0], ids[0]
	y.key = "v/a/secrets/other/1"
	b, err := newAEAD(bytes.Repeat([]byte{4}, keySize))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c.put(&x, a)
	}
	c.door[(hashOf(&y)>>32)%doorkeeperSlots].Store(hashOf(&y)) // y has missed before
	c.put(&y, b)
	if c.get(&x) != a || c.get(&y) != b || c.len() != 2 {
		t.Fatalf("same tag, two keys: %v %v, %d cached", c.get(&x) == a, c.get(&y) == b, c.len())
	}
}

// A data key is cached on its second miss, not its first (reads spread over
// many records must not churn the cache), and an entry serves only a read
// whose whole identity matches: the same wrapped bytes under another
// storage key or KEK are a miss.
func TestDataKeyCacheAdmissionAndIdentity(t *testing.T) {
	b, _ := newTestBarrier(t)
	put(t, b, "v/a/secrets/once/1", []byte("v"))
	mustGet(t, b, "v/a/secrets/once/1")
	st := b.state.Load()
	cached := st.deks.len
	if n := cached(); n != 0 {
		t.Fatalf("a key read once is cached (%d entries)", n)
	}
	mustGet(t, b, "v/a/secrets/once/1")
	if n := cached(); n != 1 {
		t.Fatalf("a key read twice is not cached (%d entries)", n)
	}

	aead := func(b byte) cipher.AEAD {
		a, err := newAEAD(bytes.Repeat([]byte{b}, keySize))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	c := new(dekCache)
	kekA, kekB := aead(0), aead(1)
	id := dekID{kek: kekA, key: "v/a/secrets/x/1"}
	id.wrapped[0], id.wrapped[9] = 7, 9
	dek := aead(2)
	c.put(&id, dek)
	if c.get(&id) != nil {
		t.Fatal("admitted on the first miss")
	}
	c.put(&id, dek)
	if c.get(&id) != dek {
		t.Fatal("not cached on the second miss")
	}
	other := id
	other.key = "v/a/secrets/y/1"
	if c.get(&other) != nil {
		t.Fatal("served for another storage key")
	}
	other = id
	other.kek = kekB
	if c.get(&other) != nil {
		t.Fatal("served for another KEK")
	}
	other = id
	other.nonce[0] ^= 1
	if c.get(&other) != nil {
		t.Fatal("served for another wrap nonce")
	}
}
