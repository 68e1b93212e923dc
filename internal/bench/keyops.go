package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// keyFixtures are the keys and inputs the key operations use.
type keyFixtures struct {
	digest     string // base64url SHA-256 digest
	plain      string // base64url 32-byte value (encrypt, wrap)
	rsaCipher  string // RSA-OAEP-256 ciphertext of plain
	aesWrapped string // A256KW wrap of plain
}

var b64 = base64.RawURLEncoding

// seedKeys creates an RSA-2048, an EC P-256 and an AES-256 key and the
// inputs of the decrypt and unwrap operations.
func (e *env) seedKeys(ctx context.Context) error {
	for _, k := range []struct{ name, body string }{
		{"bench-rsa", `{"kty":"RSA","key_size":2048}`},
		{"bench-ec", `{"kty":"EC","crv":"P-256"}`},
		{"bench-aes", `{"kty":"oct","key_size":256}`},
	} {
		if err := e.do(ctx, http.MethodPost, "/keys/"+k.name+"/create"+apiVersion, []byte(k.body), nil); err != nil {
			return err
		}
	}
	sum := sha256.Sum256([]byte("keyhaven bench"))
	f := &keyFixtures{digest: b64.EncodeToString(sum[:]), plain: b64.EncodeToString(sum[:])}
	var out struct{ Value string }
	if err := e.do(ctx, http.MethodPost, "/keys/bench-rsa/encrypt"+apiVersion, opBody("RSA-OAEP-256", f.plain), &out); err != nil {
		return err
	}
	f.rsaCipher = out.Value
	if err := e.do(ctx, http.MethodPost, "/keys/bench-aes/wrapkey"+apiVersion, opBody("A256KW", f.plain), &out); err != nil {
		return err
	}
	f.aesWrapped = out.Value
	e.keys = f
	return nil
}

func opBody(alg, value string) []byte {
	b, _ := json.Marshal(map[string]string{"alg": alg, "value": value})
	return b
}

// keyOp is a crypto operation on one of the seeded keys with a fixed body.
func keyOp(name, key, path, alg string, value func(*keyFixtures) string) operation {
	return operation{name: name, keys: true, build: func(e *env) request {
		body := opBody(alg, value(e.keys))
		c := call{http.MethodPost, "/keys/" + key + "/" + path + apiVersion, body}
		return func(int, int) call { return c }
	}}
}

var keyOperations = []operation{
	keyOp("SignRS256", "bench-rsa", "sign", "RS256", func(f *keyFixtures) string { return f.digest }),
	keyOp("SignES256", "bench-ec", "sign", "ES256", func(f *keyFixtures) string { return f.digest }),
	keyOp("EncryptRSAOAEP256", "bench-rsa", "encrypt", "RSA-OAEP-256", func(f *keyFixtures) string { return f.plain }),
	keyOp("DecryptRSAOAEP256", "bench-rsa", "decrypt", "RSA-OAEP-256", func(f *keyFixtures) string { return f.rsaCipher }),
	keyOp("WrapKeyA256KW", "bench-aes", "wrapkey", "A256KW", func(f *keyFixtures) string { return f.plain }),
	keyOp("UnwrapKeyA256KW", "bench-aes", "unwrapkey", "A256KW", func(f *keyFixtures) string { return f.aesWrapped }),
	keyOp("EncryptA256GCM", "bench-aes", "encrypt", "A256GCM", func(f *keyFixtures) string { return f.plain }),
}

// localSigner signs RS256 with crypto/rsa in this process on every core:
// the ceiling RSA signing through the API is compared with.
type localSigner struct {
	key *rsa.PrivateKey
	sum [32]byte
}

func newLocalSigner() (*localSigner, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &localSigner{key: key, sum: sha256.Sum256([]byte("keyhaven bench"))}, nil
}

// run signs for d on every core the process may use (whatever the load
// generator's own GOMAXPROCS) and returns how many signatures it made.
func (l *localSigner) run(d time.Duration) float64 {
	cores := defaultProcs
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cores))
	var n atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if _, err := rsa.SignPKCS1v15(nil, l.key, crypto.SHA256, l.sum[:]); err == nil {
					n.Add(1)
				}
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	return float64(n.Load())
}
