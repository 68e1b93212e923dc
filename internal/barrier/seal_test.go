package barrier

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// TestArgon2idKnownAnswers checks deriveKEK against the Argon2id v1.3 test
// vectors of the reference implementation (phc-winner-argon2, src/test.c).
func TestArgon2idKnownAnswers(t *testing.T) {
	vectors := []struct {
		p          kdfParams
		pass, salt string
		want       string
	}{
		{kdfParams{Time: 2, Memory: 256, Threads: 1}, "password", "somesalt",
			"9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe"},
		{kdfParams{Time: 2, Memory: 256, Threads: 2}, "password", "somesalt",
			"6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037"},
		{kdfParams{Time: 2, Memory: 1 << 16, Threads: 1}, "password", "somesalt",
			"09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"},
		{kdfParams{Time: 2, Memory: 1 << 16, Threads: 1}, "differentpassword", "somesalt",
			"0b84d652cf6b0c4beaef0dfe278ba6a80df6696281d7e0d2891b817d8c458fde"},
	}
	for _, v := range vectors {
		if v.p.Memory > 256 && testing.Short() {
			continue
		}
		got := hex.EncodeToString(deriveKEK([]byte(v.pass), []byte(v.salt), v.p))
		if got != v.want {
			t.Errorf("Argon2id(%q, %q, %+v) = %s, want %s", v.pass, v.salt, v.p, got, v.want)
		}
	}
}

// TestPassphraseSealDefaultBlob unwraps a blob made with the default
// parameters by hand: the offsets, the parameters (t=3, m=64 MiB, p=2) and
// the Argon2id call are written out independently of the seal's code.
func TestPassphraseSealDefaultBlob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Argon2id with 64 MiB twice")
	}
	pass := []byte("correct horse battery staple")
	s := NewPassphraseSeal(pass)
	root := make([]byte, 32)
	rand.Read(root)
	blob, err := s.Wrap(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) != 98 || blob[0] != 1 || blob[1] != 10 || string(blob[2:12]) != "passphrase" ||
		binary.BigEndian.Uint32(blob[12:]) != 3 || binary.BigEndian.Uint32(blob[16:]) != 64*1024 ||
		blob[20] != 2 || blob[21] != 16 {
		t.Fatalf("unexpected blob layout: %x", blob)
	}
	salt, nonce, ct := blob[22:38], blob[38:50], blob[50:]
	kek := argon2.IDKey(pass, salt, 3, 64*1024, 2, 32)
	block, _ := aes.NewCipher(kek)
	gcm, _ := cipher.NewGCM(block)
	got, err := gcm.Open(nil, nonce, ct, blob[:38])
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("independent unwrap failed: %v", err)
	}
	if got, err := s.Unwrap(blob); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("Unwrap = %v", err)
	}
}

func TestSealBlobParamsComeFromBlob(t *testing.T) {
	old := testPassphraseSeal("pw")
	root := make([]byte, 32)
	rand.Read(root)
	blob, err := old.Wrap(root)
	if err != nil {
		t.Fatal(err)
	}
	// A seal configured with other (stronger) parameters still opens it.
	got, err := NewPassphraseSeal([]byte("pw")).Unwrap(blob)
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("Unwrap with default-configured seal = %v", err)
	}
	blob2, _ := old.Wrap(root)
	if bytes.Equal(blob, blob2) {
		t.Fatal("two wraps are identical: salt or nonce is not random")
	}
}

func TestSealBlobTampering(t *testing.T) {
	s := testPassphraseSeal("pw")
	root := make([]byte, 32)
	rand.Read(root)
	blob, _ := s.Wrap(root)
	for i := range blob {
		bad := bytes.Clone(blob)
		bad[i] ^= 0x80 // stays within cheap or rejected parameters
		if _, err := s.Unwrap(bad); !errors.Is(err, ErrUnsealFailed) {
			t.Fatalf("byte %d flipped: Unwrap = %v", i, err)
		}
	}
	for n := range len(blob) {
		if _, err := s.Unwrap(blob[:n]); !errors.Is(err, ErrUnsealFailed) {
			t.Fatalf("truncated to %d: Unwrap = %v", n, err)
		}
	}
	huge := bytes.Clone(blob)
	binary.BigEndian.PutUint32(huge[16:], 1<<31) // 2 TiB of memory
	if _, err := s.Unwrap(huge); !errors.Is(err, ErrUnsealFailed) {
		t.Fatalf("absurd memory parameter: Unwrap = %v", err)
	}
}

func TestSealTypeMismatch(t *testing.T) {
	root := make([]byte, 32)
	kf := &kdfSeal{typ: typeKeyFile, secret: []byte("same secret"), params: testKDF}
	blob, _ := kf.Wrap(root)
	_, err := testPassphraseSeal("same secret").Unwrap(blob)
	if !errors.Is(err, ErrUnsealFailed) || !strings.Contains(err.Error(), `"keyfile"`) {
		t.Fatalf("passphrase seal on keyfile blob = %v", err)
	}
	if _, err := NewDevSeal().Unwrap(blob); !errors.Is(err, ErrUnsealFailed) {
		t.Fatalf("dev seal on keyfile blob = %v", err)
	}
}

func TestEmptyPassphraseRefused(t *testing.T) {
	if _, err := NewPassphraseSeal(nil).Wrap(make([]byte, 32)); err == nil {
		t.Fatal("Wrap with an empty passphrase succeeded")
	}
}

func TestPassphraseIsCopied(t *testing.T) {
	pass := []byte("pw")
	s := NewPassphraseSeal(pass).(*kdfSeal)
	s.params = testKDF
	blob, _ := s.Wrap(make([]byte, 32))
	clear(pass)
	if _, err := s.Unwrap(blob); err != nil {
		t.Fatalf("seal depends on the caller's passphrase slice: %v", err)
	}
}

func TestGenerateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "unseal.key")
	if err := GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", fi.Mode(), err)
	}
	data, _ := os.ReadFile(path)
	if raw, err := hex.DecodeString(strings.TrimSuffix(string(data), "\n")); err != nil || len(raw) != 32 {
		t.Fatalf("key file content %q: %v", data, err)
	}
	if err := GenerateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("GenerateKeyFile over an existing file = %v", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Fatal("existing key file was modified")
	}
	s, err := NewKeyFileSeal(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Type() != "keyfile" || string(s.(*kdfSeal).secret) != string(data[:64]) {
		t.Fatalf("seal type %q, secret not the trimmed file content", s.Type())
	}
}

func TestKeyFilePermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if err := GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o700, 0o601, 0o610, 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := NewKeyFileSeal(path)
		if err == nil || !strings.Contains(err.Error(), "0600") || !strings.Contains(err.Error(), fmt.Sprintf("%04o", mode)) {
			t.Errorf("mode %04o: NewKeyFileSeal = %v", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		os.Chmod(path, mode)
		if _, err := NewKeyFileSeal(path); err != nil {
			t.Errorf("mode %04o: NewKeyFileSeal = %v", mode, err)
		}
	}
	if _, err := NewKeyFileSeal(filepath.Dir(path)); err == nil {
		t.Error("a directory was accepted as key file")
	}
	if _, err := NewKeyFileSeal(path + ".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing key file = %v", err)
	}
}

func TestKeyFileContent(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret32 := strings.Repeat("k", 32)
	cases := []struct {
		content string
		ok      bool
	}{
		{secret32, true},
		{secret32 + "\n", true},
		{secret32 + " \t\r\n\n", true},
		{strings.Repeat("k", 31) + "\n\n\n\n", false},
		{"", false},
		{strings.Repeat("k", maxKeyFileSize+1), false},
	}
	for i, c := range cases {
		s, err := NewKeyFileSeal(write(fmt.Sprint(i), c.content))
		if (err == nil) != c.ok {
			t.Errorf("case %d: NewKeyFileSeal = %v", i, err)
		}
		if err == nil && string(s.(*kdfSeal).secret) != secret32 {
			t.Errorf("case %d: secret %q not trimmed", i, s.(*kdfSeal).secret)
		}
		if err != nil && strings.Contains(err.Error(), "kkkk") {
			t.Errorf("case %d: error leaks file content: %v", i, err)
		}
	}
}

func TestKeyFileUnseal(t *testing.T) {
	dir := t.TempDir()
	path, other := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{path, other} {
		if err := GenerateKeyFile(p); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := NewKeyFileSeal(path)
	s.(*kdfSeal).params = testKDF // Unwrap reads the parameters from the blob
	store := newMapStore()
	b := New(store)
	if err := b.Initialize(ctx, s); err != nil {
		t.Fatal(err)
	}
	put(t, b, "sys/x", []byte("x"))
	b.Seal()

	wrong, _ := NewKeyFileSeal(other)
	content, _ := os.ReadFile(path)
	for _, bad := range []Seal{wrong, testPassphraseSeal(strings.TrimSpace(string(content)))} {
		if err := b.Unseal(ctx, bad); !errors.Is(err, ErrUnsealFailed) || !b.Sealed() {
			t.Fatalf("Unseal with %s seal = %v", bad.Type(), err)
		}
	}
	again, _ := NewKeyFileSeal(path)
	if err := New(store).Unseal(ctx, again); err != nil {
		t.Fatalf("Unseal with the key file = %v", err)
	}
}

func TestSealBytes(t *testing.T) {
	b, store := newTestBarrier(t)
	msg := []byte("backup payload: MARKER-sealbytes")
	sealed, err := b.SealBytes("backup", msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 1+nonceSize+len(msg)+tagSize || sealed[0] != 1 || bytes.Contains(sealed, msg[:8]) {
		t.Fatalf("unexpected sealed form %x", sealed)
	}
	if got, err := b.OpenBytes("backup", sealed); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("OpenBytes = %q, %v", got, err)
	}
	if again, _ := b.SealBytes("backup", msg); bytes.Equal(again, sealed) {
		t.Fatal("SealBytes is deterministic")
	}
	wantErr := func(what, purpose string, in []byte) {
		t.Helper()
		got, err := b.OpenBytes(purpose, in)
		if !errors.Is(err, ErrIntegrity) || got != nil {
			t.Fatalf("%s: OpenBytes = %q, %v", what, got, err)
		}
	}
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= mask
			wantErr(fmt.Sprintf("byte %d ^ %#x", i, mask), "backup", bad)
		}
	}
	for n := range len(sealed) {
		wantErr(fmt.Sprintf("truncated to %d", n), "backup", sealed[:n])
	}
	wantErr("extended", "backup", append(bytes.Clone(sealed), 0))
	for _, p := range []string{"", "Backup", "backup ", "backup2", "export"} {
		wantErr("purpose "+p, p, sealed)
	}
	other, _ := newTestBarrier(t)
	if _, err := other.OpenBytes("backup", sealed); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("another root key opened the blob: %v", err)
	}
	// Same root key after a reseal, in a new process.
	b2 := New(store)
	unsealWithDevKey(t, b, b2)
	if got, err := b2.OpenBytes("backup", sealed); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("after reseal OpenBytes = %v", err)
	}
	empty, _ := b.SealBytes("backup", nil)
	if got, err := b.OpenBytes("backup", empty); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty round trip = %q, %v", got, err)
	}
}
