package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// staticToken is a credential that always presents one access token, as a
// workload holding a token of its own identity provider would.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Access tokens of a trusted external OIDC issuer (Entra ID or Keycloak
// shaped) are accepted by the data plane with their claims mapped to a
// principal; role assignments name its object id or one of its groups;
// bad tokens are refused with 401 and Azure's error.
func TestExternalIssuerTokensOnTheDataPlane(t *testing.T) {
	srv := testenv.StartDev(t)
	iss := newOIDCIssuer(t)
	srv.App.SetOIDCClient(iss.srv.Client())
	admin := newRaw(t, srv).token
	ctx := context.Background()
	if _, err := secretsClient(t, srv, secretCredential(t, srv)).SetSecret(ctx, "ext", azsecrets.SetSecretParameters{Value: to.Ptr("from-afar")}, nil); err != nil {
		t.Fatal(err)
	}

	// Keycloak shape: the object id is sub, groups come from "roles".
	code, x := mgmt(t, srv, admin, "POST", "/identity/externalIssuers",
		`{"issuer":"`+iss.srv.URL+`","audiences":["https://vault.localhost"],"objectIdClaim":"sub","groupsClaim":"roles"}`)
	if code != http.StatusCreated || x["objectIdClaim"] != "sub" || x["id"] == "" {
		t.Fatalf("add issuer: %d %v", code, x)
	}
	for name, body := range map[string]string{
		"plain http":       `{"issuer":"http://idp.example","audiences":["https://vault.localhost"]}`,
		"foreign audience": `{"issuer":"https://idp.example","audiences":["https://graph.example"]}`,
		"own authority":    `{"issuer":"` + srv.Info.AuthorityHost + `/adfs"}`,
	} {
		if code, _ := mgmt(t, srv, admin, "POST", "/identity/externalIssuers", body); code != http.StatusBadRequest {
			t.Errorf("%s: %d", name, code)
		}
	}

	const user, group = "0b5e1b9c-56a6-4c4c-9a1e-3e5f7d2c1a00", "7d4c3b2a-1908-4f6e-8d5c-4b3a29180f7e"
	now := time.Now().Unix()
	good := map[string]any{"iss": iss.srv.URL, "sub": user, "aud": "https://vault.localhost", "azp": "billing-web",
		"preferred_username": "carol", "roles": []string{group}, "iat": now, "nbf": now, "exp": now + 600}
	client := func(tok string) *azsecrets.Client { return secretsClient(t, srv, staticToken(tok)) }

	// Valid, but no role yet: 403 naming the mapped principal.
	_, err := client(iss.token(t, iss.key, good)).GetSecret(ctx, "ext", "", nil)
	if !isStatus(err, http.StatusForbidden) || !strings.Contains(err.Error(), user) {
		t.Fatalf("before any role: %v", err)
	}
	// A role for the group (External: the directory cannot check it).
	if code, a := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+group+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev"}`); code != http.StatusBadRequest {
		t.Fatalf("an unknown principal without principalType External: %d %v", code, a)
	}
	if code, _ := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+group+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev","principalType":"External"}`); code != http.StatusBadRequest {
		t.Fatalf("an External principal without its issuer: %d", code)
	}
	if code, a := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+group+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev","principalType":"External","issuer":"`+iss.srv.URL+`"}`); code != http.StatusCreated {
		t.Fatalf("assign to the external group: %d %v", code, a)
	}
	got, err := client(iss.token(t, iss.key, good)).GetSecret(ctx, "ext", "", nil)
	if err != nil || *got.Value != "from-afar" {
		t.Fatalf("GetSecret with the external token: %v", err)
	}
	// A second trusted issuer cannot claim the first one's principals.
	iss2 := newOIDCIssuer(t)
	srv.App.SetOIDCClient(multiIssuerClient(iss, iss2))
	if code, x2 := mgmt(t, srv, admin, "POST", "/identity/externalIssuers",
		`{"issuer":"`+iss2.srv.URL+`","audiences":["https://vault.localhost"],"objectIdClaim":"sub","groupsClaim":"roles"}`); code != http.StatusCreated {
		t.Fatalf("second issuer: %d %v", code, x2)
	}
	if _, err := client(iss2.token(t, iss2.key, with(copyMap(good), "iss", iss2.srv.URL))).GetSecret(ctx, "ext", "", nil); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("another issuer's token naming the same principal and group: %v", err)
	}
	// Secrets User may read, not write.
	if _, err := client(iss.token(t, iss.key, good)).SetSecret(ctx, "ext", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("SetSecret as Secrets User: %v", err)
	}
	// A local group named in the token's groups gives nothing: it is dropped.
	code, lg := mgmt(t, srv, admin, "POST", "/identity/groups", `{"displayName":"local-officers"}`)
	if code != http.StatusCreated {
		t.Fatalf("local group: %d %v", code, lg)
	}
	if code, a := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+lg["objectId"].(string)+`","roleName":"Key Vault Secrets Officer","scope":"/vaults/dev"}`); code != http.StatusCreated {
		t.Fatalf("assign to the local group: %d %v", code, a)
	}
	claimsLocal := with(copyMap(good), "roles", []string{group, lg["objectId"].(string)})
	if _, err := client(iss.token(t, iss.key, claimsLocal)).SetSecret(ctx, "ext", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("SetSecret through a local group named by an external token: %v", err)
	}

	// The issuer cannot speak for this server's own principals: a token
	// naming the dev administrator (an Owner) is refused.
	_, devApp := mgmt(t, srv, admin, "GET", "/identity/applications/"+srv.Info.ClientID, "")
	adminOID, _ := devApp["objectId"].(string)
	if adminOID == "" {
		t.Fatalf("dev application: %v", devApp)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, tok := range map[string]string{
		"a local principal": iss.token(t, iss.key, with(copyMap(good), "sub", adminOID)),
		"forged signature":  iss.token(t, other, good),
		"expired":           iss.token(t, iss.key, with(copyMap(good), "exp", now-600)),
		"not yet valid":     iss.token(t, iss.key, with(copyMap(good), "nbf", now+600)),
		"wrong audience":    iss.token(t, iss.key, with(copyMap(good), "aud", "https://graph.example")),
		"no object id":      iss.token(t, iss.key, with(copyMap(good), "sub", "")),
		"untrusted issuer":  iss.token(t, iss.key, with(copyMap(good), "iss", "https://elsewhere.example")),
		"tampered":          tamperClaim(iss.token(t, iss.key, good), "carol", "mallory"),
		"alg none":          unsignedJWT(good),
	} {
		_, err := client(tok).GetSecret(ctx, "ext", "", nil)
		if !isStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), "Unauthorized") {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Removing the issuer ends its tokens' access.
	if code, _ := mgmt(t, srv, admin, "DELETE", "/identity/externalIssuers/"+x["id"].(string), ""); code != http.StatusNoContent {
		t.Fatalf("remove issuer: %d", code)
	}
	fresh := iss.token(t, iss.key, with(copyMap(good), "jti", "after-removal"))
	if _, err := client(fresh).GetSecret(ctx, "ext", "", nil); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("after removal: %v", err)
	}
	// A token verified before the removal (and cached) is refused as well.
	if _, err := client(iss.token(t, iss.key, good)).GetSecret(ctx, "ext", "", nil); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("a token seen before the removal: %v", err)
	}
}

func isStatus(err error, status int) bool {
	var re *azcore.ResponseError
	if err == nil {
		return false
	}
	if ok := asResponseError(err, &re); ok {
		return re.StatusCode == status
	}
	return false
}

func asResponseError(err error, target **azcore.ResponseError) bool {
	return errors.As(err, target)
}

// unsignedJWT is claims with alg none and no signature.
func unsignedJWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

// tamperClaim replaces text in a JWT's payload and keeps its signature.
func tamperClaim(jwt, from, to string) string {
	parts := strings.Split(jwt, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), from, to, 1)))
	return strings.Join(parts, ".")
}

// multiIssuerClient trusts the TLS certificates of both test issuers.
func multiIssuerClient(a, b *oidcIssuer) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(a.srv.Certificate())
	pool.AddCert(b.srv.Certificate())
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}
