package barrier

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/storage"
)

func putIndex(t testing.TB, b *Barrier, key string, value []byte) {
	t.Helper()
	update(t, b, func(tx *Tx) error { return tx.PutIndex(key, value) })
}

// Index values read back through Get and Scan, under the vault's current
// term, and still after a rotation and in a fresh process.
func TestIndexRoundTrip(t *testing.T) {
	b, store := newTestBarrier(t)
	cases := map[string][]byte{
		"v/a/secrets/x": []byte(`{"name":"x"}`),
		"v/b/secrets/x": []byte("vault b"),
		"v/a/empty":     {},
		"sys/index":     []byte("under the root key's index key"),
	}
	for k, v := range cases {
		putIndex(t, b, k, v)
		raw := store.raw()[k]
		if len(raw) != overheadIdx+len(v) || raw[0] != formatIndex {
			t.Fatalf("%q stored as %d bytes, format %d", k, len(raw), raw[0])
		}
	}
	update(t, b, func(tx *Tx) error { return tx.RotateVaultKey("a") })
	putIndex(t, b, "v/a/after", []byte("term 2"))
	cases["v/a/after"] = []byte("term 2")
	for key, term := range map[string]uint32{"v/a/secrets/x": 1, "v/a/after": 2, "sys/index": rootTerm} {
		if got := binary.BigEndian.Uint32(store.raw()[key][offTerm:]); got != term {
			t.Errorf("%q stored with term %d, want %d", key, got, term)
		}
	}
	check := func(b *Barrier) {
		t.Helper()
		for k, want := range cases {
			if got := mustGet(t, b, k); !bytes.Equal(got, want) || got == nil {
				t.Errorf("Get(%q) = %q, want %q", k, got, want)
			}
		}
		seen := 0
		err := b.View(ctx, func(tx *Tx) error {
			for _, scan := range []func(string, string, func(string, []byte) (bool, error)) error{tx.Scan, tx.ScanBorrowed} {
				err := scan("v/a/", "", func(k string, v []byte) (bool, error) {
					if !bytes.Equal(v, cases[k]) {
						t.Errorf("scan %q = %q", k, v)
					}
					seen++
					return true, nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || seen != 6 {
			t.Fatalf("scans saw %d values, %v", seen, err)
		}
	}
	check(b)
	b2 := New(store)
	unsealWithDevKey(t, b, b2)
	check(b2)
}

// An index value is AES-256-GCM under HKDF-SHA256(vault key, "keyhaven/
// barrier/index-key/v1") with the documented associated data: checked with
// the standard library's own primitives, not the barrier's code.
func TestIndexFormatAsDocumented(t *testing.T) {
	b, store := newTestBarrier(t)
	// Outside the vaults, the index key comes from the root KEK, itself
	// HKDF-SHA256(root key, "keyhaven/barrier/root-kek/v1").
	rootKEK, err := hkdf.Key(sha256.New, b.state.Load().rootKey, nil, "keyhaven/barrier/root-kek/v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	for key, kek := range map[string][]byte{"v/a/secrets/documented": vaultKeyBytes(t, b, "a")[0], "sys/documented": rootKEK} {
		openIndependently(t, b, store, key, kek)
	}
}

func openIndependently(t *testing.T, b *Barrier, store *mapStore, key string, vk []byte) {
	t.Helper()
	putIndex(t, b, key, []byte("plain"))
	raw := store.raw()[key]
	term := uint32(1)
	if !strings.HasPrefix(key, "v/") {
		term = 0
	}
	ik, err := hkdf.Key(sha256.New, vk, nil, "keyhaven/barrier/index-key/v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(ik)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 2 || binary.BigEndian.Uint32(raw[1:5]) != term {
		t.Fatalf("header % x", raw[:5])
	}
	aad := append(append([]byte("keyhaven/barrier/idx/v1"), raw[:5]...), key...)
	pt, err := gcm.Open(nil, raw[5:17], raw[17:], aad)
	if err != nil || string(pt) != "plain" {
		t.Fatalf("opened independently: %q, %v", pt, err)
	}
	// The KEK itself does not open it: the index key is its own.
	block, _ = aes.NewCipher(vk)
	gcm, _ = cipher.NewGCM(block)
	if _, err := gcm.Open(nil, raw[5:17], raw[17:], aad); err == nil {
		t.Fatal("the vault key opens an index value")
	}
}

// Tampering with an index value, moving it to another key, or passing one
// format for the other fails with ErrIntegrity.
func TestIndexTamperFails(t *testing.T) {
	b, store := newTestBarrier(t)
	secret := []byte("index-tamper-plaintext")
	for _, key := range []string{"sys/idx", "v/a/secrets/idx"} {
		putIndex(t, b, key, secret)
		orig := store.raw()[key]
		for i := range orig {
			bad := bytes.Clone(orig)
			bad[i] ^= 0x01
			store.set(key, bad)
			wantIntegrity(t, b, key, secret, fmt.Sprintf("%s byte %d", key, i))
		}
		for n := range len(orig) {
			store.set(key, orig[:n])
			wantIntegrity(t, b, key, secret, fmt.Sprintf("%s truncated to %d", key, n))
		}
		store.set(key, orig)
		mustGet(t, b, key)
	}
	// Moved to another name, another vault, the root.
	for from, to := range map[string]string{"v/a/secrets/p": "v/a/secrets/q", "v/a/secrets/r": "v/b/secrets/r", "v/a/secrets/s": "sys/s"} {
		putIndex(t, b, from, secret)
		store.set(to, store.raw()[from])
		wantIntegrity(t, b, to, secret, from+" moved to "+to)
	}
	// A value of one format relabeled as the other, long enough to pass for
	// either by its length.
	long := bytes.Repeat(secret, 4)
	put(t, b, "v/a/own", long)
	putIndex(t, b, "v/a/idx", long)
	for key, format := range map[string]byte{"v/a/own": formatIndex, "v/a/idx": formatVersion} {
		bad := bytes.Clone(store.raw()[key])
		if len(bad) < overhead {
			t.Fatalf("%s: %d bytes, too short to test the label", key, len(bad))
		}
		bad[0] = format
		store.set(key, bad)
		wantIntegrity(t, b, key, long, key+" relabeled")
	}
}

// Destroying a vault key shreds its index values too; a sealed barrier
// refuses the index and sealed-copy operations.
func TestIndexShreddedAndSealed(t *testing.T) {
	b, _ := newTestBarrier(t)
	putIndex(t, b, "v/a/idx", []byte("a"))
	mustGet(t, b, "v/a/idx")
	update(t, b, func(tx *Tx) error { return tx.DestroyVaultKey("a") })
	if _, err := get(b, "v/a/idx"); !errors.Is(err, ErrNoVaultKey) {
		t.Fatalf("after destroy: %v", err)
	}
	ops := map[string]func(tx *Tx) error{
		"PutIndex":   func(tx *Tx) error { return tx.PutIndex("v/b/x", nil) },
		"PutSealed":  func(tx *Tx) error { _, err := tx.PutSealed("v/b/x", nil); return err },
		"Stored":     func(tx *Tx) error { _, err := tx.Stored("v/b/x"); return err },
		"OpenSealed": func(tx *Tx) error { _, err := tx.OpenSealed("v/b/x", nil); return err },
	}
	for name, op := range ops {
		err := b.Update(ctx, func(tx *Tx) error {
			b.Seal()
			return op(tx)
		})
		if !errors.Is(err, ErrSealed) {
			t.Errorf("%s after Seal = %v", name, err)
		}
		b, _ = newTestBarrier(t)
	}
}

// PutSealed returns the value exactly as stored, Sealed reads it back
// without decrypting, and OpenSealed opens it only for its own key.
func TestSealedCopies(t *testing.T) {
	b, store := newTestBarrier(t)
	const key, other = "v/a/secrets-versions/s/1", "v/a/secrets-versions/s/2"
	secret := []byte("sealed-copy-secret")
	var sealed []byte
	update(t, b, func(tx *Tx) (err error) {
		sealed, err = tx.PutSealed(key, secret)
		return err
	})
	put(t, b, other, []byte("other"))
	if !bytes.Equal(sealed, store.raw()[key]) || bytes.Contains(sealed, secret) {
		t.Fatalf("PutSealed returned % x, stored % x", sealed, store.raw()[key])
	}
	err := b.Update(ctx, func(tx *Tx) error {
		got, err := tx.Stored(key)
		if err != nil || !bytes.Equal(got, sealed) {
			t.Fatalf("Sealed = % x, %v", got, err)
		}
		got[0] ^= 0xff // the caller's own copy
		for range 2 {  // the second time with its data key cached
			in := bytes.Clone(sealed)
			pt, err := tx.OpenSealed(key, in)
			if err != nil || !bytes.Equal(pt, secret) || &pt[0] != &in[offPayload] {
				t.Fatalf("OpenSealed = %q, %v (in place: %v)", pt, err, len(pt) > 0 && &pt[0] == &in[offPayload])
			}
		}
		if _, err := tx.OpenSealed(other, bytes.Clone(sealed)); !errors.Is(err, ErrIntegrity) {
			t.Errorf("opened for another key: %v", err)
		}
		// An index value opens in place too.
		if err := tx.PutIndex("v/a/idx", secret); err != nil {
			return err
		}
		idx, err := tx.Stored("v/a/idx")
		if err != nil {
			return err
		}
		if pt, err := tx.OpenSealed("v/a/idx", idx); err != nil || !bytes.Equal(pt, secret) || &pt[0] != &idx[offIdxPayload] {
			t.Fatalf("OpenSealed of an index value = %q, %v", pt, err)
		}
		bad := bytes.Clone(sealed)
		bad[len(bad)-1] ^= 1
		if _, err := tx.OpenSealed(key, bad); !errors.Is(err, ErrIntegrity) {
			t.Errorf("opened tampered: %v", err)
		}
		if _, err := tx.Stored("v/a/none"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Sealed of a missing key: %v", err)
		}
		for _, reserved := range []string{sealKey, vaultKeyPrefix + "a"} {
			if _, err := tx.Stored(reserved); !errors.Is(err, ErrReservedKey) {
				t.Errorf("Sealed(%q) = %v", reserved, err)
			}
			if _, err := tx.OpenSealed(reserved, sealed); !errors.Is(err, ErrReservedKey) {
				t.Errorf("OpenSealed(%q) = %v", reserved, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, b, key); !bytes.Equal(got, secret) {
		t.Fatalf("stored value changed: %q", got)
	}
}
