package e2e

// Fuzz tests of the keys service behind the import endpoint and the crypto
// operation endpoints. A real dev server is too slow to fuzz through, so
// these call keys.Service directly, over a memory-backed barrier, as the
// handlers do: arbitrary input never panics, and every failure is the
// caller's (400 BadParameter) with a message that does not echo key
// material or request bytes. The seed corpora run in the normal test run;
// fuzz with e.g.
//
//	go test -run '^$' -fuzz '^FuzzImportJWK$' ./internal/e2e/
//	go test -run '^$' -fuzz '^FuzzKeyOperation$' ./internal/e2e/
//
// Helpers in this file carry the prefix "kf".

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/keys"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// kfService returns a keys service over a memory-backed, unsealed
// barrier and one vault, with a fixed clock.
func kfService(t testing.TB) (*keys.Service, *vaults.Vault) {
	t.Helper()
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Unix(1_700_000_000, 0) }
	v, err := vaults.New(b, now).Create(ctx, vaults.Spec{Name: "fuzz"})
	if err != nil {
		t.Fatal(err)
	}
	return keys.New(b, now), v
}

// kfWantBadParameter fails unless err is a *kverr.Error of kind BadParameter
// (code BadParameter) whose message contains none of the secrets.
func kfWantBadParameter(t *testing.T, what string, err error, secrets ...string) {
	t.Helper()
	ke := kverr.As(err)
	if ke == nil || ke.Kind != kverr.BadParameter || ke.Code != "BadParameter" {
		t.Fatalf("%s: want a BadParameter *kverr.Error, got %T %v", what, err, err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(ke.Message, s) {
			t.Fatalf("%s: the error message echoes request data %q: %s", what, s, ke.Message)
		}
	}
}

func kfB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// kfImportSeeds are JWKs made here: valid keys of every kind, and broken
// ones around each validation rule.
func kfImportSeeds(t testing.TB) [][]byte {
	t.Helper()
	var seeds [][]byte
	add := func(m map[string]any) {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaFull := map[string]any{"kty": "RSA", "n": kfB64(priv.N.Bytes()), "e": "AQAB", "d": kfB64(priv.D.Bytes()),
		"p": kfB64(priv.Primes[0].Bytes()), "q": kfB64(priv.Primes[1].Bytes()),
		"dp": kfB64(priv.Precomputed.Dp.Bytes()), "dq": kfB64(priv.Precomputed.Dq.Bytes()), "qi": kfB64(priv.Precomputed.Qinv.Bytes())}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
			} else {
				out[kv[i].(string)] = kv[i+1]
			}
		}
		return out
	}
	add(rsaFull)
	add(with(rsaFull, "p", nil, "q", nil, "dp", nil, "dq", nil, "qi", nil))
	add(with(rsaFull, "dp", nil, "dq", nil, "qi", nil))
	add(with(rsaFull, "key_ops", []string{"sign", "verify"}))
	add(with(rsaFull, "kty", "RSA-HSM"))
	add(with(rsaFull, "d", nil, "p", nil, "q", nil, "dp", nil, "dq", nil, "qi", nil))
	add(with(rsaFull, "dp", kfB64(new(big.Int).Add(priv.Precomputed.Dp, big.NewInt(2)).Bytes())))
	add(with(rsaFull, "q", nil))
	add(with(rsaFull, "e", "AQ"))
	add(with(rsaFull, "e", "Ag"))
	add(with(rsaFull, "n", kfB64(append([]byte{0}, priv.N.Bytes()...))))
	add(with(rsaFull, "n", kfB64(priv.N.Bytes()[:255])))
	add(with(rsaFull, "key_ops", []string{"fly"}))
	add(with(rsaFull, "key_ops", "sign"))
	add(with(rsaFull, "key_hsm", "AAAA"))
	add(with(rsaFull, "p", kfB64(priv.Primes[1].Bytes()), "q", kfB64(priv.Primes[0].Bytes())))

	for _, c := range []struct {
		crv   string
		curve elliptic.Curve
	}{{"P-256", elliptic.P256()}, {"P-384", elliptic.P384()}, {"P-521", elliptic.P521()}} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		point, _ := k.PublicKey.Bytes()
		d, _ := k.Bytes()
		n := (len(point) - 1) / 2
		ec := map[string]any{"kty": "EC", "crv": c.crv, "x": kfB64(point[1 : 1+n]), "y": kfB64(point[1+n:]), "d": kfB64(d)}
		add(ec)
		add(with(ec, "d", nil))
		add(with(ec, "x", kfB64(point[2:1+n])))
		add(with(ec, "d", kfB64(d[1:])))
		add(with(ec, "kty", "EC-HSM"))
		bad := bytes.Clone(point[1+n:])
		bad[0] ^= 1
		add(with(ec, "y", kfB64(bad)))
	}
	k1, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	kp := k1.PubKey().SerializeUncompressed()
	add(map[string]any{"kty": "EC", "crv": "P-256K", "x": kfB64(kp[1:33]), "y": kfB64(kp[33:]), "d": kfB64(k1.Serialize())})
	add(map[string]any{"kty": "EC", "crv": "P-256K", "x": kfB64(kp[1:33]), "y": kfB64(kp[33:]), "d": kfB64(make([]byte, 32))})
	for _, n := range []int{0, 1, 15, 16, 24, 32, 33, 64} {
		add(map[string]any{"kty": "oct", "k": kfB64(bytes.Repeat([]byte{0x42}, n))})
	}
	add(map[string]any{"kty": "oct", "k": kfB64(make([]byte, 16)), "key_ops": []string{"sign", "verify", "WRAPKEY"}})
	add(map[string]any{"kty": "oct-HSM", "k": kfB64(make([]byte, 32))})
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"RSA"`, `0`, `{"kty":null}`, `{"kty":"RSA"}`, `{"kty":"EC","crv":"P-256"}`,
		`{"kty":"oct","k":"!!"}`, `{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA=="}`, `{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA"} {}`,
		`{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA","kty":"RSA"}`, `{"kty":"DSA","k":"AA"}`, `{"kty":"EC","crv":"P-999","x":"AA","y":"AA","d":"AA"}`,
		`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}`, `{"kty":"RSA","n":"` + strings.Repeat("_", 700) + `","e":"AQAB","d":"AQ"}`,
		`{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAA","key_ops":[null]}`, `{"kty":"oct","k":{"x":1}}`, `{"kty":"EC","crv":"P-256K","x":"","y":"","d":""}`,
		`{"kty":"RSA","n":"` + kfB64(priv.N.Bytes()) + `","e":"////////","d":"` + kfB64(priv.D.Bytes()) + `"}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzImportJWK feeds arbitrary JSON to keys.Service.Import, the service
// call behind PUT /keys/{name}: it must succeed with a public-only key that
// reads back the same, or fail with BadParameter without echoing private
// fields.
func FuzzImportJWK(f *testing.F) {
	for _, s := range kfImportSeeds(f) {
		f.Add(s)
	}
	svc, v := kfService(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := svc.Import(ctx, v, "fuzz", keys.ImportParams{JWK: data})
		if err != nil {
			var fields map[string]any
			var secrets []string
			if json.Unmarshal(data, &fields) == nil {
				kty, _ := fields["kty"].(string)
				crv, _ := fields["crv"].(string)
				for _, name := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
					// Long private values must never appear (short ones
					// could match ordinary words of a message).
					if s, ok := fields[name].(string); ok && len(s) >= 8 && !strings.Contains(kty+crv, s) {
						secrets = append(secrets, s)
					}
				}
			}
			kfWantBadParameter(t, "import", err, secrets...)
			if k != nil {
				t.Fatal("a failed import returned a key")
			}
			return
		}
		j := k.JWK
		if j.D != nil || j.P != nil || j.Q != nil || j.DP != nil || j.DQ != nil || j.QI != nil || j.K != nil || j.KeyHSM != nil {
			t.Fatalf("the imported key exposes private parts: %+v", j)
		}
		if len(k.Version) != 32 || k.Name != "fuzz" {
			t.Fatalf("name %q version %q", k.Name, k.Version)
		}
		// The service took exactly the key kcrypto parses from the JWK.
		want, err := kcrypto.ParseJWK(data)
		if err != nil || !want.HasPrivate() {
			t.Fatalf("import accepted a JWK kcrypto refuses or that has no private part: %v", err)
		}
		pub := want.PublicJWK()
		if j.Kty != want.Kty() || !bytes.Equal(j.N, pub.N) || !bytes.Equal(j.E, pub.E) || j.Crv != pub.Crv ||
			!bytes.Equal(j.X, pub.X) || !bytes.Equal(j.Y, pub.Y) {
			t.Fatalf("imported public key %+v, want %+v", j, pub)
		}
		for _, op := range j.KeyOps {
			switch op {
			case "encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export":
			default:
				t.Fatalf("key_ops holds %q", op)
			}
		}
		got, err := svc.Get(ctx, v, "fuzz", k.Version)
		if err != nil {
			t.Fatalf("get after import: %v", err)
		}
		if gj := got.JWK; gj.Kty != j.Kty || !bytes.Equal(gj.N, j.N) || !bytes.Equal(gj.X, j.X) || strings.Join(gj.KeyOps, ",") != strings.Join(j.KeyOps, ",") {
			t.Fatalf("get returns %+v, import returned %+v", gj, j)
		}
	})
}

// kfKeys are the keys FuzzKeyOperation picks from, each allowed every
// crypto operation so that only the algorithm and inputs decide.
var kfKeys = []struct {
	name string
	p    keys.CreateParams
}{
	{name: "rsa", p: keys.CreateParams{Kty: "RSA", KeySize: kfInt(2048)}},
	{name: "p256", p: keys.CreateParams{Kty: "EC", Curve: "P-256"}},
	{name: "p384", p: keys.CreateParams{Kty: "EC", Curve: "P-384"}},
	{name: "p521", p: keys.CreateParams{Kty: "EC", Curve: "P-521"}},
	{name: "p256k", p: keys.CreateParams{Kty: "EC", Curve: "P-256K"}},
	{name: "oct128", p: keys.CreateParams{Kty: "oct", KeySize: kfInt(128)}},
	{name: "oct192", p: keys.CreateParams{Kty: "oct", KeySize: kfInt(192)}},
	{name: "oct256", p: keys.CreateParams{Kty: "oct", KeySize: kfInt(256)}},
}

var kfOps = []string{kcrypto.OpEncrypt, kcrypto.OpDecrypt, kcrypto.OpSign, kcrypto.OpVerify, kcrypto.OpWrapKey, kcrypto.OpUnwrapKey}

func kfInt(n int) *int { return &n }

// FuzzKeyOperation feeds arbitrary algorithms and value, iv, tag, aad and
// digest bytes to keys.Service.Do, the service call behind the encrypt,
// decrypt, sign, verify, wrapkey and unwrapkey endpoints. Every failure is
// BadParameter without echoing the input; every success is checked by the
// inverse operation (decrypt what was encrypted, unwrap what was wrapped,
// verify what was signed).
func FuzzKeyOperation(f *testing.F) {
	digest := func(n int) []byte { return bytes.Repeat([]byte{0x5a}, n) }
	type seed struct {
		key, op                     uint8
		alg                         string
		value, iv, tag, aad, digest []byte
	}
	var seeds []seed
	keyIndex := func(name string) uint8 {
		for i, k := range kfKeys {
			if k.name == name {
				return uint8(i)
			}
		}
		panic(name)
	}
	opIndex := func(op string) uint8 {
		for i, o := range kfOps {
			if o == op {
				return uint8(i)
			}
		}
		panic(op)
	}
	signAlgs := []struct {
		key  string
		algs []string
	}{
		{key: "rsa", algs: []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "RSNULL"}},
		{key: "p256", algs: []string{"ES256"}}, {key: "p384", algs: []string{"ES384"}}, {key: "p521", algs: []string{"ES512"}},
		{key: "p256k", algs: []string{"ES256K"}}, {key: "oct128", algs: []string{"HS256"}}, {key: "oct256", algs: []string{"HS384", "HS512"}},
	}
	for _, sa := range signAlgs {
		for _, alg := range sa.algs {
			for _, n := range []int{0, 20, 32, 48, 64} {
				seeds = append(seeds, seed{key: keyIndex(sa.key), op: opIndex(kcrypto.OpSign), alg: alg, value: digest(n)})
				seeds = append(seeds, seed{key: keyIndex(sa.key), op: opIndex(kcrypto.OpVerify), alg: alg, value: digest(64), digest: digest(n)})
			}
		}
	}
	for _, alg := range []string{"RSA1_5", "RSA-OAEP", "RSA-OAEP-256"} {
		for _, op := range kfOps {
			seeds = append(seeds, seed{key: keyIndex("rsa"), op: opIndex(op), alg: alg, value: digest(32)})
		}
		seeds = append(seeds, seed{key: keyIndex("rsa"), op: opIndex(kcrypto.OpDecrypt), alg: alg, value: digest(256)})
		seeds = append(seeds, seed{key: keyIndex("rsa"), op: opIndex(kcrypto.OpEncrypt), alg: alg, value: digest(250)})
	}
	for _, size := range []string{"128", "192", "256"} {
		key := keyIndex("oct" + size)
		for _, mode := range []string{"GCM", "CBC", "CBCPAD", "KW"} {
			alg := "A" + size + mode
			for _, op := range kfOps {
				seeds = append(seeds, seed{key: key, op: opIndex(op), alg: alg, value: digest(32)})
			}
		}
		seeds = append(seeds,
			seed{key: key, op: opIndex(kcrypto.OpEncrypt), alg: "A" + size + "GCM", value: digest(5), iv: digest(12), aad: digest(3)},
			seed{key: key, op: opIndex(kcrypto.OpDecrypt), alg: "A" + size + "GCM", value: digest(5), iv: digest(12), tag: digest(16), aad: digest(3)},
			seed{key: key, op: opIndex(kcrypto.OpDecrypt), alg: "A" + size + "GCM", value: digest(5), iv: digest(16), tag: digest(15)},
			seed{key: key, op: opIndex(kcrypto.OpEncrypt), alg: "A" + size + "CBC", value: digest(48), iv: digest(16)},
			seed{key: key, op: opIndex(kcrypto.OpDecrypt), alg: "A" + size + "CBCPAD", value: digest(32), iv: digest(16)},
			seed{key: key, op: opIndex(kcrypto.OpDecrypt), alg: "A" + size + "CBCPAD", value: digest(31), iv: digest(16)},
			seed{key: key, op: opIndex(kcrypto.OpWrapKey), alg: "CKM_AES_KEY_WRAP", value: digest(24)},
			seed{key: key, op: opIndex(kcrypto.OpWrapKey), alg: "CKM_AES_KEY_WRAP_PAD", value: digest(7)},
			seed{key: key, op: opIndex(kcrypto.OpUnwrapKey), alg: "CKM_AES_KEY_WRAP_PAD", value: digest(16)},
			seed{key: key, op: opIndex(kcrypto.OpUnwrapKey), alg: "A" + size + "KW", value: digest(40)},
		)
	}
	for _, alg := range []string{"", "rs256", "ES256 ", "A128GCM\x00", "RSA-OAEP-512", "XX"} {
		seeds = append(seeds, seed{key: keyIndex("rsa"), op: opIndex(kcrypto.OpSign), alg: alg, value: digest(32)})
	}
	for _, s := range seeds {
		f.Add(s.key, s.op, s.alg, s.value, s.iv, s.tag, s.aad, s.digest)
	}

	svc, v := kfService(f)
	ctx := context.Background()
	all := []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}
	for _, k := range kfKeys {
		p := k.p
		p.KeyOps = all
		if _, err := svc.Create(ctx, v, k.name, p); err != nil {
			f.Fatalf("create %s: %v", k.name, err)
		}
	}

	f.Fuzz(func(t *testing.T, key, op uint8, alg string, value, iv, tag, aad, digest []byte) {
		name := kfKeys[int(key)%len(kfKeys)].name
		operation := kfOps[int(op)%len(kfOps)]
		p := keys.OpParams{Alg: alg, Value: value, IV: iv, Tag: tag, AAD: aad, Digest: digest}
		res, err := svc.Do(ctx, v, name, "", operation, p)
		if err != nil {
			// The algorithm name may be quoted in the message; the bytes
			// may not, in any encoding.
			var secrets []string
			for _, b := range [][]byte{value, iv, tag, aad, digest} {
				if len(b) < 12 {
					continue
				}
				for _, enc := range []string{kfB64(b), hex.EncodeToString(b), base64.StdEncoding.EncodeToString(b), string(b)} {
					if len(enc) >= 16 && !strings.Contains(alg, enc) {
						secrets = append(secrets, enc)
					}
				}
			}
			kfWantBadParameter(t, name+" "+operation+" "+alg, err, secrets...)
			return
		}
		if len(res.Version) != 32 {
			t.Fatalf("result version %q", res.Version)
		}
		// The inverse operation on the server gives the input back.
		switch operation {
		case kcrypto.OpEncrypt:
			back, err := svc.Do(ctx, v, name, res.Version, kcrypto.OpDecrypt, keys.OpParams{Alg: alg, Value: res.Value, IV: res.IV, Tag: res.Tag, AAD: res.AAD})
			if err != nil || !bytes.Equal(back.Value, value) {
				t.Fatalf("%s %s: decrypting the ciphertext: %v", name, alg, err)
			}
			if len(iv) > 0 && !bytes.Equal(res.IV, iv) {
				t.Fatalf("%s %s: the result's iv is not the request's", name, alg)
			}
		case kcrypto.OpWrapKey:
			back, err := svc.Do(ctx, v, name, res.Version, kcrypto.OpUnwrapKey, keys.OpParams{Alg: alg, Value: res.Value})
			if err != nil || !bytes.Equal(back.Value, value) {
				t.Fatalf("%s %s: unwrapping the wrapped key: %v", name, alg, err)
			}
		case kcrypto.OpSign:
			back, err := svc.Do(ctx, v, name, res.Version, kcrypto.OpVerify, keys.OpParams{Alg: alg, Digest: value, Value: res.Value})
			if err != nil || !back.Valid {
				t.Fatalf("%s %s: the signature does not verify: %v", name, alg, err)
			}
		}
	})
}
