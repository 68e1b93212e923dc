package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// oidcIssuer is an external OIDC issuer (like a Kubernetes cluster's
// service-account issuer) running in the test.
type oidcIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newOIDCIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	iss := &oidcIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	})
	iss.srv = httptest.NewTLSServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

// token signs a service-account style token.
func (o *oidcIssuer) token(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestWorkloadIdentityCredentialWithAnExternalIssuer(t *testing.T) {
	srv := testenv.StartDev(t)
	iss := newOIDCIssuer(t)
	srv.App.SetOIDCClient(iss.srv.Client())
	admin := newRaw(t, srv).token
	const subject = "system:serviceaccount:payments:api"
	code, cred := mgmt(t, srv, admin, "POST", "/identity/applications/"+srv.Info.ClientID+"/federatedCredentials",
		`{"issuer":"`+iss.srv.URL+`","subject":"`+subject+`"}`)
	if code != 201 || cred["type"] != "federated" {
		t.Fatalf("add federated credential: %d %v", code, cred)
	}
	if code, _ := mgmt(t, srv, admin, "POST", "/identity/applications/"+srv.Info.ClientID+"/federatedCredentials",
		`{"issuer":"http://plain.example","subject":"x"}`); code != 400 {
		t.Fatalf("a plain-http issuer: %d", code)
	}
	ctx := context.Background()
	if _, err := secretsClient(t, srv, secretCredential(t, srv)).SetSecret(ctx, "fed", azsecrets.SetSecretParameters{Value: to.Ptr("ok")}, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	good := map[string]any{"iss": iss.srv.URL, "sub": subject, "aud": []string{"api://AzureADTokenExchange"}, "iat": now, "nbf": now, "exp": now + 600}
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(iss.token(t, iss.key, good)), 0o600)
	wic, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: clientOptions(srv),
		ClientID: srv.Info.ClientID, TenantID: srv.Info.TenantID, TokenFilePath: file, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := secretsClient(t, srv, wic).GetSecret(ctx, "fed", "", nil)
	if err != nil || *got.Value != "ok" {
		t.Fatalf("GetSecret with WorkloadIdentityCredential: %v", err)
	}

	// DefaultAzureCredential picks the workload identity from the
	// environment alone, as on a Kubernetes pod.
	for k, v := range map[string]string{"AZURE_CLIENT_ID": srv.Info.ClientID, "AZURE_TENANT_ID": srv.Info.TenantID,
		"AZURE_FEDERATED_TOKEN_FILE": file, "AZURE_AUTHORITY_HOST": srv.Info.AuthorityHost, "AZURE_CLIENT_SECRET": ""} {
		t.Setenv(k, v)
	}
	dac, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: clientOptions(srv),
		DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := secretsClient(t, srv, dac).GetSecret(ctx, "fed", "", nil); err != nil || *got.Value != "ok" {
		t.Fatalf("GetSecret with DefaultAzureCredential (workload identity from the environment): %v", err)
	}

	// Tokens the federated credential does not cover are refused.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, tok := range map[string]string{
		"other subject":  iss.token(t, iss.key, with(copyMap(good), "sub", "system:serviceaccount:other:x")),
		"other audience": iss.token(t, iss.key, with(copyMap(good), "aud", "api://something-else")),
		"expired":        iss.token(t, iss.key, with(copyMap(good), "exp", now-600)),
		"forged":         iss.token(t, other, good),
	} {
		if code := federatedPost(t, srv, tok); code != 401 {
			t.Errorf("%s: status %d", name, code)
		}
	}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func federatedPost(t *testing.T, srv *testenv.Server, tok string) int {
	t.Helper()
	endpoint := srv.Info.AuthorityHost + "/" + srv.Info.TenantID + "/oauth2/v2.0/token"
	form := map[string][]string{"grant_type": {"client_credentials"}, "client_id": {srv.Info.ClientID}, "scope": {"https://vault.localhost/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {tok}}
	resp, err := srv.Client.PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
