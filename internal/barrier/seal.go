package barrier

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Seal releases the root key. Seal blobs are self-describing:
//
//	version (1) || len(type) (1) || type || type-specific parameters
//	  || nonce (12) || AES-256-GCM(KEK, root key) (48)
//
// where everything before the nonce is the associated data of the wrap.
// For the passphrase and key file seals the parameters are
//
//	Argon2id time (4) || memory in KiB (4) || threads (1) || len(salt) (1) || salt
//
// and the KEK is Argon2id(secret, salt, parameters), 32 bytes.
type Seal interface {
	// Type names the seal: "dev", "passphrase" or "keyfile".
	Type() string
	// Wrap encrypts rootKey into a self-describing blob.
	Wrap(rootKey []byte) ([]byte, error)
	// Unwrap recovers the root key from a blob made by Wrap. A wrong secret
	// returns an error wrapping ErrUnsealFailed.
	Unwrap(blob []byte) ([]byte, error)
}

const (
	blobVersion    = 1
	typeDev        = "dev"
	typePassphrase = "passphrase"
	typeKeyFile    = "keyfile"
	saltSize       = 16
)

// kdfParams are Argon2id cost parameters. Memory is in KiB.
type kdfParams struct {
	Time    uint32
	Memory  uint32
	Threads uint8
}

// defaultKDFParams is used for new blobs: t=3, m=64 MiB, p=2.
var defaultKDFParams = kdfParams{Time: 3, Memory: 64 << 10, Threads: 2}

// Upper bounds accepted from a blob, so a corrupted or hostile blob cannot
// make Unseal allocate without limit.
const (
	maxKDFTime   = 100
	maxKDFMemory = 4 << 20 // KiB = 4 GiB
)

func (p kdfParams) validate() error {
	if p.Time < 1 || p.Time > maxKDFTime || p.Threads < 1 ||
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxKDFMemory {
		return fmt.Errorf("barrier: Argon2id parameters out of range (t=%d m=%d p=%d)", p.Time, p.Memory, p.Threads)
	}
	return nil
}

// deriveKEK derives a 32-byte key-encryption key from secret with Argon2id.
func deriveKEK(secret, salt []byte, p kdfParams) []byte {
	return argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, keySize)
}

// devSeal holds a random key that lives only as long as the process.
type devSeal struct{ key [keySize]byte }

// NewDevSeal returns a seal keyed by random bytes held in memory. Nothing
// it wraps can be unsealed by another process: use it for dev mode only.
func NewDevSeal() Seal {
	s := &devSeal{}
	rand.Read(s.key[:])
	return s
}

func (s *devSeal) Type() string { return typeDev }

func (s *devSeal) Wrap(rootKey []byte) ([]byte, error) {
	return wrapRoot(s.key[:], appendBlobHeader(nil, typeDev), rootKey)
}

func (s *devSeal) Unwrap(blob []byte) ([]byte, error) {
	rest, err := parseBlobHeader(blob, typeDev)
	if err != nil {
		return nil, err
	}
	return unwrapRoot(s.key[:], blob[:len(blob)-len(rest)], rest)
}

// kdfSeal derives its KEK from a secret with Argon2id. It backs both the
// passphrase and the key file seal.
type kdfSeal struct {
	typ    string
	secret []byte
	params kdfParams
}

// NewPassphraseSeal returns a seal whose KEK is derived from passphrase with
// Argon2id (t=3, m=64 MiB, p=2, 16-byte random salt; parameters and salt are
// stored in the blob). The passphrase is copied.
func NewPassphraseSeal(passphrase []byte) Seal {
	return &kdfSeal{typ: typePassphrase, secret: bytes.Clone(passphrase), params: defaultKDFParams}
}

func (s *kdfSeal) Type() string { return s.typ }

func (s *kdfSeal) Wrap(rootKey []byte) ([]byte, error) {
	if len(s.secret) == 0 {
		return nil, errors.New("barrier: empty passphrase")
	}
	if err := s.params.validate(); err != nil {
		return nil, err
	}
	salt := make([]byte, saltSize)
	rand.Read(salt)
	header := appendKDFParams(appendBlobHeader(nil, s.typ), s.params, salt)
	kek := deriveKEK(s.secret, salt, s.params)
	defer clear(kek)
	return wrapRoot(kek, header, rootKey)
}

func (s *kdfSeal) Unwrap(blob []byte) ([]byte, error) {
	rest, err := parseBlobHeader(blob, s.typ)
	if err != nil {
		return nil, err
	}
	p, salt, rest, err := parseKDFParams(rest)
	if err != nil {
		return nil, err
	}
	kek := deriveKEK(s.secret, salt, p)
	defer clear(kek)
	return unwrapRoot(kek, blob[:len(blob)-len(rest)], rest)
}

func appendBlobHeader(dst []byte, typ string) []byte {
	dst = append(dst, blobVersion, byte(len(typ)))
	return append(dst, typ...)
}

// parseBlobHeader checks the version and that the blob was made by a seal
// of type typ, and returns what follows the header.
func parseBlobHeader(blob []byte, typ string) ([]byte, error) {
	if len(blob) < 2 || blob[0] != blobVersion || len(blob) < 2+int(blob[1]) {
		return nil, fmt.Errorf("%w: malformed seal blob", ErrUnsealFailed)
	}
	if got := string(blob[2 : 2+int(blob[1])]); got != typ {
		return nil, fmt.Errorf("%w: the store is sealed with a %q seal, not %q", ErrUnsealFailed, got, typ)
	}
	return blob[2+int(blob[1]):], nil
}

func appendKDFParams(dst []byte, p kdfParams, salt []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, p.Time)
	dst = binary.BigEndian.AppendUint32(dst, p.Memory)
	dst = append(dst, p.Threads, byte(len(salt)))
	return append(dst, salt...)
}

func parseKDFParams(b []byte) (p kdfParams, salt, rest []byte, err error) {
	if len(b) < 10 || len(b) < 10+int(b[9]) || int(b[9]) < saltSize {
		return p, nil, nil, fmt.Errorf("%w: malformed seal blob", ErrUnsealFailed)
	}
	p = kdfParams{Time: binary.BigEndian.Uint32(b), Memory: binary.BigEndian.Uint32(b[4:]), Threads: b[8]}
	if err := p.validate(); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %w", ErrUnsealFailed, err)
	}
	n := 10 + int(b[9])
	return p, b[10:n], b[n:], nil
}

// wrapRoot returns header || nonce || AES-256-GCM(kek, rootKey, aad=header).
func wrapRoot(kek, header, rootKey []byte) ([]byte, error) {
	if len(rootKey) != keySize {
		return nil, errors.New("barrier: root key has wrong length")
	}
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(header)+nonceSize, len(header)+nonceSize+keySize+tagSize)
	copy(out, header)
	nonce := out[len(header):]
	rand.Read(nonce)
	return aead.Seal(out, nonce, rootKey, header), nil
}

// unwrapRoot opens nonce || ciphertext in sealed with aad header.
func unwrapRoot(kek, header, sealed []byte) ([]byte, error) {
	if len(sealed) != nonceSize+keySize+tagSize {
		return nil, fmt.Errorf("%w: malformed seal blob", ErrUnsealFailed)
	}
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	root, err := aead.Open(make([]byte, 0, keySize), sealed[:nonceSize], sealed[nonceSize:], header)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong secret", ErrUnsealFailed)
	}
	return root, nil
}
