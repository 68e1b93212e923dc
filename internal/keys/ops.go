package keys

import (
	"bytes"
	"context"
	"strings"
	"sync"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// OpParams is the input of a cryptographic operation.
type OpParams struct {
	Alg    string
	Value  []byte // plaintext, ciphertext, key to wrap, wrapped key, or digest (sign/verify)
	IV     []byte
	AAD    []byte
	Tag    []byte
	Digest []byte // verify: the digest; Value is then the signature
}

// OpResult is the output of a cryptographic operation.
type OpResult struct {
	Name    string // the key's name as created
	Version string // the version that was used
	Value   []byte
	IV      []byte
	Tag     []byte
	AAD     []byte
	Valid   bool // verify
}

// timeBound operations are refused outside the nbf/exp window; decrypt,
// unwrap and verify keep working on expired and not-yet-valid keys, as in
// Azure.
var timeBound = map[string]bool{kcrypto.OpEncrypt: true, kcrypto.OpWrapKey: true, kcrypto.OpSign: true}

// Do runs a cryptographic operation (one of the kcrypto Op constants) with
// a key version ("" is the current one).
func (s *Service) Do(ctx context.Context, v *vaults.Vault, name, version, op string, p OpParams) (*OpResult, error) {
	if p.Alg == "" {
		return nil, kverr.BadParameterf("The parameter 'alg' is required.")
	}
	it, err := s.store.Get(ctx, v, name, version)
	if err != nil {
		return nil, err
	}
	if err := s.usable(&it.Rec, op); err != nil {
		return nil, err
	}
	k, err := s.parsed.get(v.ID+"/"+strings.ToLower(it.Head.Name)+"/"+it.Version, it.Rec.Material)
	if err != nil {
		return nil, err
	}
	if err := k.CheckAlgorithm(op, p.Alg); err != nil {
		return nil, cryptoError(err)
	}
	out, err := run(k, op, p)
	if err != nil {
		return nil, cryptoError(err)
	}
	out.Name, out.Version = it.Head.Name, it.Version
	return out, nil
}

// usable checks enabled, key_ops and the validity window.
func (s *Service) usable(rec *record, op string) error {
	if !rec.Enabled {
		return kverr.Forbiddenf("Operation %s is not allowed on a disabled key.", op).WithInner("KeyDisabled")
	}
	if !contains(rec.KeyOps, op) {
		return kverr.Forbiddenf("Operation %s is not permitted by this key's key_ops.", op).WithInner("KeyOperationNotAllowed")
	}
	if !timeBound[op] {
		return nil
	}
	now := s.now().Unix()
	if rec.NotBefore != nil && now < *rec.NotBefore {
		return kverr.Forbiddenf("Operation %s is not allowed: the key is not valid yet (nbf).", op).WithInner("KeyNotYetValid")
	}
	if rec.Expires != nil && now >= *rec.Expires {
		return kverr.Forbiddenf("Operation %s is not allowed: the key has expired (exp).", op).WithInner("KeyExpired")
	}
	return nil
}

func run(k *kcrypto.Key, op string, p OpParams) (*OpResult, error) {
	switch op {
	case kcrypto.OpEncrypt, kcrypto.OpDecrypt:
		f := k.Encrypt
		if op == kcrypto.OpDecrypt {
			f = k.Decrypt
		}
		r, err := f(p.Alg, kcrypto.Params{Value: p.Value, IV: p.IV, AAD: p.AAD, Tag: p.Tag})
		return &OpResult{Value: r.Value, IV: r.IV, Tag: r.Tag, AAD: r.AAD}, err
	case kcrypto.OpWrapKey:
		w, err := k.WrapKey(p.Alg, p.Value)
		return &OpResult{Value: w}, err
	case kcrypto.OpUnwrapKey:
		u, err := k.UnwrapKey(p.Alg, p.Value)
		return &OpResult{Value: u}, err
	case kcrypto.OpSign:
		sig, err := k.Sign(p.Alg, p.Value)
		return &OpResult{Value: sig}, err
	case kcrypto.OpVerify:
		ok, err := k.Verify(p.Alg, p.Digest, p.Value)
		return &OpResult{Valid: ok}, err
	}
	return nil, kverr.BadParameterf("Unknown key operation %q.", op)
}

// Random returns count (1–128) random bytes.
func (s *Service) Random(count int) ([]byte, error) {
	if count < 1 || count > 128 {
		return nil, kverr.BadParameterf("The parameter 'count' must be between 1 and 128.")
	}
	return kcrypto.RandomBytes(count)
}

// keyCache keeps parsed private keys (an RSA key's CRT precomputation costs
// more than a signature). Entries are keyed by vault, name and version and
// checked against the stored material, so a restored or recreated version
// never uses a stale key. It is bounded: when full, it starts over.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	material []byte
	key      *kcrypto.Key
}

const keyCacheSize = 4096

func (c *keyCache) get(id string, material []byte) (*kcrypto.Key, error) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && bytes.Equal(e.material, material) {
		return e.key, nil
	}
	k, err := kcrypto.UnmarshalPrivate(material)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheSize {
		c.m = make(map[string]cachedKey)
	}
	c.m[id] = cachedKey{material: material, key: k}
	c.mu.Unlock()
	return k, nil
}
