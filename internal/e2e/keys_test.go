package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

func keysClient(t *testing.T, srv *testenv.Server) *azkeys.Client {
	t.Helper()
	c, err := azkeys.NewClient(srv.Info.VaultURL, secretCredential(t, srv), &azkeys.ClientOptions{ClientOptions: clientOptions(srv)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rsaPublic(t *testing.T, k *azkeys.JSONWebKey) *rsa.PublicKey {
	t.Helper()
	return &rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(new(big.Int).SetBytes(k.E).Int64())}
}

func TestAzureSDKKeysRSA(t *testing.T) {
	srv := testenv.StartDev(t)
	c := keysClient(t, srv)
	ctx := context.Background()
	created, err := c.CreateKey(ctx, "rsa", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr(int32(2048))}, nil)
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	k := created.Key
	if len(k.N) != 256 || string(k.E) != "\x01\x00\x01" || k.D != nil || len(k.KeyOps) != 6 {
		t.Fatalf("public JWK: n=%d e=%x d=%v ops=%v", len(k.N), k.E, k.D, k.KeyOps)
	}
	pub := rsaPublic(t, k)
	digest := sha256.Sum256([]byte("message"))
	for _, alg := range []azkeys.SignatureAlgorithm{azkeys.SignatureAlgorithmRS256, azkeys.SignatureAlgorithmPS256} {
		sig, err := c.Sign(ctx, "rsa", "", azkeys.SignParameters{Algorithm: to.Ptr(alg), Value: digest[:]}, nil)
		if err != nil {
			t.Fatalf("Sign %s: %v", alg, err)
		}
		if alg == azkeys.SignatureAlgorithmRS256 {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig.Result)
		} else {
			err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig.Result, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		if err != nil {
			t.Fatalf("%s signature does not verify with crypto/rsa: %v", alg, err)
		}
		v, err := c.Verify(ctx, "rsa", "", azkeys.VerifyParameters{Algorithm: to.Ptr(alg), Digest: digest[:], Signature: sig.Result}, nil)
		if err != nil || !*v.Value {
			t.Fatalf("Verify %s: %v", alg, err)
		}
	}
	// Encrypted locally with the public key, decrypted by the server.
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte("local plaintext"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := c.Decrypt(ctx, "rsa", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: ct}, nil)
	if err != nil || string(pt.Result) != "local plaintext" || pt.KID.Version() != k.KID.Version() {
		t.Fatalf("Decrypt: %v %q", err, pt.Result)
	}
	wrapped, err := c.WrapKey(ctx, "rsa", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	unwrapped, err := c.UnwrapKey(ctx, "rsa", k.KID.Version(), azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: wrapped.Result}, nil)
	if err != nil || string(unwrapped.Result) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("UnwrapKey: %v", err)
	}

	// Rotation makes a new version; the old one still decrypts.
	rotated, err := c.RotateKey(ctx, "rsa", nil)
	if err != nil || rotated.Key.KID.Version() == k.KID.Version() {
		t.Fatalf("RotateKey: %v", err)
	}
	if _, err := c.Decrypt(ctx, "rsa", k.KID.Version(), azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: ct}, nil); err != nil {
		t.Fatalf("old version after rotation: %v", err)
	}
	// key_ops are enforced.
	if _, err := c.UpdateKey(ctx, "rsa", "", azkeys.UpdateKeyParameters{KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationVerify)}}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Sign(ctx, "rsa", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
	respErr(t, err, http.StatusForbidden, "Forbidden")
	_, err = c.Sign(ctx, "rsa", k.KID.Version(), azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:4]}, nil)
	respErr(t, err, http.StatusBadRequest, "BadParameter")

	// Lifecycle: delete, recover, backup, purge, restore.
	if _, err := c.DeleteKey(ctx, "rsa", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDeletedKey(ctx, "rsa", nil); err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for p := c.NewListDeletedKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			if d.RecoveryID == nil || d.DeletedDate == nil || d.KID.Name() != "rsa" {
				t.Fatalf("deleted key item: %+v", d)
			}
			deleted++
		}
	}
	if deleted != 1 {
		t.Fatalf("deleted keys listed: %d", deleted)
	}
	if _, err := c.RecoverDeletedKey(ctx, "rsa", nil); err != nil {
		t.Fatal(err)
	}
	backup, err := c.BackupKey(ctx, "rsa", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteKey(ctx, "rsa", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedKey(ctx, "rsa", nil); err != nil {
		t.Fatal(err)
	}
	restored, err := c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: backup.Value}, nil)
	if err != nil || restored.Key.KID.Version() != rotated.Key.KID.Version() {
		t.Fatalf("RestoreKey: %v", err)
	}
	n := 0
	for p := c.NewListKeyPropertiesVersionsPager("rsa", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 2 {
		t.Fatalf("versions after restore: %d", n)
	}
}

func TestAzureSDKKeysEC(t *testing.T) {
	srv := testenv.StartDev(t)
	c := keysClient(t, srv)
	ctx := context.Background()
	created, err := c.CreateKey(ctx, "ec", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := created.Key
	if len(k.X) != 32 || len(k.Y) != 32 || *k.Crv != azkeys.CurveNameP256 {
		t.Fatalf("EC JWK: %+v", k)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(k.X), Y: new(big.Int).SetBytes(k.Y)}
	digest := sha256.Sum256([]byte("ec message"))
	sig, err := c.Sign(ctx, "ec", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest[:]}, nil)
	if err != nil || len(sig.Result) != 64 {
		t.Fatalf("Sign: %v", err)
	}
	r, s := new(big.Int).SetBytes(sig.Result[:32]), new(big.Int).SetBytes(sig.Result[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("ES256 signature does not verify with crypto/ecdsa")
	}
	_, err = c.Encrypt(ctx, "ec", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: []byte("x")}, nil)
	if err == nil {
		t.Fatal("an EC key encrypted")
	}
	_, err = c.CreateKey(ctx, "hsm", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeECHSM), Curve: to.Ptr(azkeys.CurveNameP256)}, nil)
	respErr(t, err, http.StatusBadRequest, "BadParameter")
	policy, err := c.UpdateKeyRotationPolicy(ctx, "ec", azkeys.KeyRotationPolicy{
		LifetimeActions: []*azkeys.LifetimeAction{{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
			Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P30D")}}},
		Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")}}, nil)
	if err != nil || len(policy.LifetimeActions) != 2 {
		t.Fatalf("UpdateKeyRotationPolicy: %v %+v", err, policy)
	}
	got, err := c.GetKeyRotationPolicy(ctx, "ec", nil)
	if err != nil || *got.Attributes.ExpiryTime != "P90D" {
		t.Fatalf("GetKeyRotationPolicy: %v", err)
	}
	rnd, err := c.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{Count: to.Ptr(int32(32))}, nil)
	if err != nil || len(rnd.Value) != 32 {
		t.Fatalf("GetRandomBytes: %v", err)
	}
}
