package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// PublicClientID is the client id of keyhaven's command line: the public
// client people sign in through (it has no secret).
const PublicClientID = "5b9a4e7c-3d21-4f6a-9c8e-1a2b3c4d5e6f"

// Authority is a keyhaven token authority: its https origin and tenant
// ("adfs" for the AD FS shape).
type Authority struct {
	Host       string
	TenantID   string
	HTTPClient *http.Client // nil: like the vault client's default
}

func (a Authority) endpoint(name string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(a.Host, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("authority host %q must be an https URL such as https://localhost:8443", a.Host)
	}
	if a.TenantID == "" || strings.ContainsAny(a.TenantID, "/?#") {
		return "", fmt.Errorf("invalid tenant id %q", a.TenantID)
	}
	if strings.EqualFold(a.TenantID, "adfs") {
		return u.String() + "/adfs/oauth2/" + name, nil
	}
	return u.String() + "/" + url.PathEscape(a.TenantID) + "/oauth2/v2.0/" + name, nil
}

func (a Authority) httpClient() *http.Client {
	if a.HTTPClient != nil {
		return a.HTTPClient
	}
	return defaultHTTPClient(nil)
}

// post sends a form to the authority's endpoint name and decodes a 200
// answer into out; other answers become an *AuthenticationError.
func (a Authority) post(ctx context.Context, name string, form url.Values, out any) error {
	endpoint, err := a.endpoint(name)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := a.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("%s request: %w", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s request: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return parseOAuthError(endpoint, resp.StatusCode, body)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

// userTokens is a token answer of a person's grant.
type userTokens struct {
	tokenResponse
	RefreshToken string `json:"refresh_token"`
}

// DeviceCode is a started device-code sign-in: show Message to the person.
type DeviceCode struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// LoginWithDeviceCode signs a person in with the device-code flow: it
// shows the code through prompt, then polls until the person has signed in
// on the verification page (or the code expires, or ctx ends). scope is
// the first resource's scope, e.g. "https://vault.localhost/.default".
func LoginWithDeviceCode(ctx context.Context, a Authority, scope string, prompt func(DeviceCode)) (*UserCredential, error) {
	var dc DeviceCode
	if err := a.post(ctx, "devicecode", url.Values{"client_id": {PublicClientID}, "scope": {scope}}, &dc); err != nil {
		return nil, err
	}
	prompt(dc)
	interval := time.Duration(max(dc.Interval, 1)) * time.Second
	deadline := time.Now().Add(time.Duration(dc.ExpiresIn) * time.Second)
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {PublicClientID}, "device_code": {dc.DeviceCode}}
		cred, err := a.redeem(ctx, form, scope)
		var ae *AuthenticationError
		switch {
		case err == nil:
			return cred, nil
		case errors.As(err, &ae) && ae.ErrorCode == "authorization_pending":
		case errors.As(err, &ae) && ae.ErrorCode == "slow_down":
			interval += 5 * time.Second
		default:
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the device code expired before the sign-in completed")
		}
	}
}

// LoginWithBrowser signs a person in with the authorization-code flow and
// PKCE: it listens on a loopback port, has open show the sign-in page
// (print the URL, or start a browser), and waits for the redirect.
func LoginWithBrowser(ctx context.Context, a Authority, scope string, open func(url string) error) (*UserCredential, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	redirect := "http://" + ln.Addr().String() + "/"
	verifier, state := randomString(48), randomString(24)
	sum := sha256.Sum256([]byte(verifier))
	authorize, err := a.endpoint("authorize")
	if err != nil {
		return nil, err
	}
	q := url.Values{"client_id": {PublicClientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {scope},
		"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	type result struct {
		code string
		err  error
	}
	got := make(chan result, 1)
	var once sync.Once
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		rq := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(rq.Get("state")), []byte(state)) != 1 {
			// Not our sign-in's answer (another local process or a web page
			// probing the port): ignore it, keep waiting for the real one.
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		res := result{code: rq.Get("code")}
		switch {
		case rq.Get("error") != "":
			res.err = fmt.Errorf("sign-in failed: %s: %s", rq.Get("error"), rq.Get("error_description"))
		case res.code == "":
			res.err = errors.New("the sign-in answer has no code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "<!doctype html><title>keyhaven</title><p>Sign-in failed. Return to the command line.</p>")
		} else {
			fmt.Fprint(w, "<!doctype html><title>keyhaven</title><p>You are signed in. You can close this window.</p>")
		}
		once.Do(func() { got <- res })
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	if err := open(authorize + "?" + q.Encode()); err != nil {
		return nil, err
	}
	var res result
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res = <-got:
	}
	if res.err != nil {
		return nil, res.err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {PublicClientID}, "code": {res.code},
		"redirect_uri": {redirect}, "code_verifier": {verifier}}
	return a.redeem(ctx, form, scope)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// redeem runs a grant that answers with an access and a refresh token.
func (a Authority) redeem(ctx context.Context, form url.Values, scope string) (*UserCredential, error) {
	issued := time.Now()
	var tr userTokens
	if err := a.post(ctx, "token", form, &tr); err != nil {
		return nil, err
	}
	tok, err := tokenFrom(tr, issued)
	if err != nil {
		return nil, err
	}
	if tr.RefreshToken == "" {
		return nil, errors.New("the token answer has no refresh token")
	}
	c := &UserCredential{Authority: a, RefreshToken: tr.RefreshToken}
	c.store(scope, tok, issued)
	return c, nil
}

func tokenFrom(tr userTokens, issued time.Time) (AccessToken, error) {
	raw, err := json.Marshal(tr.tokenResponse)
	if err != nil {
		return AccessToken{}, err
	}
	return parseTokenResponse(raw, issued)
}

// UserCredential is a signed-in person: it turns its refresh token into
// access tokens for any resource of the authority, rotating the refresh
// token each time (Save, when set, persists the new one).
type UserCredential struct {
	Authority    Authority
	RefreshToken string
	// Save is called with the credential after its refresh token rotated.
	Save func(*UserCredential) error

	// refreshing, when set, wraps each redemption of the refresh token. The
	// credential LoadLogin returns uses it to hold a lock on its file across
	// processes and to pick up a token another process rotated meanwhile:
	// two commands redeeming the same refresh token would look like a stolen
	// token replayed, and the server would end the whole sign-in.
	refreshing func(redeem func() error) error

	mu    sync.Mutex
	cache map[string]cachedToken
}

// GetToken returns a cached access token for req.Scope or redeems the
// refresh token for one.
func (c *UserCredential) GetToken(ctx context.Context, req TokenRequest) (AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cache[req.Scope]; ok && time.Now().Before(e.refreshAt) {
		return e.tok, nil
	}
	if c.refreshing == nil {
		return c.redeemLocked(ctx, req.Scope)
	}
	var tok AccessToken
	err := c.refreshing(func() error {
		var err error
		tok, err = c.redeemLocked(ctx, req.Scope)
		return err
	})
	return tok, err
}

// redeemLocked turns the refresh token into an access token for scope and
// keeps the rotated refresh token; c.mu is held.
func (c *UserCredential) redeemLocked(ctx context.Context, scope string) (AccessToken, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {PublicClientID}, "refresh_token": {c.RefreshToken}, "scope": {scope}}
	issued := time.Now()
	var tr userTokens
	if err := c.Authority.post(ctx, "token", form, &tr); err != nil {
		var ae *AuthenticationError
		if errors.As(err, &ae) && ae.ErrorCode == "invalid_grant" {
			return AccessToken{}, fmt.Errorf("the sign-in has expired or was revoked; sign in again (keyhaven login): %w", err)
		}
		return AccessToken{}, err
	}
	tok, err := tokenFrom(tr, issued)
	if err != nil {
		return AccessToken{}, err
	}
	if tr.RefreshToken != "" {
		c.RefreshToken = tr.RefreshToken
		if c.Save != nil {
			if err := c.Save(c); err != nil {
				return AccessToken{}, fmt.Errorf("saving the rotated sign-in: %w", err)
			}
		}
	}
	c.storeLocked(scope, tok, issued)
	return tok, nil
}

func (c *UserCredential) store(scope string, tok AccessToken, issued time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storeLocked(scope, tok, issued)
}

func (c *UserCredential) storeLocked(scope string, tok AccessToken, issued time.Time) {
	if c.cache == nil {
		c.cache = map[string]cachedToken{}
	}
	margin := min(5*time.Minute, tok.ExpiresOn.Sub(issued)/2)
	c.cache[scope] = cachedToken{tok: tok, refreshAt: tok.ExpiresOn.Add(-margin)}
}

// forget drops the cached token for scope, after the vault rejected it.
func (c *UserCredential) forget(scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cache, scope)
}

// SignOut revokes the refresh token (and every token rotated from it).
func (c *UserCredential) SignOut(ctx context.Context) error {
	return c.Authority.post(ctx, "revoke", url.Values{"token": {c.RefreshToken}, "client_id": {PublicClientID}}, nil)
}

// loginFile is the on-disk form of a sign-in.
type loginFile struct {
	AuthorityHost string `json:"authorityHost"`
	TenantID      string `json:"tenantId"`
	Username      string `json:"username,omitempty"`
	RefreshToken  string `json:"refreshToken"`
}

// SaveLogin writes a sign-in to path (mode 0600; the directory 0700).
func SaveLogin(path string, c *UserCredential, username string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(loginFile{AuthorityHost: c.Authority.Host, TenantID: c.Authority.TenantID, Username: username, RefreshToken: c.RefreshToken}, "", "  ")
	if err != nil {
		return err
	}
	// A fresh temporary file (never an existing one or a symlink), 0600,
	// renamed over the old sign-in.
	f, err := os.CreateTemp(filepath.Dir(path), ".login-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// LoadLogin reads a sign-in saved by SaveLogin; the credential saves its
// rotated refresh tokens back to path. It returns the user name too.
// Commands running at the same time take turns redeeming it (a lock file
// beside it) and each uses the token the one before it saved.
func LoadLogin(path string, hc *http.Client) (*UserCredential, string, error) {
	f, err := readLogin(path)
	if err != nil {
		return nil, "", err
	}
	c := &UserCredential{Authority: Authority{Host: f.AuthorityHost, TenantID: f.TenantID, HTTPClient: hc}, RefreshToken: f.RefreshToken}
	c.Save = func(c *UserCredential) error { return SaveLogin(path, c, f.Username) }
	c.refreshing = func(redeem func() error) error {
		return WithLoginLock(context.Background(), path, func() error {
			cur, err := readLogin(path)
			switch {
			case err != nil:
				return fmt.Errorf("the sign-in in %s is gone (signed out?): %w", path, err)
			case cur.AuthorityHost != f.AuthorityHost || cur.TenantID != f.TenantID || cur.Username != f.Username:
				// Another sign-in replaced this one: its token is not ours to
				// send, and it must not be sent to our authority.
				return fmt.Errorf("%s now holds another sign-in (%s at %s); run the command again", path, cur.Username, cur.AuthorityHost)
			}
			c.RefreshToken = cur.RefreshToken // rotated by another command meanwhile
			return redeem()
		})
	}
	return c, f.Username, nil
}

// WithLoginLock runs fn while holding the lock of the sign-in file at path
// (a lock file beside it, left in place), so that commands reading,
// rotating, replacing or removing that sign-in take turns. It gives up when
// ctx ends or after a minute.
func WithLoginLock(ctx context.Context, path string, fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return fmt.Errorf("locking the sign-in %s: %w", path, err)
	}
	defer unlock()
	return fn()
}

func readLogin(path string) (loginFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return loginFile{}, err
	}
	var f loginFile
	if err := json.Unmarshal(raw, &f); err != nil || f.RefreshToken == "" {
		return loginFile{}, fmt.Errorf("%s is not a keyhaven sign-in file", path)
	}
	return f, nil
}
