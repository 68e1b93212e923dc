package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// raw is a minimal HTTP helper for wire-level checks.
type raw struct {
	t     testing.TB
	srv   *testenv.Server
	token string
}

func newRaw(t testing.TB, srv *testenv.Server) *raw {
	r := &raw{t: t, srv: srv}
	r.token = r.fetchToken(srv.Info.ClientID, srv.Info.ClientSecret, "https://vault.localhost/.default")
	return r
}

func (r *raw) fetchToken(clientID, secret, scope string) string {
	r.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope}}
	resp, err := r.srv.Client.PostForm(r.srv.Info.AuthorityHost+"/"+r.srv.Info.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&tok) != nil {
		r.t.Fatalf("token endpoint: %s", resp.Status)
	}
	return tok.AccessToken
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	text   string
}

func (r *raw) do(method, path, body string, withToken bool) reply {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, r.srv.Info.VaultURL+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if withToken {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.srv.Client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, header: resp.Header, text: string(b)}
	_ = json.Unmarshal(b, &out.body)
	return out
}

func (rep reply) code() string {
	e, _ := rep.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (rep reply) inner() string {
	e, _ := rep.body["error"].(map[string]any)
	in, _ := e["innererror"].(map[string]any)
	c, _ := in["code"].(string)
	return c
}

func TestChallengeBeforeBody(t *testing.T) {
	srv := testenv.StartDev(t)
	r := newRaw(t, srv)
	// The SDKs' first request has no token and no body: it must get the
	// challenge, not a 400 for the missing body.
	rep := r.do("PUT", "/secrets/x?api-version=7.6", "", false)
	if rep.status != 401 || rep.code() != "Unauthorized" {
		t.Fatalf("probe: %d %s", rep.status, rep.text)
	}
	want := `Bearer authorization="https://vault.localhost:` + srv.App.Port() + "/" +
		`", resource="https://vault.localhost:` + srv.App.Port() + `"`
	if got := rep.header.Get("WWW-Authenticate"); got != want {
		t.Fatalf("challenge:\n got %s\nwant %s", got, want)
	}
	// A bad token gets the challenge too.
	r.token = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
	if rep := r.do("GET", "/secrets?api-version=7.6", "", true); rep.status != 401 || rep.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("bad token: %d %s", rep.status, rep.text)
	}
}

func TestWireShapes(t *testing.T) {
	srv := testenv.StartDev(t)
	r := newRaw(t, srv)
	rep := r.do("PUT", "/secrets/wire?api-version=7.6", `{"value":"v1","attributes":{"exp":4102444800.5}}`, true)
	if rep.status != 200 {
		t.Fatalf("set: %d %s", rep.status, rep.text)
	}
	id := rep.body["id"].(string)
	version := id[strings.LastIndex(id, "/")+1:]
	if !strings.HasPrefix(id, srv.Info.VaultURL+"/secrets/wire/") || len(version) != 32 {
		t.Fatalf("id %s", id)
	}
	if ct := rep.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	if rep.header.Get("x-ms-request-id") == "" {
		t.Fatal("no x-ms-request-id")
	}
	attrs := rep.body["attributes"].(map[string]any)
	if attrs["exp"].(float64) != 4102444800 {
		t.Fatalf("exp %v", attrs["exp"])
	}
	cases := []struct {
		name, method, path string
		status             int
	}{
		{name: "trailing slash means latest", method: "GET", path: "/secrets/wire/?api-version=7.6", status: 200},
		{name: "double slash", method: "GET", path: "//secrets//wire/?api-version=7.6", status: 200},
		{name: "case-insensitive collection", method: "GET", path: "/SECRETS/wire?api-version=7.6", status: 200},
		{name: "versioned", method: "GET", path: "/secrets/wire/" + version + "?api-version=7.6", status: 200},
		{name: "encoded query key", method: "GET", path: "/secrets/wire?api%2Dversion=7.6", status: 200},
		{name: "dated api version", method: "GET", path: "/secrets/wire?api-version=2026-04-01", status: 200},
		{name: "no api version", method: "GET", path: "/secrets/wire", status: 400},
		{name: "unknown version", method: "GET", path: "/secrets/wire/0123456789abcdef0123456789abcdef?api-version=7.6", status: 404},
		{name: "malformed version", method: "GET", path: "/secrets/wire/nothex?api-version=7.6", status: 404},
		{name: "unknown route", method: "GET", path: "/nothing/here?api-version=7.6", status: 404},
		{name: "method not allowed", method: "POST", path: "/secrets?api-version=7.6", status: 405},
		{name: "maxresults too big", method: "GET", path: "/secrets?api-version=7.6&maxresults=26", status: 400},
		{name: "maxresults zero", method: "GET", path: "/secrets?api-version=7.6&maxresults=0", status: 400},
	}
	for _, c := range cases {
		rep := r.do(c.method, c.path, "", true)
		if rep.status != c.status {
			t.Errorf("%s: %s %s → %d, want %d: %s", c.name, c.method, c.path, rep.status, c.status, rep.text)
		}
		if rep.status >= 400 && rep.code() == "" {
			t.Errorf("%s: error without Azure's envelope: %s", c.name, rep.text)
		}
	}
}

func TestNextLinkCarriesAPIVersion(t *testing.T) {
	srv := testenv.StartDev(t)
	r := newRaw(t, srv)
	for _, n := range []string{"a", "b", "c"} {
		if rep := r.do("PUT", "/secrets/"+n+"?api-version=7.6", `{"value":"x"}`, true); rep.status != 200 {
			t.Fatal(rep.text)
		}
	}
	rep := r.do("GET", "/secrets?api-version=7.5&maxresults=2", "", true)
	link, _ := rep.body["nextLink"].(string)
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("api-version") != "7.5" || u.Query().Get("maxresults") != "2" || u.Host != strings.TrimPrefix(srv.Info.VaultURL, "https://") {
		t.Fatalf("nextLink %q", link)
	}
	if n := len(rep.body["value"].([]any)); n != 2 {
		t.Fatalf("page size %d", n)
	}
	next := r.do("GET", strings.TrimPrefix(link, srv.Info.VaultURL), "", true)
	if n := len(next.body["value"].([]any)); n != 1 || next.body["nextLink"] != nil {
		t.Fatalf("second page: %s", next.text)
	}
}

// Every bad input gets Azure's error and changes nothing.
func TestBadInputChangesNothing(t *testing.T) {
	srv := testenv.StartDev(t)
	r := newRaw(t, srv)
	if rep := r.do("PUT", "/secrets/keep?api-version=7.6", `{"value":"original","tags":{"a":"b"}}`, true); rep.status != 200 {
		t.Fatal(rep.text)
	}
	big := strings.Repeat("x", 25*1024+1)
	manyTags := map[string]string{}
	for i := 0; i < 16; i++ {
		manyTags[string(rune('a'+i))] = "v"
	}
	tags, _ := json.Marshal(map[string]any{"value": "x", "tags": manyTags})
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{name: "malformed json", method: "PUT", path: "/secrets/keep", body: `{"value":`, status: 400, code: "BadParameter"},
		{name: "value wrong type", method: "PUT", path: "/secrets/keep", body: `{"value":5}`, status: 400, code: "BadParameter"},
		{name: "enabled wrong type", method: "PUT", path: "/secrets/keep", body: `{"value":"x","attributes":{"enabled":"yes"}}`, status: 400, code: "BadParameter"},
		{name: "exp wrong type", method: "PUT", path: "/secrets/keep", body: `{"value":"x","attributes":{"exp":"soon"}}`, status: 400, code: "BadParameter"},
		{name: "missing value", method: "PUT", path: "/secrets/keep", body: `{"contentType":"x"}`, status: 400, code: "BadParameter"},
		{name: "body is an array", method: "PUT", path: "/secrets/keep", body: `[1]`, status: 400, code: "BadParameter"},
		{name: "value too large", method: "PUT", path: "/secrets/keep", body: `{"value":"` + big + `"}`, status: 400, code: "BadParameter"},
		{name: "body too large", method: "PUT", path: "/secrets/keep", body: `{"value":"` + strings.Repeat("x", 600<<10) + `"}`, status: 413, code: "RequestEntityTooLarge"},
		{name: "content type too long", method: "PUT", path: "/secrets/keep", body: `{"value":"x","contentType":"` + strings.Repeat("c", 256) + `"}`, status: 400, code: "BadParameter"},
		{name: "too many tags", method: "PUT", path: "/secrets/keep", body: string(tags), status: 400, code: "BadParameter"},
		{name: "tag too long", method: "PUT", path: "/secrets/keep", body: `{"value":"x","tags":{"k":"` + strings.Repeat("t", 513) + `"}}`, status: 400, code: "BadParameter"},
		{name: "exp before nbf", method: "PUT", path: "/secrets/keep", body: `{"value":"x","attributes":{"nbf":2000,"exp":1000}}`, status: 400, code: "BadParameter"},
		{name: "bad name", method: "PUT", path: "/secrets/bad_name", body: `{"value":"x"}`, status: 400, code: "BadParameter"},
		{name: "name too long", method: "PUT", path: "/secrets/" + strings.Repeat("n", 128), body: `{"value":"x"}`, status: 400, code: "BadParameter"},
		{name: "update wrong type", method: "PATCH", path: "/secrets/keep", body: `{"tags":"x"}`, status: 400, code: "BadParameter"},
		{name: "restore garbage", method: "POST", path: "/secrets/restore", body: `{"value":"AAAA"}`, status: 400, code: "BadParameter"},
		{name: "restore not base64", method: "POST", path: "/secrets/restore", body: `{"value":"!!"}`, status: 400, code: "BadParameter"},
		{name: "purge not deleted", method: "DELETE", path: "/deletedsecrets/keep", status: 404, code: "SecretNotFound"},
		{name: "recover not deleted", method: "POST", path: "/deletedsecrets/keep/recover", status: 404, code: "SecretNotFound"},
	}
	for _, c := range cases {
		rep := r.do(c.method, c.path+"?api-version=7.6", c.body, true)
		if rep.status != c.status || rep.code() != c.code {
			t.Errorf("%s: %d %s, want %d %s: %.200s", c.name, rep.status, rep.code(), c.status, c.code, rep.text)
		}
		if strings.Contains(rep.text, "original") || (len(c.body) > 0 && len(c.body) < 200 && strings.Contains(rep.text, c.body)) {
			t.Errorf("%s: the error echoes request data: %s", c.name, rep.text)
		}
	}
	rep := r.do("GET", "/secrets/keep/versions?api-version=7.6", "", true)
	if n := len(rep.body["value"].([]any)); n != 1 {
		t.Fatalf("bad requests created versions: %d", n)
	}
	rep = r.do("GET", "/secrets/keep?api-version=7.6", "", true)
	if rep.body["value"] != "original" || rep.body["tags"].(map[string]any)["a"] != "b" {
		t.Fatalf("secret changed: %s", rep.text)
	}
	if rep := r.do("GET", "/secrets?api-version=7.6", "", true); len(rep.body["value"].([]any)) != 1 {
		t.Fatalf("bad requests created secrets: %s", rep.text)
	}
}

func TestTokenChecks(t *testing.T) {
	srv := testenv.StartDev(t)
	r := newRaw(t, srv)
	post := func(path string, form url.Values) (int, map[string]any) {
		resp, err := srv.Client.Post(srv.Info.AuthorityHost+path, "application/x-www-form-urlencoded", bytes.NewBufferString(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Info.ClientID}, "client_secret": {srv.Info.ClientSecret}, "scope": {"https://vault.localhost/.default"}}
	v2 := "/" + srv.Info.TenantID + "/oauth2/v2.0/token"
	if st, _ := post(v2, good); st != 200 {
		t.Fatalf("good request: %d", st)
	}
	wrongSecret := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Info.ClientID}, "client_secret": {"nope"}, "scope": {"https://vault.localhost/.default"}}
	if st, m := post(v2, wrongSecret); st != 401 || m["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v", st, m)
	}
	wrongScope := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Info.ClientID}, "client_secret": {srv.Info.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}}
	if st, m := post(v2, wrongScope); st != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("wrong scope: %d %v", st, m)
	}
	adfs := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.Info.ClientID}, "client_secret": {srv.Info.ClientSecret}, "resource": {"https://vault.localhost"}}
	st, m := post("/adfs/oauth2/token", adfs)
	if st != 200 {
		t.Fatalf("adfs: %d %v", st, m)
	}
	r.token = m["access_token"].(string)
	if rep := r.do("GET", "/secrets?api-version=7.6", "", true); rep.status != 200 {
		t.Fatalf("adfs token refused: %s", rep.text)
	}
	// A token with a tampered payload fails the signature check.
	parts := strings.Split(r.token, ".")
	r.token = parts[0] + "." + parts[1] + "x." + parts[2]
	if rep := r.do("GET", "/secrets?api-version=7.6", "", true); rep.status != 401 {
		t.Fatalf("tampered token: %d", rep.status)
	}
}

func TestCallerWithoutRoleIsDenied(t *testing.T) {
	srv := testenv.StartDev(t)
	clientID, secret := srv.CreateApp(t, "no-roles")
	r := &raw{t: t, srv: srv}
	r.token = r.fetchToken(clientID, secret, "https://vault.localhost/.default")
	rep := r.do("GET", "/secrets?api-version=7.6", "", true)
	if rep.status != 403 || rep.code() != "Forbidden" || rep.inner() != "ForbiddenByRbac" {
		t.Fatalf("no role: %d %s", rep.status, rep.text)
	}
	if rep := r.do("PUT", "/secrets/x?api-version=7.6", `{"value":"x"}`, true); rep.status != 403 {
		t.Fatalf("no role set: %d", rep.status)
	}
}
