package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A production server serves /metrics only to the scrape token's holder and
// to callers whose role allows Microsoft.Insights/metrics/read on the
// server; anonymous and wrong-token requests get Azure's 401, a principal
// without such a role 403.
func TestMetricsNeedAuthorization(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	const scrape = "prometheus-scrape-token-0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(tokenFile, []byte(scrape+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase, "KEYHAVEN_METRICS_TOKEN_FILE="+tokenFile)
	p.login()
	at := p // the server process call talks to
	authority := "https://localhost:" + p.port()
	call := func(method, path, token, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://localhost:"+at.port()+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := at.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw), resp.Header
	}
	for _, tc := range []struct{ name, token string }{{"anonymous", ""}, {"wrong token", scrape + "x"}, {"scrape token prefix", scrape[:32]}} {
		code, body, h := call("GET", "/metrics", tc.token, "")
		if code != http.StatusUnauthorized || !strings.Contains(body, `"code":"Unauthorized"`) || h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
		if strings.Contains(body, "keyhaven_requests_total") {
			t.Errorf("%s saw the metrics", tc.name)
		}
	}
	if code, body, _ := call("GET", "/metrics", scrape, ""); code != http.StatusOK || !strings.Contains(body, "keyhaven_sealed 0") {
		t.Fatalf("scrape token: %d %.200s", code, body)
	}
	if code, body, _ := call("GET", "/metrics", p.token, ""); code != http.StatusOK || !strings.Contains(body, `keyhaven_requests_total{operation="Metrics"`) {
		t.Fatalf("the administrator: %d %.200s", code, body)
	}

	// An application without a role is refused; as Reader it may read.
	code, body, _ := call("POST", "/identity/applications", p.token, `{"displayName":"scraper"}`)
	var app struct{ AppID, ObjectID, Secret string }
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &app) != nil {
		t.Fatalf("application: %d %s", code, body)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.AppID}, "client_secret": {app.Secret},
		"scope": {"https://vault.localhost/.default"}}
	resp, err := p.client.PostForm(authority+"/"+p.creds.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if code, body, _ := call("GET", "/metrics", tok.AccessToken, ""); code != http.StatusForbidden || !strings.Contains(body, "Microsoft.Insights/metrics/read") {
		t.Fatalf("an application without a role: %d %s", code, body)
	}
	if code, body, _ := call("POST", "/authorization/roleAssignments", p.token,
		`{"principalId":"`+app.ObjectID+`","roleName":"Reader","scope":"/"}`); code != http.StatusCreated {
		t.Fatalf("assign Reader: %d %s", code, body)
	}
	if code, body, _ := call("GET", "/metrics", tok.AccessToken, ""); code != http.StatusOK {
		t.Fatalf("a Reader: %d %s", code, body)
	}

	// Sealed (restarted without the passphrase): the scrape token still
	// reads the seal state; an access token cannot be checked.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	at = startProcess(t, dir, "KEYHAVEN_METRICS_TOKEN_FILE="+tokenFile)
	if code, body, _ := call("GET", "/metrics", scrape, ""); code != http.StatusOK || !strings.Contains(body, "keyhaven_sealed 1") {
		t.Fatalf("scrape token while sealed: %d %.200s", code, body)
	}
	if code, body, _ := call("GET", "/metrics", p.token, ""); code != http.StatusServiceUnavailable {
		t.Fatalf("access token while sealed: %d %s", code, body)
	}
	if code, _, _ := call("GET", "/metrics", "", ""); code == http.StatusOK {
		t.Fatal("anonymous while sealed")
	}
	// metrics.anonymous opens it.
	_ = at.cmd.Process.Signal(syscall.SIGTERM)
	_ = at.cmd.Wait()
	at = startProcess(t, dir, "KEYHAVEN_METRICS_ANONYMOUS=true")
	if code, body, _ := call("GET", "/metrics", "", ""); code != http.StatusOK || !strings.Contains(body, "keyhaven_sealed 1") {
		t.Fatalf("metrics.anonymous: %d %.200s", code, body)
	}
}
