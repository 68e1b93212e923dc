package kcrypto_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/kcrypto"
)

func jsonKeys(t testing.TB, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k, val := range m {
		keys = append(keys, k)
		if s, ok := val.(string); ok && strings.ContainsAny(s, "=+/") {
			t.Errorf("field %s is not unpadded base64url: %q", k, s)
		}
	}
	slices.Sort(keys)
	return keys
}

func TestPublicJWKShape(t *testing.T) {
	rk := rsaKey(t)
	j := rk.PublicJWK()
	if got := jsonKeys(t, j); !slices.Equal(got, []string{"e", "kty", "n"}) {
		t.Errorf("RSA public JWK fields = %v", got)
	}
	b, _ := json.Marshal(j)
	if !strings.Contains(string(b), `"e":"AQAB"`) {
		t.Errorf("e = 65537 is not \"AQAB\": %s", b)
	}
	if len(j.N) != 256 || j.N[0] == 0 {
		t.Errorf("n is %d bytes with first byte %d; want 256 minimal bytes", len(j.N), j.N[0])
	}
	for crv, size := range map[string]int{"P-256": 32, "P-384": 48, "P-521": 66, "P-256K": 32} {
		j := ecKey(t, crv).PublicJWK()
		if got := jsonKeys(t, j); !slices.Equal(got, []string{"crv", "kty", "x", "y"}) {
			t.Errorf("%s public JWK fields = %v", crv, got)
		}
		if j.Kty != "EC" || j.Crv != crv || len(j.X) != size || len(j.Y) != size {
			t.Errorf("%s: kty %s crv %s, x %d, y %d bytes; want %d", crv, j.Kty, j.Crv, len(j.X), len(j.Y), size)
		}
	}
	if got := jsonKeys(t, octKey(t, 256).PublicJWK()); !slices.Equal(got, []string{"kty"}) {
		t.Errorf("oct public JWK fields = %v; want kty only", got)
	}
}

func TestJWKJSONNames(t *testing.T) {
	j := kcrypto.JWK{Kid: "id", Kty: "RSA", KeyOps: []string{"sign"}, N: []byte{1}, E: []byte{1}, D: []byte{1},
		DP: []byte{1}, DQ: []byte{1}, QI: []byte{1}, P: []byte{1}, Q: []byte{1}, K: []byte{1},
		KeyHSM: []byte{1}, Crv: "P-256", X: []byte{1}, Y: []byte{1}}
	want := []string{"crv", "d", "dp", "dq", "e", "k", "key_hsm", "key_ops", "kid", "kty", "n", "p", "q", "qi", "x", "y"}
	if got := jsonKeys(t, j); !slices.Equal(got, want) {
		t.Errorf("JSON names = %v, want %v", got, want)
	}
}

func TestBase64URLInput(t *testing.T) {
	raw := []byte{0xfb, 0xff, 0xfe, 0x01} // exercises '-' and '_' and padding
	for _, s := range []string{
		base64.RawURLEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
	} {
		var b kcrypto.Base64URL
		if err := json.Unmarshal([]byte(`"`+s+`"`), &b); err != nil || !bytes.Equal(b, raw) {
			t.Errorf("decode %q = %x, %v", s, []byte(b), err)
		}
	}
	var b kcrypto.Base64URL
	if err := json.Unmarshal([]byte(`"`+base64.StdEncoding.EncodeToString(raw)+`"`), &b); !errors.Is(err, kcrypto.ErrInvalidInput) {
		t.Errorf("standard-alphabet base64 accepted: %v", err)
	}
	out, _ := json.Marshal(kcrypto.Base64URL(raw))
	if string(out) != `"-__-AQ"` {
		t.Errorf("encode = %s, want \"-__-AQ\"", out)
	}
}

func allKeys(t testing.TB) map[string]*kcrypto.Key {
	return map[string]*kcrypto.Key{
		"RSA": rsaKey(t), "P-256": ecKey(t, "P-256"), "P-384": ecKey(t, "P-384"),
		"P-521": ecKey(t, "P-521"), "P-256K": ecKey(t, "P-256K"),
	}
}

// TestPublicRoundTrip: PublicJWK → KeyFromJWK gives a public-only key with
// the same public JWK that refuses private operations.
func TestPublicRoundTrip(t *testing.T) {
	for name, key := range allKeys(t) {
		pub, err := kcrypto.KeyFromJWK(key.PublicJWK())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if pub.HasPrivate() || !key.HasPrivate() {
			t.Errorf("%s: HasPrivate = %v (imported), %v (generated)", name, pub.HasPrivate(), key.HasPrivate())
		}
		if !jwkEqual(pub.PublicJWK(), key.PublicJWK()) || pub.Size() != key.Size() || pub.Curve() != key.Curve() {
			t.Errorf("%s: public JWK, size or curve changed in the round trip", name)
		}
		alg := key.Algorithms(kcrypto.OpSign)[0]
		if _, err := pub.Sign(alg, make([]byte, 64)[:hashFor(alg).Size()]); !errors.Is(err, kcrypto.ErrInvalidKey) {
			t.Errorf("%s: Sign with public-only key: err = %v", name, err)
		}
		if _, err := pub.MarshalPrivate(); !errors.Is(err, kcrypto.ErrInvalidKey) {
			t.Errorf("%s: MarshalPrivate of public-only key: err = %v", name, err)
		}
		if name == "RSA" {
			if _, err := pub.Decrypt("RSA-OAEP-256", kcrypto.Params{Value: make([]byte, 256)}); !errors.Is(err, kcrypto.ErrInvalidKey) {
				t.Errorf("Decrypt with public-only key: err = %v", err)
			}
			if _, err := pub.UnwrapKey("RSA-OAEP-256", make([]byte, 256)); !errors.Is(err, kcrypto.ErrInvalidKey) {
				t.Errorf("UnwrapKey with public-only key: err = %v", err)
			}
		}
	}
}

func jwkEqual(a, b kcrypto.JWK) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestECFixedLengthCoordinates generates keys until a coordinate starts
// with a zero byte (bounded), then checks it stays full length through
// export and import. For P-256 that takes ~256 tries, for P-521 ~2.
func TestECFixedLengthCoordinates(t *testing.T) {
	for crv, bound := range map[string]int{"P-256": 20000, "P-521": 200} {
		var found *kcrypto.Key
		for i := 0; i < bound && found == nil; i++ {
			k, err := kcrypto.Generate("EC", 0, crv, 0)
			if err != nil {
				t.Fatal(err)
			}
			if j := k.PublicJWK(); j.X[0] == 0 {
				found = k
			}
		}
		if found == nil {
			t.Fatalf("%s: no x with a leading zero byte in %d keys", crv, bound)
		}
		j := found.PublicJWK()
		size := map[string]int{"P-256": 32, "P-521": 66}[crv]
		if len(j.X) != size || len(j.Y) != size {
			t.Fatalf("%s: x is %d bytes, y %d; want %d", crv, len(j.X), len(j.Y), size)
		}
		back, err := kcrypto.KeyFromJWK(j)
		if err != nil || !jwkEqual(back.PublicJWK(), j) {
			t.Fatalf("%s: round trip: %v", crv, err)
		}
		// A producer that strips the zero byte is accepted and normalized.
		short := j
		short.X = j.X[1:]
		back, err = kcrypto.KeyFromJWK(short)
		if err != nil || !jwkEqual(back.PublicJWK(), j) {
			t.Fatalf("%s: import of a short x: %v", crv, err)
		}
		alg := map[string]string{"P-256": "ES256", "P-521": "ES512"}[crv]
		d := digest(hashFor(alg), testMessage)
		sig, err := found.Sign(alg, d)
		if err != nil || !stdlibVerify(t, alg, j, d, sig) {
			t.Fatalf("%s: signature from a leading-zero key does not verify: %v", crv, err)
		}
	}
}

func TestRSAImportWithoutCRT(t *testing.T) {
	priv, _ := importedRSA(t)
	full := rsaJWK(priv)
	variants := map[string]kcrypto.JWK{
		"n e d":              {Kty: "RSA", N: full.N, E: full.E, D: full.D},
		"n e d dp dq qi":     {Kty: "RSA", N: full.N, E: full.E, D: full.D, DP: full.DP, DQ: full.DQ, QI: full.QI},
		"n e d qi":           {Kty: "RSA", N: full.N, E: full.E, D: full.D, QI: full.QI},
		"n e d p q":          {Kty: "RSA", N: full.N, E: full.E, D: full.D, P: full.P, Q: full.Q},
		"full":               full,
		"full, RSA-HSM kty":  withKty(full, "RSA-HSM"),
		"q p swapped, no dp": {Kty: "RSA", N: full.N, E: full.E, D: full.D, P: full.Q, Q: full.P},
	}
	for name, j := range variants {
		key, err := kcrypto.KeyFromJWK(j)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if key.Size() != 2048 || key.Kty() != "RSA" || !key.HasPrivate() {
			t.Errorf("%s: size %d kty %s", name, key.Size(), key.Kty())
		}
		d := digest(crypto.SHA256, testMessage)
		sig, err := key.Sign("RS256", d)
		if err != nil || rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, d, sig) != nil {
			t.Errorf("%s: signature does not verify: %v", name, err)
		}
		ct, _ := rsa.EncryptOAEP(oaepHash("RSA-OAEP-256"), rand.Reader, &priv.PublicKey, []byte("m"), nil)
		if res, err := key.Decrypt("RSA-OAEP-256", kcrypto.Params{Value: ct}); err != nil || string(res.Value) != "m" {
			t.Errorf("%s: decrypt: %v", name, err)
		}
	}
}

func withKty(j kcrypto.JWK, kty string) kcrypto.JWK {
	j.Kty = kty
	return j
}

func TestRSAImportRejects(t *testing.T) {
	priv, _ := importedRSA(t)
	full := rsaJWK(priv)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	bump := func(b []byte) []byte { return new(big.Int).Add(new(big.Int).SetBytes(b), big.NewInt(2)).Bytes() }
	cases := map[string]kcrypto.JWK{
		"1024-bit":     rsaJWK(small),
		"no n":         {Kty: "RSA", E: full.E, D: full.D},
		"no e":         {Kty: "RSA", N: full.N, D: full.D},
		"even e":       {Kty: "RSA", N: full.N, E: []byte{1, 0, 0}, D: full.D},
		"e = 1":        {Kty: "RSA", N: full.N, E: []byte{1}},
		"huge e":       {Kty: "RSA", N: full.N, E: []byte{1, 0, 0, 0, 1}},
		"even n":       {Kty: "RSA", N: append(bytes.Clone(full.N[:255]), full.N[255]^1), E: full.E},
		"wrong d":      {Kty: "RSA", N: full.N, E: full.E, D: bump(full.D)},
		"wrong d, p q": {Kty: "RSA", N: full.N, E: full.E, D: bump(full.D), P: full.P, Q: full.Q},
		"p only":       {Kty: "RSA", N: full.N, E: full.E, D: full.D, P: full.P},
		"p without d":  {Kty: "RSA", N: full.N, E: full.E, P: full.P, Q: full.Q},
		"wrong dp":     withField(full, func(j *kcrypto.JWK) { j.DP = bump(j.DP) }),
		"wrong qi":     withField(full, func(j *kcrypto.JWK) { j.QI = bump(j.QI) }),
		"wrong p":      withField(full, func(j *kcrypto.JWK) { j.P = bump(j.P) }),
		"key_hsm":      {Kty: "RSA", N: full.N, E: full.E, KeyHSM: []byte("blob")},
		"kty RSA2":     withKty(full, "RSA2"),
	}
	for name, j := range cases {
		_, err := kcrypto.KeyFromJWK(j)
		if !errors.Is(err, kcrypto.ErrInvalidKey) {
			t.Errorf("%s: err = %v, want ErrInvalidKey", name, err)
			continue
		}
		assertNoKeyMaterial(t, name, err, j)
	}
	_, err = kcrypto.KeyFromJWK(rsaJWK(small))
	if !strings.Contains(err.Error(), "1024 bits") {
		t.Errorf("size error does not report the size: %v", err)
	}
}

func withField(j kcrypto.JWK, f func(*kcrypto.JWK)) kcrypto.JWK {
	f(&j)
	return j
}

// assertNoKeyMaterial checks that no binary field of j, in base64url, hex
// or decimal, appears in the error text.
func assertNoKeyMaterial(t testing.TB, name string, err error, j kcrypto.JWK) {
	t.Helper()
	msg := strings.ToLower(err.Error())
	for _, f := range [][]byte{j.N, j.D, j.P, j.Q, j.DP, j.DQ, j.QI, j.K, j.X, j.Y} {
		dec := new(big.Int).SetBytes(f).String()
		if len(f) < 8 || len(dec) < 12 {
			continue // too short or too uniform to be recognizable
		}
		for _, s := range []string{
			base64.RawURLEncoding.EncodeToString(f[:8]),
			strings.ToLower(new(big.Int).SetBytes(f[:8]).Text(16)),
			dec[:12],
		} {
			if strings.Contains(msg, strings.ToLower(s)) {
				t.Errorf("%s: error %q contains key material", name, err)
			}
		}
	}
}

// TestRSAImportExponent3 imports a key with e = 3 given only n, e, d:
// the primes are recovered and the size reported.
func TestRSAImportExponent3(t *testing.T) {
	prime := func() *big.Int {
		for {
			p, err := rand.Prime(rand.Reader, 1024)
			if err != nil {
				t.Fatal(err)
			}
			if new(big.Int).Mod(p, big.NewInt(3)).Int64() == 2 {
				return p
			}
		}
	}
	var p, q, n *big.Int
	for n == nil || n.BitLen() != 2048 {
		p, q = prime(), prime()
		n = new(big.Int).Mul(p, q)
	}
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	d := new(big.Int).ModInverse(big.NewInt(3), phi)
	key, err := kcrypto.KeyFromJWK(kcrypto.JWK{Kty: "RSA", N: n.Bytes(), E: []byte{3}, D: d.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	j := key.PublicJWK()
	if key.Size() != 2048 || !bytes.Equal(j.E, []byte{3}) {
		t.Fatalf("size %d, e %x", key.Size(), []byte(j.E))
	}
	dg := digest(crypto.SHA256, testMessage)
	sig, err := key.Sign("PS256", dg)
	if err != nil || !stdlibVerify(t, "PS256", j, dg, sig) {
		t.Fatalf("e = 3 signature: %v", err)
	}
}

func TestECImportRejects(t *testing.T) {
	key := ecKey(t, "P-256")
	other := ecKey(t, "P-384")
	j := key.PublicJWK()
	k1 := ecKey(t, "P-256K").PublicJWK()
	notOnCurve := withField(j, func(j *kcrypto.JWK) { j.Y = bytes.Clone(j.Y); j.Y[31] ^= 1 })
	k1NotOnCurve := withField(k1, func(j *kcrypto.JWK) { j.Y = bytes.Clone(j.Y); j.Y[31] ^= 1 })
	n256K := unhex(t, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141")
	priv, _ := ecdsa.GenerateKey(curveByName["P-256"], rand.Reader)
	otherD := ecJWK(t, "P-256", priv).D
	cases := map[string]kcrypto.JWK{
		"not on curve":        notOnCurve,
		"P-256K not on curve": k1NotOnCurve,
		"unknown curve":       withField(j, func(j *kcrypto.JWK) { j.Crv = "P-224" }),
		"no crv":              withField(j, func(j *kcrypto.JWK) { j.Crv = "" }),
		"no y":                withField(j, func(j *kcrypto.JWK) { j.Y = nil }),
		"x too long":          withField(j, func(j *kcrypto.JWK) { j.X = append([]byte{1}, j.X...) }),
		"P-384 point as P-256": withField(other.PublicJWK(), func(j *kcrypto.JWK) {
			j.Crv = "P-256"
		}),
		"d of another key": withField(j, func(j *kcrypto.JWK) { j.D = otherD }),
		"d zero":           withField(j, func(j *kcrypto.JWK) { j.D = make([]byte, 32) }),
		"P-256K d = N":     withField(k1, func(j *kcrypto.JWK) { j.D = n256K }),
		"P-256K d zero":    withField(k1, func(j *kcrypto.JWK) { j.D = make([]byte, 32) }),
		"P-256K d other":   withField(k1, func(j *kcrypto.JWK) { j.D = otherD }),
	}
	for name, jj := range cases {
		_, err := kcrypto.KeyFromJWK(jj)
		if !errors.Is(err, kcrypto.ErrInvalidKey) {
			t.Errorf("%s: err = %v, want ErrInvalidKey", name, err)
			continue
		}
		assertNoKeyMaterial(t, name, err, jj)
	}
	// Leading zero bytes beyond the coordinate length are tolerated.
	padded := withField(j, func(j *kcrypto.JWK) { j.X = append([]byte{0, 0}, j.X...) })
	if _, err := kcrypto.KeyFromJWK(padded); err != nil {
		t.Errorf("x with extra leading zeros: %v", err)
	}
}

func TestOctImport(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		key, err := kcrypto.KeyFromJWK(kcrypto.JWK{Kty: "oct-HSM", K: fill(n, 1)})
		if err != nil || key.Size() != 8*n || key.Kty() != "oct" {
			t.Errorf("%d-byte k: %v", n, err)
		}
	}
	secret := []byte("SECRETSECRETSECRETSE") // 20 bytes
	for name, j := range map[string]kcrypto.JWK{
		"20 bytes": {Kty: "oct", K: secret},
		"no k":     {Kty: "oct"},
		"64 bytes": {Kty: "oct", K: fill(64, 9)},
	} {
		_, err := kcrypto.KeyFromJWK(j)
		if !errors.Is(err, kcrypto.ErrInvalidKey) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: err = %v", name, err)
		}
		assertNoKeyMaterial(t, name, err, j)
	}
}

func TestParseJWK(t *testing.T) {
	key := ecKey(t, "P-384")
	j := key.PublicJWK()
	j.Kid = "https://v.vault.azure.net/keys/k/1"
	j.KeyOps = []string{"sign", "verify"}
	b, _ := json.Marshal(j)
	got, err := kcrypto.ParseJWK(b)
	if err != nil || !jwkEqual(got.PublicJWK(), key.PublicJWK()) {
		t.Fatalf("ParseJWK: %v", err)
	}
	for name, in := range map[string]string{
		"trailing data": string(b) + "{}",
		"not JSON":      "{",
		"bad base64":    `{"kty":"oct","k":"SECRET*SECRET*SECRET"}`,
		"k not string":  `{"kty":"oct","k":12345}`,
		"empty":         "",
	} {
		_, err := kcrypto.ParseJWK([]byte(in))
		if !errors.Is(err, kcrypto.ErrInvalidKey) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestOpenSSLGenpkeyImport imports keys made by "openssl genpkey" (PEM
// converted to JWK here with Go's parsers), signs with kcrypto and verifies
// with openssl against openssl's own public key. The JWK export must
// reproduce that public key exactly.
func TestOpenSSLGenpkeyImport(t *testing.T) {
	cases := []struct {
		name, alg string
		genArgs   []string
	}{
		{"RSA-2048", "PS384", []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}},
		{"P-256", "ES256", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}},
		{"P-384", "ES384", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"}},
		{"P-521", "ES512", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"}},
		{"P-256K", "ES256K", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustOpenSSL(t, dir, append([]string{"genpkey", "-out", "priv.pem"}, tc.genArgs...)...)
			mustOpenSSL(t, dir, "pkey", "-in", "priv.pem", "-pubout", "-out", "pub.pem")
			j := jwkFromPEM(t, readFile(t, dir, "priv.pem"))
			key, err := kcrypto.KeyFromJWK(j)
			if err != nil {
				t.Fatal(err)
			}
			if !samePEM(t, publicPEM(t, key.PublicJWK()), readFile(t, dir, "pub.pem")) {
				t.Fatal("PublicJWK does not reproduce openssl's public key")
			}
			h := hashFor(tc.alg)
			sig, err := key.Sign(tc.alg, digest(h, testMessage))
			if err != nil {
				t.Fatal(err)
			}
			if tc.alg[:2] == "ES" {
				sig = rawToDER(t, sig)
			}
			writeFile(t, dir, "sig.bin", sig)
			writeFile(t, dir, "msg.bin", testMessage)
			args := append([]string{"dgst", "-" + opensslMD(h), "-verify", "pub.pem", "-signature", "sig.bin"}, prefixEach("-sigopt", opensslSigOpts(tc.alg))...)
			if out := mustOpenSSL(t, dir, append(args, "msg.bin")...); !strings.Contains(out, "Verified OK") {
				t.Fatalf("openssl: %s", out)
			}
			// openssl signs, kcrypto verifies.
			mustOpenSSL(t, dir, append([]string{"dgst", "-" + opensslMD(h), "-sign", "priv.pem", "-out", "osig.bin"}, append(prefixEach("-sigopt", opensslSigOpts(tc.alg)), "msg.bin")...)...)
			osig := readFile(t, dir, "osig.bin")
			if tc.alg[:2] == "ES" {
				osig = derToRaw(t, osig, len(key.PublicJWK().X))
			}
			if ok, err := key.Verify(tc.alg, digest(h, testMessage), osig); !ok || err != nil {
				t.Fatalf("kcrypto rejects openssl's signature: %v %v", ok, err)
			}
			if tc.name == "RSA-2048" {
				rsaOpenSSLBothWays(t, dir, j)
			}
		})
	}
}

// rsaOpenSSLBothWays imports j as n, e, d only and exchanges ciphertexts
// with openssl in both directions for each RSA padding.
func rsaOpenSSLBothWays(t *testing.T, dir string, j kcrypto.JWK) {
	key, err := kcrypto.KeyFromJWK(kcrypto.JWK{Kty: "RSA", N: j.N, E: j.E, D: j.D})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("both ways")
	writeFile(t, dir, "msg.bin", msg)
	for alg, opts := range opensslPadding {
		mustOpenSSL(t, dir, append([]string{"pkeyutl", "-encrypt", "-pubin", "-inkey", "pub.pem", "-in", "msg.bin", "-out", "ct.bin"}, prefixEach("-pkeyopt", opts)...)...)
		if res, err := key.Decrypt(alg, kcrypto.Params{Value: readFile(t, dir, "ct.bin")}); err != nil || !bytes.Equal(res.Value, msg) {
			t.Errorf("%s: openssl → kcrypto: %v", alg, err)
		}
		enc, err := key.Encrypt(alg, kcrypto.Params{Value: msg})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "kct.bin", enc.Value)
		mustOpenSSL(t, dir, append([]string{"pkeyutl", "-decrypt", "-inkey", "priv.pem", "-in", "kct.bin", "-out", "pt.bin"}, prefixEach("-pkeyopt", opts)...)...)
		if !bytes.Equal(readFile(t, dir, "pt.bin"), msg) {
			t.Errorf("%s: kcrypto → openssl: wrong plaintext", alg)
		}
	}
}

func samePEM(t testing.TB, a, b []byte) bool {
	pa, _ := pem.Decode(a)
	pb, _ := pem.Decode(b)
	if pa == nil || pb == nil {
		t.Fatal("bad PEM")
	}
	return bytes.Equal(pa.Bytes, pb.Bytes)
}

// jwkFromPEM converts a PKCS#8 PEM private key to a private JWK. secp256k1
// is not supported by crypto/x509, so its PKCS#8/SEC 1 structure is parsed
// by hand.
func jwkFromPEM(t testing.TB, data []byte) kcrypto.JWK {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err == nil {
		switch k := parsed.(type) {
		case *rsa.PrivateKey:
			return rsaJWK(k)
		case *ecdsa.PrivateKey:
			crv := map[int]string{256: "P-256", 384: "P-384", 521: "P-521"}[k.Curve.Params().BitSize]
			return ecJWK(t, crv, k)
		}
	}
	return secp256k1JWK(t, block.Bytes)
}

func secp256k1JWK(t testing.TB, der []byte) kcrypto.JWK {
	t.Helper()
	var p8 struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	var sec1 struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
		PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
	}
	if _, err := asn1.Unmarshal(der, &p8); err != nil {
		t.Fatalf("PKCS#8: %v", err)
	}
	if _, err := asn1.Unmarshal(p8.PrivateKey, &sec1); err != nil {
		t.Fatalf("SEC 1: %v", err)
	}
	pt := sec1.PublicKey.Bytes
	if len(pt) != 65 {
		t.Fatalf("secp256k1 public key is %d bytes", len(pt))
	}
	return kcrypto.JWK{Kty: "EC", Crv: "P-256K", D: sec1.PrivateKey, X: pt[1:33], Y: pt[33:]}
}
