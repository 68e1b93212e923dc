package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// mgmt calls the management API on the authority host with a token.
func mgmt(t *testing.T, srv *testenv.Server, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.Info.AuthorityHost+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// tokenStatus asks the token endpoint for a token with a client secret.
func tokenStatus(t *testing.T, srv *testenv.Server, clientID, secret string) int {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {"https://vault.localhost/.default"}}
	resp, err := srv.Client.PostForm(srv.Info.AuthorityHost+"/"+srv.Info.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestApplicationsManagementAPI(t *testing.T) {
	srv := testenv.StartDev(t)
	admin := newRaw(t, srv).token
	if code, _ := mgmt(t, srv, "", "GET", "/identity/applications", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	code, app := mgmt(t, srv, admin, "POST", "/identity/applications", `{"displayName":"billing-service"}`)
	if code != 201 || app["secret"] == "" || app["appId"] == "" {
		t.Fatalf("create: %d %v", code, app)
	}
	appID, secret := app["appId"].(string), app["secret"].(string)
	if tokenStatus(t, srv, appID, secret) != 200 {
		t.Fatal("the new application cannot get a token")
	}
	// The new application has no management role.
	r := &raw{t: t, srv: srv}
	appToken := r.fetchToken(appID, secret, "https://vault.localhost/.default")
	if code, body := mgmt(t, srv, appToken, "GET", "/identity/applications", ""); code != 403 {
		t.Fatalf("non-owner listed applications: %d %v", code, body)
	}
	// A second secret, then the first one removed.
	code, s2 := mgmt(t, srv, admin, "POST", "/identity/applications/"+appID+"/secrets", `{"expiresInDays":30}`)
	if code != 201 || tokenStatus(t, srv, appID, s2["secret"].(string)) != 200 {
		t.Fatalf("add secret: %d %v", code, s2)
	}
	_, got := mgmt(t, srv, admin, "GET", "/identity/applications/"+appID, "")
	creds := got["credentials"].([]any)
	first := creds[0].(map[string]any)["id"].(string)
	if strings.Contains(toJSON(got), secret) || strings.Contains(toJSON(got), s2["secret"].(string)) {
		t.Fatal("GET shows a secret")
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/identity/applications/"+appID+"/credentials/"+first, ""); code != 204 {
		t.Fatalf("remove credential: %d", code)
	}
	if tokenStatus(t, srv, appID, secret) != 401 {
		t.Fatal("a removed secret still works")
	}
	// A certificate credential, then ClientCertificateCredential-style use.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "billing"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	body, _ := json.Marshal(map[string]string{"certificate": pemBlock("CERTIFICATE", der)})
	code, cred := mgmt(t, srv, admin, "POST", "/identity/applications/"+appID+"/certificates", string(body))
	if code != 201 || cred["type"] != "certificate" || len(cred["thumbprint"].(string)) != 40 {
		t.Fatalf("add certificate: %d %v", code, cred)
	}
	if code, _ := mgmt(t, srv, admin, "POST", "/identity/applications/"+appID+"/certificates", `{"certificate":"not a certificate"}`); code != 400 {
		t.Fatalf("bad certificate: %d", code)
	}
	if code, _ := mgmt(t, srv, admin, "POST", "/identity/applications", `{"displayName":""}`); code != 400 {
		t.Fatalf("empty name: %d", code)
	}
	// Delete: the application can no longer get tokens.
	if code, _ := mgmt(t, srv, admin, "DELETE", "/identity/applications/"+appID, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if tokenStatus(t, srv, appID, s2["secret"].(string)) != 401 {
		t.Fatal("a deleted application still gets tokens")
	}
	if code, _ := mgmt(t, srv, admin, "GET", "/identity/applications/"+appID, ""); code != 404 {
		t.Fatalf("deleted application: %d", code)
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/identity/applications/"+srv.Info.ClientID, ""); code != 400 {
		t.Fatalf("an application deleted itself: %d", code)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRoleAssignmentsAPI(t *testing.T) {
	srv := testenv.StartDev(t)
	admin := newRaw(t, srv).token
	_, app := mgmt(t, srv, admin, "POST", "/identity/applications", `{"displayName":"reader"}`)
	appID, objectID, secret := app["appId"].(string), app["objectId"].(string), app["secret"].(string)
	r := &raw{t: t, srv: srv}
	r.token = r.fetchToken(appID, secret, "https://vault.localhost/.default")
	if rep := r.do("GET", "/secrets?api-version=7.6", "", true); rep.status != 403 {
		t.Fatalf("before the assignment: %d", rep.status)
	}
	code, a := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+objectID+`","roleName":"Key Vault Secrets User","scope":"/vaults/dev"}`)
	if code != 201 || a["roleDefinitionId"] != "4633458b-17de-408a-b874-0445c86b69e6" {
		t.Fatalf("assign: %d %v", code, a)
	}
	if rep := r.do("GET", "/secrets?api-version=7.6", "", true); rep.status != 200 {
		t.Fatalf("after the assignment: %d", rep.status)
	}
	if rep := r.do("PUT", "/secrets/x?api-version=7.6", `{"value":"v"}`, true); rep.status != 403 {
		t.Fatalf("Secrets User may not set: %d", rep.status)
	}
	_, list := mgmt(t, srv, admin, "GET", "/authorization/roleAssignments?principalId="+objectID, "")
	if len(list["value"].([]any)) != 1 {
		t.Fatalf("list: %v", list)
	}
	for _, bad := range []string{
		`{"principalId":"not-a-guid","roleName":"Owner","scope":"/"}`,
		`{"principalId":"` + objectID + `","roleName":"Emperor","scope":"/"}`,
		`{"principalId":"` + objectID + `","roleName":"Owner","scope":"/vaults/dev/../x"}`,
	} {
		if code, _ := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments", bad); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	if code, _ := mgmt(t, srv, r.token, "POST", "/authorization/roleAssignments",
		`{"principalId":"`+objectID+`","roleName":"Owner","scope":"/"}`); code != 403 {
		t.Fatalf("a non-owner granted itself Owner: %d", code)
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/authorization/roleAssignments/"+a["id"].(string), ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if rep := r.do("GET", "/secrets?api-version=7.6", "", true); rep.status != 403 {
		t.Fatalf("after removal: %d", rep.status)
	}
	_, all := mgmt(t, srv, admin, "GET", "/authorization/roleAssignments", "")
	for _, x := range all["value"].([]any) {
		m := x.(map[string]any)
		if m["roleName"] == "Owner" {
			if code, _ := mgmt(t, srv, admin, "DELETE", "/authorization/roleAssignments/"+m["id"].(string), ""); code != 409 {
				t.Fatalf("the last Owner was removed: %d", code)
			}
		}
	}
	_, defs := mgmt(t, srv, admin, "GET", "/authorization/roleDefinitions", "")
	if len(defs["value"].([]any)) < 12 {
		t.Fatalf("role definitions: %v", defs)
	}
}

func TestDeletedApplicationsKeepNoRole(t *testing.T) {
	srv := testenv.StartDev(t)
	admin := newRaw(t, srv).token
	if code, body := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments",
		`{"principalId":"11111111-2222-4333-8444-555555555555","roleName":"Owner","scope":"/"}`); code != 400 || toJSON(body) == "" {
		t.Fatalf("an assignment to nobody: %d", code)
	}
	_, app := mgmt(t, srv, admin, "POST", "/identity/applications", `{"displayName":"second-owner"}`)
	objectID := app["objectId"].(string)
	if code, _ := mgmt(t, srv, admin, "POST", "/authorization/roleAssignments", `{"principalId":"`+objectID+`","roleName":"Owner","scope":"/"}`); code != 201 {
		t.Fatal(code)
	}
	if code, _ := mgmt(t, srv, admin, "DELETE", "/identity/applications/"+app["appId"].(string), ""); code != 204 {
		t.Fatal(code)
	}
	_, list := mgmt(t, srv, admin, "GET", "/authorization/roleAssignments?principalId="+objectID, "")
	if n := len(list["value"].([]any)); n != 0 {
		t.Fatalf("a deleted application kept %d assignments", n)
	}
	// The dev administrator is now the only Owner: its assignment stays.
	_, all := mgmt(t, srv, admin, "GET", "/authorization/roleAssignments", "")
	for _, x := range all["value"].([]any) {
		if m := x.(map[string]any); m["roleName"] == "Owner" {
			if code, _ := mgmt(t, srv, admin, "DELETE", "/authorization/roleAssignments/"+m["id"].(string), ""); code != 409 {
				t.Fatalf("the last Owner was removed: %d", code)
			}
		}
	}
}
