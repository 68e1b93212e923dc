package e2e

import (
	"context"
	"crypto"
	"crypto/rsa"
	"math/big"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
	"github.com/keyhaven/keyhaven/pkg/client"
)

// keyhaven's own Go client drives the keys API end to end.
func TestGoClientKeys(t *testing.T) {
	srv := testenv.StartDev(t)
	cred := &client.ClientSecretCredential{AuthorityHost: srv.Info.AuthorityHost, TenantID: "adfs",
		ClientID: srv.Info.ClientID, ClientSecret: srv.Info.ClientSecret, HTTPClient: srv.Client}
	c, err := client.NewKeysClient(srv.Info.VaultURL, cred, &client.ClientOptions{HTTPClient: srv.Client})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	size := int32(2048)
	k, err := c.CreateKey(ctx, "cli-rsa", client.KeyCreateParameters{Kty: "RSA", KeySize: &size})
	if err != nil || k.Key == nil || len(k.Key.N) != 256 {
		t.Fatalf("CreateKey: %v %+v", err, k)
	}
	digest := sum256([]byte("pkg/client"))
	sig, err := c.Do(ctx, "cli-rsa", "", "sign", client.KeyOperationParameters{Algorithm: "RS256", Value: digest})
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: bigFrom(k.Key.N), E: int(bigFrom(k.Key.E).Int64())}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig.Value); err != nil {
		t.Fatalf("signature: %v", err)
	}
	ok, err := c.Verify(ctx, "cli-rsa", "", client.KeyVerifyParameters{Algorithm: "RS256", Digest: digest, Signature: sig.Value})
	if err != nil || !ok {
		t.Fatalf("Verify: %v %v", ok, err)
	}
	if _, err := c.RotateKey(ctx, "cli-rsa"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range c.ListKeyVersions(ctx, "cli-rsa", nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("versions: %d", n)
	}
	blob, err := c.BackupKey(ctx, "cli-rsa")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteKey(ctx, "cli-rsa"); err != nil {
		t.Fatal(err)
	}
	if err := c.PurgeDeletedKey(ctx, "cli-rsa"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RestoreKey(ctx, blob); err != nil {
		t.Fatal(err)
	}
	rnd, err := c.GetRandomBytes(ctx, 16)
	if err != nil || len(rnd) != 16 {
		t.Fatalf("random: %v", err)
	}
	pol, err := c.GetKeyRotationPolicy(ctx, "cli-rsa")
	if err != nil || len(pol.LifetimeActions) != 1 || pol.LifetimeActions[0].Action.Type != "Notify" {
		t.Fatalf("policy: %v %+v", err, pol)
	}
}

func bigFrom(b []byte) *big.Int { return new(big.Int).SetBytes(b) }
