package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/identity"
)

// loginUser creates a person with a TOTP second factor through the
// management API and returns its object id and TOTP secret (base32).
func loginUser(t *testing.T, c *cliEnv, upn, password string) (oid, totpSecret string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"userPrincipalName": upn, "password": password, "enrollTotp": true})
	u := wantMgmt(t, c, "POST", "/identity/users", string(body), http.StatusCreated)
	oid, _ = u["objectId"].(string)
	totpURI, _ := u["totpUri"].(string)
	uri, err := url.Parse(totpURI)
	if err != nil || uri.Scheme != "otpauth" || oid == "" || u["mfaEnrolled"] != true {
		t.Fatalf("created user: %v", u)
	}
	return oid, uri.Query().Get("secret")
}

// wantMgmt calls the management API as the dev administrator (mgmt) and
// requires the status want.
func wantMgmt(t *testing.T, c *cliEnv, method, path, body string, want int) map[string]any {
	t.Helper()
	code, m := mgmt(t, c.srv, c.token, method, path, body)
	if code != want {
		t.Fatalf("%s %s: %d %v", method, path, code, m)
	}
	return m
}

// loginRun is a `keyhaven login` running in the background.
type loginRun struct {
	cmd    *exec.Cmd
	lines  chan string
	stdout bytes.Buffer
	done   chan error
}

// startLogin runs keyhaven login as a person would: no application
// credential in the environment, the sign-in kept in loginFile.
func startLogin(t *testing.T, c *cliEnv, loginFile string, args ...string) *loginRun {
	t.Helper()
	env := maps.Clone(c.env)
	delete(env, "AZURE_CLIENT_ID")
	delete(env, "AZURE_CLIENT_SECRET")
	env["KEYHAVEN_LOGIN_FILE"] = loginFile
	r := &loginRun{cmd: exec.Command(keyhavenBinary(t), append([]string{"login"}, args...)...), lines: make(chan string, 64), done: make(chan error, 1)}
	r.cmd.Env = []string{}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		r.cmd.Env = append(r.cmd.Env, k+"="+env[k])
	}
	r.cmd.Stdout = &r.stdout
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
		r.done <- r.cmd.Wait()
	}()
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	return r
}

// find waits for a stderr line matching re and returns its submatches.
func (r *loginRun) find(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				t.Fatalf("keyhaven login ended without printing %s", re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("keyhaven login did not print %s", re)
		}
	}
}

func (r *loginRun) wait(t *testing.T) string {
	t.Helper()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("keyhaven login: %v\nstdout: %s", err, r.stdout.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("keyhaven login did not finish")
	}
	return r.stdout.String()
}

// postForm posts a sign-in form as a browser would, without following
// redirects.
func postForm(t *testing.T, c *cliEnv, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	hc := *c.srv.Client
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func totpNow(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := identity.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// A person signs in from the command line with a password and a TOTP code,
// by the device-code flow and by the browser flow (PKCE), and reads a
// secret through a group's role; wrong passwords, wrong or replayed codes
// are refused; keyhaven logout revokes the sign-in on the server.
func TestPersonSignsInFromTheCLI(t *testing.T) {
	cliForEachTenant(t, func(t *testing.T, c *cliEnv) {
		value := c.newValue("person")
		c.ok(t, "secret", "set", "-n", "for-people", "--value", value, "-o", "none")
		const password = "correct horse battery staple"
		upn := "alice@" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + ".example"
		oid, secret := loginUser(t, c, upn, password)

		// The role goes to a group; the user gets it through membership.
		groupID, _ := wantMgmt(t, c, "POST", "/identity/groups", `{"displayName":"readers"}`, http.StatusCreated)["objectId"].(string)
		wantMgmt(t, c, "POST", "/identity/groups/"+groupID+"/members", `{"objectId":"`+oid+`"}`, http.StatusOK)
		c.ok(t, "role", "assignment", "create", "--assignee", groupID, "--role", "Key Vault Secrets User", "--scope", "/vaults/dev", "-o", "none")

		file := filepath.Join(c.dir, "login.json")
		asPerson := map[string]string{"AZURE_CLIENT_ID": "", "AZURE_CLIENT_SECRET": "", "KEYHAVEN_LOGIN_FILE": file}

		// Device code: wrong password, then a wrong code, then right.
		run := startLogin(t, c, file, "--use-device-code")
		code := run.find(t, regexp.MustCompile(`open (https://\S+/devicelogin) and enter the code ([A-Z]{4}-[A-Z]{4})`))
		page, userCode := code[1], code[2]
		resp, body := postForm(t, c, page, url.Values{"user_code": {userCode}, "username": {upn}, "password": {"wrong password!!"}, "otp": {totpNow(t, secret, time.Now())}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name, password or one-time code") {
			t.Fatalf("wrong password: %d %s", resp.StatusCode, body)
		}
		resp, body = postForm(t, c, page, url.Values{"user_code": {userCode}, "username": {upn}, "password": {password}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "one-time code") {
			t.Fatalf("missing code: %d %s", resp.StatusCode, body)
		}
		otp := totpNow(t, secret, time.Now())
		resp, body = postForm(t, c, page, url.Values{"user_code": {strings.ToLower(userCode)}, "username": {upn}, "password": {password}, "otp": {otp}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are signed in as "+upn) {
			t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatalf("sign-in page headers: %v", resp.Header)
		}
		if out := run.wait(t); !strings.Contains(out, "Signed in as "+upn) || !strings.Contains(out, "mfa") {
			t.Fatalf("login output: %s", out)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("sign-in file: %v %v", fi, err)
		}
		got := c.call(t, cliCall{args: []string{"secret", "show", "-n", "for-people", "--query", "value", "-o", "tsv"}, env: asPerson})
		if strings.TrimSpace(got.stdout) != value {
			t.Fatalf("the person read: %s", got)
		}
		// The user code works once.
		resp, _ = postForm(t, c, page, url.Values{"user_code": {userCode}, "username": {upn}, "password": {password}, "otp": {otp}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("reused user code: %d", resp.StatusCode)
		}
		saved, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}

		// Browser flow (authorization code + PKCE), same TOTP code replayed
		// first: refused, then the next step's code.
		browser := startLogin(t, c, file, "--no-browser")
		authURL := browser.find(t, regexp.MustCompile(`^(https://\S+/oauth2/(?:v2\.0/)?authorize\?\S+)$`))[1]
		pageResp, err := c.srv.Client.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		pageBody, _ := io.ReadAll(pageResp.Body)
		pageResp.Body.Close()
		if pageResp.StatusCode != http.StatusOK || !bytes.Contains(pageBody, []byte(`name="code_challenge"`)) {
			t.Fatalf("authorize page: %d %s", pageResp.StatusCode, pageBody)
		}
		u, _ := url.Parse(authURL)
		form := u.Query()
		form.Set("username", upn)
		form.Set("password", password)
		form.Set("otp", otp)
		target := u.Scheme + "://" + u.Host + u.Path
		if resp, body := postForm(t, c, target, form); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("replayed one-time code: %d %s", resp.StatusCode, body)
		}
		form.Set("otp", totpNow(t, secret, time.Now().Add(30*time.Second)))
		resp, body = postForm(t, c, target, form)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != form.Get("state") {
			t.Fatalf("sign-in redirect: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		back, err := http.Get(loc.String()) // the browser follows it to the CLI's loopback port
		if err != nil {
			t.Fatal(err)
		}
		back.Body.Close()
		if out := browser.wait(t); !strings.Contains(out, "Signed in as "+upn) {
			t.Fatalf("browser login output: %s", out)
		}
		got = c.call(t, cliCall{args: []string{"secret", "show", "-n", "for-people", "--query", "value", "-o", "tsv"}, env: asPerson})
		if strings.TrimSpace(got.stdout) != value {
			t.Fatalf("the person read after the browser sign-in: %s", got)
		}

		// logout revokes the sign-in: the saved refresh token from before no
		// longer works either (one family per sign-in; both are revoked by
		// their own logout or by revoke-sessions).
		if out := c.call(t, cliCall{args: []string{"logout"}, env: asPerson}); out.code != 0 || !strings.Contains(out.stdout, "Signed out "+upn) {
			t.Fatalf("logout: %s", out)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Fatalf("the sign-in file is still there: %v", err)
		}
		wantMgmt(t, c, "POST", "/identity/users/"+oid+"/revokeSessions", "", http.StatusNoContent)
		if err := os.WriteFile(file, saved, 0o600); err != nil {
			t.Fatal(err)
		}
		got = c.call(t, cliCall{args: []string{"secret", "show", "-n", "for-people"}, env: asPerson})
		if got.code == 0 || !strings.Contains(got.stderr, "keyhaven login") {
			t.Fatalf("a revoked sign-in still works: %s", got)
		}
	})
}
