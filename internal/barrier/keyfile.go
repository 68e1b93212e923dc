package barrier

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"unicode"
)

const (
	minKeyFileSecret = 32      // bytes, after trimming trailing whitespace
	maxKeyFileSize   = 4 << 10 // a key file is a secret, not a document
)

// NewKeyFileSeal reads the secret in the file at path and returns a seal
// that behaves like the passphrase seal with that secret (blob type
// "keyfile"). The file must be a regular file with mode 0600 or stricter;
// trailing whitespace is ignored and at least 32 bytes must remain.
func NewKeyFileSeal(path string) (Seal, error) {
	secret, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	return &kdfSeal{typ: typeKeyFile, secret: secret, params: defaultKDFParams}, nil
}

// readKeyFile returns the trimmed secret held in the key file at path.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("barrier: key file: %w", err)
	}
	defer f.Close()
	if err := checkKeyFileMode(f, path); err != nil {
		return nil, err
	}
	buf := make([]byte, maxKeyFileSize+1)
	defer clear(buf)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("barrier: key file: %w", err)
	}
	if n > maxKeyFileSize {
		return nil, fmt.Errorf("barrier: key file %s is larger than %d bytes", path, maxKeyFileSize)
	}
	secret := bytes.TrimRightFunc(buf[:n], unicode.IsSpace)
	if len(secret) < minKeyFileSecret {
		return nil, fmt.Errorf("barrier: key file %s holds %d bytes (after trimming trailing whitespace); at least %d are required",
			path, len(secret), minKeyFileSecret)
	}
	return bytes.Clone(secret), nil
}

// checkKeyFileMode refuses anything but a regular file that only its owner
// can read (0600, 0400 or stricter). The check is on the open file, so the
// file cannot be swapped between check and read.
func checkKeyFileMode(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("barrier: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("barrier: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&^0o600 != 0 && runtime.GOOS != "windows" {
		return fmt.Errorf("barrier: key file %s has mode %04o; it must be 0600 or stricter (chmod 600 %s)", path, perm, path)
	}
	return nil
}

// GenerateKeyFile writes a new key file at path: 32 random bytes,
// hex-encoded, followed by a newline, with mode 0600. It refuses to
// overwrite an existing file (the error wraps fs.ErrExist).
func GenerateKeyFile(path string) error {
	var raw [32]byte
	rand.Read(raw[:])
	text := make([]byte, hex.EncodedLen(len(raw))+1)
	hex.Encode(text, raw[:])
	text[len(text)-1] = '\n'
	clear(raw[:])
	defer clear(text)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("barrier: creating key file: %w", err)
	}
	_, err = f.Write(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("barrier: writing key file: %w", err)
	}
	return nil
}
