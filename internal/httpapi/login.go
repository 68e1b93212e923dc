package httpapi

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// loginRoutes are how people sign in: the device-code flow (RFC 8628) and
// the authorization-code flow with PKCE (RFC 7636) for the public client of
// keyhaven's command line, the sign-in pages both show, and refresh-token
// revocation (RFC 7009). The token endpoint's grants are in token().
func loginRoutes() []route {
	const form = 16 << 10
	return []route{
		{method: "POST", pattern: "/{tenant}/oauth2/v2.0/devicecode", op: "DeviceCode", body: form, handle: (*Server).deviceCodeTenant},
		{method: "POST", pattern: "/{tenant}/oauth2/devicecode", op: "DeviceCode", body: form, handle: (*Server).deviceCodeTenant},
		{method: "POST", pattern: "/adfs/oauth2/devicecode", op: "DeviceCode", body: form, handle: (*Server).deviceCode},
		{method: "GET", pattern: "/devicelogin", op: "DeviceLoginPage", handle: (*Server).deviceLoginPage},
		{method: "POST", pattern: "/devicelogin", op: "DeviceLogin", body: form, handle: (*Server).deviceLogin},
		{method: "GET", pattern: "/{tenant}/oauth2/v2.0/authorize", op: "AuthorizePage", handle: (*Server).authorizePageTenant},
		{method: "POST", pattern: "/{tenant}/oauth2/v2.0/authorize", op: "Authorize", body: form, handle: (*Server).authorizeTenant},
		{method: "GET", pattern: "/adfs/oauth2/authorize", op: "AuthorizePage", handle: (*Server).authorizePage},
		{method: "POST", pattern: "/adfs/oauth2/authorize", op: "Authorize", body: form, handle: (*Server).authorizeSignIn},
		{method: "GET", pattern: "/{tenant}/oauth2/authorize", op: "AuthorizePage", handle: (*Server).authorizePageTenant},
		{method: "POST", pattern: "/{tenant}/oauth2/authorize", op: "Authorize", body: form, handle: (*Server).authorizeTenant},
		{method: "POST", pattern: "/{tenant}/oauth2/v2.0/revoke", op: "RevokeToken", body: form, handle: (*Server).revokeTenant},
		{method: "POST", pattern: "/{tenant}/oauth2/revoke", op: "RevokeToken", body: form, handle: (*Server).revokeTenant},
		{method: "POST", pattern: "/adfs/oauth2/revoke", op: "RevokeToken", body: form, handle: (*Server).revoke},
	}
}

// form parses an application/x-www-form-urlencoded body; when it cannot,
// it answers the OAuth error itself and reports false.
func (c *call) form() (url.Values, bool) {
	f, err := url.ParseQuery(string(c.body))
	if err != nil {
		_ = oauthError(c, http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded.")
		return nil, false
	}
	return f, true
}

func (s *Server) withTenant(c *call, next func(*call) error) error {
	if _, err := s.checkTenant(c); err != nil {
		return oauthError(c, http.StatusBadRequest, "invalid_request", err.(*kverr.Error).Message)
	}
	return next(c)
}

func (s *Server) deviceCodeTenant(c *call) error { return s.withTenant(c, s.deviceCode) }

// deviceCodesFree is how many device sign-ins one address may start within
// the guard's window before it has to wait.
const deviceCodesFree = 30

type deviceCodeReply struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

func (s *Server) deviceCode(c *call) error {
	if s.Seal.Sealed() {
		return errSealed
	}
	form, ok := c.form()
	if !ok {
		return nil
	}
	resource, _ := requestedResource(form)
	if !s.isAudience(resource) {
		return oauthError(c, http.StatusBadRequest, "invalid_scope", "The resource '"+resource+"' is not served by this authority; ask for https://"+s.DNSSuffix+"/.default.")
	}
	// Starting a device sign-in needs no credential and writes durable
	// state: each address may start deviceCodesFree per guard window, then
	// waits.
	key := "devicecode:" + s.callerIP(c)
	if wait := s.guard.blocked(key); wait > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return oauthError(c, http.StatusTooManyRequests, "slow_down", "Too many device sign-ins started from this address; retry later.")
	}
	s.guard.fail(key, deviceCodesFree, guardWindow)
	d, err := s.Identity.StartDeviceAuth(c.r.Context(), form.Get("client_id"), resource)
	if errors.Is(err, identity.ErrInvalidClient) {
		return oauthError(c, http.StatusBadRequest, "unauthorized_client", "Only keyhaven's public client ("+identity.PublicClientID+") can use the device-code flow.")
	}
	if err != nil {
		return err
	}
	uri := c.base() + "/devicelogin"
	return c.reply(http.StatusOK, deviceCodeReply{DeviceCode: d.DeviceCode, UserCode: d.UserCode, VerificationURI: uri,
		ExpiresIn: d.ExpiresIn, Interval: d.Interval,
		Message: "To sign in, open " + uri + " and enter the code " + d.UserCode + " to authenticate."})
}

// Sign-in pages.

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · keyhaven</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}
button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem}.err{color:#b00020}.ok{color:#116329}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Done}}<p class="ok">{{.Done}}</p>{{else}}
<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
{{if .AskCode}}<label for="user_code">Code shown by the application</label>
<input id="user_code" name="user_code" value="{{.UserCode}}" autocomplete="off" required>{{end}}
<label for="username">User name</label><input id="username" name="username" type="email" value="{{.Username}}" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="otp">One-time code (if enrolled)</label><input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}">
<button type="submit">Sign in</button></form>{{end}}
</body></html>`))

type page struct {
	Title, Error, Done, Action, UserCode, Username string
	AskCode                                        bool
	Hidden                                         map[string]string
}

// html writes a sign-in page; it may not be framed and loads nothing.
func (c *call) html(status int, p page) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		return kverr.Internalf(err)
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:* http://localhost:* http://[::1]:*; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(buf.Bytes())
	return nil
}

func (s *Server) deviceLoginPage(c *call) error {
	return c.html(http.StatusOK, page{Title: "Sign in to keyhaven", Action: "/devicelogin", AskCode: true})
}

// signIn is a person's sign-in attempt as the guard sees it: the person at
// this address, the address, and the person's account from anywhere.
type signIn struct {
	person, addr string
	keys         []string
}

func (s *Server) signInAttempt(c *call, upn string) signIn {
	person := strings.ToLower(truncate(upn, 128))
	ip := s.callerIP(c) // behind a trusted proxy, the client it names
	return signIn{person: person, addr: ip, keys: []string{"user:" + person + "@" + ip, "ip:" + ip, "account:" + person}}
}

// signInBlocked returns how long the attempt must wait: the longest of its
// keys' delays, leaving out the account's at an address the person signed
// in from before.
func (s *Server) signInBlocked(a signIn) time.Duration {
	keys := a.keys
	if s.guard.knows(a.person, a.addr) {
		keys = keys[:2]
	}
	return s.blocked(keys)
}

// signedIn clears the person's key at this address and makes the address
// familiar.
func (s *Server) signedIn(a signIn) {
	s.guard.succeed(a.keys[0])
	s.guard.remember(a.person, a.addr)
}

// signInError turns a failed sign-in into the message the page shows,
// counting it against the throttle.
func (s *Server) signInError(c *call, keys []string, err error) (string, int) {
	switch {
	case errors.Is(err, identity.ErrOTPRequired):
		return "This account needs the one-time code from its authenticator app.", http.StatusUnauthorized
	case errors.Is(err, identity.ErrInvalidLogin):
		s.failed(c, keys, "sign-in")
		return "Wrong user name, password or one-time code.", http.StatusUnauthorized
	case errors.Is(err, identity.ErrExpiredToken):
		// No password was checked: a guessed user code counts against the
		// address, not against the account it named.
		s.failed(c, keys[:2], "device code")
		return "This code is unknown, already used or expired. Start the sign-in again.", http.StatusBadRequest
	case errors.Is(err, identity.ErrInvalidClient):
		return "The sign-in request is not valid.", http.StatusBadRequest
	}
	return "", 0
}

func (s *Server) deviceLogin(c *call) error {
	if s.Seal.Sealed() {
		return errSealed
	}
	form, _ := url.ParseQuery(string(c.body))
	p := page{Title: "Sign in to keyhaven", Action: "/devicelogin", AskCode: true, UserCode: form.Get("user_code"), Username: form.Get("username")}
	attempt := s.signInAttempt(c, form.Get("username"))
	if wait := s.signInBlocked(attempt); wait > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		p.Error = "Too many failed sign-ins; wait a moment and try again."
		return c.html(http.StatusTooManyRequests, p)
	}
	u, err := s.Identity.ApproveDevice(c.r.Context(), form.Get("user_code"), form.Get("username"), form.Get("password"), form.Get("otp"))
	if msg, status := s.signInError(c, attempt.keys, err); status != 0 {
		p.Error = msg
		return c.html(status, p)
	}
	if err != nil {
		return err
	}
	s.signedIn(attempt)
	return c.html(http.StatusOK, page{Title: "Signed in", Done: "You are signed in as " + u.UPN + ". You can close this window and return to the application."})
}

// authorizeParams are the authorization request's parameters, checked.
func (s *Server) authorizeParams(c *call, q url.Values) (map[string]string, error) {
	p := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "state", "code_challenge", "code_challenge_method", "scope", "resource"} {
		if v := q.Get(k); v != "" {
			p[k] = v
		}
	}
	resource, _ := requestedResource(q)
	switch {
	case !strings.EqualFold(p["client_id"], identity.PublicClientID):
		return nil, kverr.BadParameterf("client_id must be keyhaven's public client (%s).", identity.PublicClientID)
	case !identity.ValidLoopbackRedirect(p["redirect_uri"]):
		return nil, kverr.BadParameterf("redirect_uri must be http on a loopback address with a port (RFC 8252).")
	case p["response_type"] != "code":
		return nil, kverr.BadParameterf("response_type must be code.")
	case p["code_challenge_method"] != "S256" || len(p["code_challenge"]) != 43:
		return nil, kverr.BadParameterf("PKCE is required: code_challenge (S256, 43 characters) and code_challenge_method=S256.")
	case !s.isAudience(resource):
		return nil, kverr.BadParameterf("The resource '%s' is not served by this authority; ask for https://%s/.default.", resource, s.DNSSuffix)
	}
	return p, nil
}

func (s *Server) authorizePageTenant(c *call) error { return s.withTenant(c, s.authorizePage) }
func (s *Server) authorizeTenant(c *call) error     { return s.withTenant(c, s.authorizeSignIn) }

func (s *Server) authorizePage(c *call) error {
	hidden, err := s.authorizeParams(c, c.values())
	if err != nil {
		return c.html(http.StatusBadRequest, page{Title: "Sign-in request refused", Error: err.(*kverr.Error).Message, Done: " "})
	}
	return c.html(http.StatusOK, page{Title: "Sign in to keyhaven", Action: cleanAction(c.r.URL.Path), Hidden: hidden})
}

func (s *Server) authorizeSignIn(c *call) error {
	if s.Seal.Sealed() {
		return errSealed
	}
	form, _ := url.ParseQuery(string(c.body))
	hidden, err := s.authorizeParams(c, form)
	if err != nil {
		return c.html(http.StatusBadRequest, page{Title: "Sign-in request refused", Error: err.(*kverr.Error).Message, Done: " "})
	}
	p := page{Title: "Sign in to keyhaven", Action: cleanAction(c.r.URL.Path), Hidden: hidden, Username: form.Get("username")}
	attempt := s.signInAttempt(c, form.Get("username"))
	if wait := s.signInBlocked(attempt); wait > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		p.Error = "Too many failed sign-ins; wait a moment and try again."
		return c.html(http.StatusTooManyRequests, p)
	}
	resource, _ := requestedResource(form)
	code, err := s.Identity.CreateAuthCode(c.r.Context(), hidden["client_id"], hidden["redirect_uri"], hidden["code_challenge"],
		resource, form.Get("username"), form.Get("password"), form.Get("otp"))
	if msg, status := s.signInError(c, attempt.keys, err); status != 0 {
		p.Error = msg
		return c.html(status, p)
	}
	if err != nil {
		return err
	}
	s.signedIn(attempt)
	target, _ := url.Parse(hidden["redirect_uri"])
	q := target.Query()
	q.Set("code", code)
	if st := hidden["state"]; st != "" {
		q.Set("state", st)
	}
	target.RawQuery = q.Encode()
	c.w.Header().Set("Location", target.String())
	c.w.WriteHeader(http.StatusFound)
	return nil
}

func (s *Server) revokeTenant(c *call) error { return s.withTenant(c, s.revoke) }

// revoke revokes a refresh token and its family (RFC 7009: unknown tokens
// are not an error).
func (s *Server) revoke(c *call) error {
	if s.Seal.Sealed() {
		return errSealed
	}
	form, ok := c.form()
	if !ok {
		return nil
	}
	if tok := form.Get("token"); tok != "" {
		if err := s.Identity.RevokeRefreshToken(c.r.Context(), tok); err != nil {
			return err
		}
	}
	return c.reply(http.StatusOK, map[string]string{})
}

// userGrant runs the grants of people: device_code, authorization_code
// and refresh_token, all through the public client (no client secret).
func (s *Server) userGrant(c *call, form url.Values, grant, issuer, version string) error {
	ctx := c.r.Context()
	clientID := form.Get("client_id")
	var sess *identity.Session
	var user *identity.User
	refresh := ""
	var err error
	switch grant {
	case "urn:ietf:params:oauth:grant-type:device_code":
		sess, err = s.Identity.PollDevice(ctx, form.Get("device_code"), clientID)
	case "authorization_code":
		sess, err = s.Identity.RedeemAuthCode(ctx, form.Get("code"), clientID, form.Get("redirect_uri"), form.Get("code_verifier"))
	case "refresh_token":
		sess, user, refresh, err = s.Identity.Refresh(ctx, form.Get("refresh_token"), clientID)
	}
	switch {
	case errors.Is(err, identity.ErrAuthorizationPending):
		return oauthError(c, http.StatusBadRequest, "authorization_pending", "The user has not yet signed in with the code.")
	case errors.Is(err, identity.ErrSlowDown):
		return oauthError(c, http.StatusBadRequest, "slow_down", "Poll less often.")
	case errors.Is(err, identity.ErrExpiredToken):
		return oauthError(c, http.StatusBadRequest, "expired_token", "The device code is unknown, used or expired.")
	case errors.Is(err, identity.ErrInvalidClient):
		return oauthError(c, http.StatusBadRequest, "unauthorized_client", "This grant is only for keyhaven's public client ("+identity.PublicClientID+").")
	case errors.Is(err, identity.ErrInvalidGrant):
		return oauthError(c, http.StatusBadRequest, "invalid_grant", "The code or refresh token is invalid, expired, revoked or was issued to another client or redirect URI.")
	case err != nil:
		return err
	}
	resource := sess.Resource
	if r, _ := requestedResource(form); r != "" {
		resource = r // a refresh token serves every resource of this server
	}
	if !s.isAudience(resource) {
		return oauthError(c, http.StatusBadRequest, "invalid_scope", "The resource '"+resource+"' is not served by this authority.")
	}
	if user == nil {
		if user, err = s.Identity.UserByID(ctx, sess.UserID); errors.Is(err, identity.ErrNotFound) {
			return oauthError(c, http.StatusBadRequest, "invalid_grant", "The user no longer exists.")
		} else if err != nil {
			return err
		}
		// A sign-in approved before a password change or revoke-sessions
		// (a pending device code or an unredeemed code) is void.
		if va := user.SessionsValidAfter; !va.IsZero() && time.Unix(0, sess.AuthTime).Before(va) {
			return oauthError(c, http.StatusBadRequest, "invalid_grant", "The sign-in was revoked; sign in again.")
		}
	}
	if refresh == "" {
		if refresh, err = s.Identity.NewRefreshToken(ctx, sess); err != nil {
			return err
		}
	}
	tok, err := s.Identity.IssueUser(user, sess.ClientID, sess.AMR, issuer, resource, version)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, tokenResponse{TokenType: "Bearer", ExpiresIn: tok.ExpiresIn, ExtExpiresIn: tok.ExpiresIn,
		ExpiresOn: tok.ExpiresOn, Resource: resource, Scope: resource + "/user_impersonation", AccessToken: tok.AccessToken, RefreshToken: refresh})
}

// cleanAction is the sign-in form's target: the request path cleaned, with
// one leading slash, so "//adfs/..." cannot become a form posting the
// password to the host "adfs".
func cleanAction(p string) string {
	return "/" + strings.TrimLeft(path.Clean("/"+p), "/")
}
