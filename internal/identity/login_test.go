package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1 (the 8-digit codes' last 6 digits).
func TestTOTPVectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		if got := hotp(secret, v.unix/totpStep); got != v.want {
			t.Errorf("TOTP at %d = %s, want %s", v.unix, got, v.want)
		}
	}
}

func newUser(t *testing.T, s *Service, upn string) string {
	t.Helper()
	_, uri, err := s.CreateUser(context.Background(), upn, "", "a long enough password", true)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(uri)
	return u.Query().Get("secret")
}

func TestSignIn(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	secret := newUser(t, s, "bob@example.com")
	code, _ := TOTPCode(secret, clk.t)
	if _, _, err := s.SignIn(ctx, "bob@example.com", "a long enough password", ""); !errors.Is(err, ErrOTPRequired) {
		t.Fatalf("no code: %v", err)
	}
	for _, bad := range [][3]string{{"bob@example.com", "wrong password!", code}, {"eve@example.com", "a long enough password", code}, {"bob@example.com", "a long enough password", "000000"}} {
		if _, _, err := s.SignIn(ctx, bad[0], bad[1], bad[2]); !errors.Is(err, ErrInvalidLogin) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
	u, amr, err := s.SignIn(ctx, "BOB@example.com", "a long enough password", code)
	if err != nil || u.UPN != "bob@example.com" || !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
		t.Fatalf("sign-in: %v %v %v", u, amr, err)
	}
	if _, _, err := s.SignIn(ctx, "bob@example.com", "a long enough password", code); !errors.Is(err, ErrInvalidLogin) {
		t.Fatalf("a replayed code: %v", err)
	}
	clk.t = clk.t.Add(90 * time.Second) // two steps on: the old code is out of the window
	if _, _, err := s.SignIn(ctx, "bob@example.com", "a long enough password", code); !errors.Is(err, ErrInvalidLogin) {
		t.Fatalf("an old code: %v", err)
	}
	if _, _, err := s.CreateUser(ctx, "Bob@Example.com", "", "another long password", false); !errors.Is(err, ErrUPNTaken) {
		t.Fatalf("duplicate UPN: %v", err)
	}
	for _, p := range []string{"short", strings.Repeat("x", 300)} {
		if _, _, err := s.CreateUser(ctx, "carol@example.com", "", p, false); !errors.Is(err, ErrWeakPassword) {
			t.Fatalf("password %q: %v", p, err)
		}
	}
	for _, upn := range []string{"carol", "@example.com", "carol@", "ca rol@example.com", "a@b@c"} {
		if _, _, err := s.CreateUser(ctx, upn, "", "a long enough password", false); !errors.Is(err, ErrInvalidUPN) {
			t.Fatalf("UPN %q: %v", upn, err)
		}
	}
}

func TestDeviceCodeFlow(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	secret := newUser(t, s, "dan@example.com")
	if _, err := s.StartDeviceAuth(ctx, "some-other-client", aud); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("confidential client: %v", err)
	}
	d, err := s.StartDeviceAuth(ctx, PublicClientID, aud)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PollDevice(ctx, d.DeviceCode, PublicClientID); !errors.Is(err, ErrAuthorizationPending) {
		t.Fatalf("first poll: %v", err)
	}
	if _, err := s.PollDevice(ctx, d.DeviceCode, PublicClientID); !errors.Is(err, ErrSlowDown) {
		t.Fatalf("poll too soon: %v", err)
	}
	code, _ := TOTPCode(secret, clk.t)
	if _, err := s.ApproveDevice(ctx, "BCDF-GHJK", "dan@example.com", "a long enough password", code); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("unknown user code: %v", err)
	}
	if _, err := s.ApproveDevice(ctx, strings.ToLower(strings.ReplaceAll(d.UserCode, "-", "")), "dan@example.com", "a long enough password", code); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(10 * time.Second)
	sess, err := s.PollDevice(ctx, d.DeviceCode, PublicClientID)
	if err != nil || sess.Resource != aud || !slices.Contains(sess.AMR, "mfa") {
		t.Fatalf("approved poll: %+v %v", sess, err)
	}
	if _, err := s.PollDevice(ctx, d.DeviceCode, PublicClientID); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("the device code worked twice: %v", err)
	}
	d2, _ := s.StartDeviceAuth(ctx, PublicClientID, aud)
	clk.t = clk.t.Add(DeviceCodeLifetime + time.Second)
	if _, err := s.PollDevice(ctx, d2.DeviceCode, PublicClientID); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("expired device code: %v", err)
	}
}

func TestAuthCodeWithPKCE(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	secret := newUser(t, s, "erin@example.com")
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	const redirect = "http://127.0.0.1:5555/"
	for _, r := range []string{"https://127.0.0.1:5555/", "http://example.com:5555/", "http://127.0.0.1/", "http://127.0.0.1:5555/#x"} {
		if ValidLoopbackRedirect(r) {
			t.Errorf("redirect %s accepted", r)
		}
	}
	otp, _ := TOTPCode(secret, clk.t)
	code, err := s.CreateAuthCode(ctx, PublicClientID, redirect, challenge, aud, "erin@example.com", "a long enough password", otp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemAuthCode(ctx, code, PublicClientID, redirect, strings.Repeat("w", 50)); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("wrong verifier: %v", err)
	}
	// A failed redemption used the code up.
	if _, err := s.RedeemAuthCode(ctx, code, PublicClientID, redirect, verifier); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("used code: %v", err)
	}
	clk.t = clk.t.Add(time.Minute)
	otp, _ = TOTPCode(secret, clk.t)
	code, _ = s.CreateAuthCode(ctx, PublicClientID, redirect, challenge, aud, "erin@example.com", "a long enough password", otp)
	if _, err := s.RedeemAuthCode(ctx, code, PublicClientID, "http://127.0.0.1:6666/", verifier); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("other redirect: %v", err)
	}
	clk.t = clk.t.Add(time.Minute)
	otp, _ = TOTPCode(secret, clk.t)
	code, _ = s.CreateAuthCode(ctx, PublicClientID, redirect, challenge, aud, "erin@example.com", "a long enough password", otp)
	sess, err := s.RedeemAuthCode(ctx, code, PublicClientID, redirect, verifier)
	if err != nil || sess.ClientID != PublicClientID {
		t.Fatalf("redeem: %+v %v", sess, err)
	}
}

func TestRefreshTokenRotation(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	newUser(t, s, "fay@example.com")
	u, _ := s.GetUser(ctx, "fay@example.com")
	first, err := s.NewRefreshToken(ctx, &Session{UserID: u.ObjectID, ClientID: PublicClientID, AMR: []string{"pwd"}, Resource: aud})
	if err != nil {
		t.Fatal(err)
	}
	_, _, second, err := s.Refresh(ctx, first, PublicClientID)
	if err != nil || second == "" || second == first {
		t.Fatalf("refresh: %v", err)
	}
	// The rotated token presented again: theft assumed, the family dies.
	if _, _, _, err := s.Refresh(ctx, first, PublicClientID); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("reuse: %v", err)
	}
	if _, _, _, err := s.Refresh(ctx, second, PublicClientID); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("the family survived a reuse: %v", err)
	}
	// A new sign-in; revoke-sessions ends it; a deleted user's too.
	third, _ := s.NewRefreshToken(ctx, &Session{UserID: u.ObjectID, ClientID: PublicClientID})
	if _, _, _, err := s.Refresh(ctx, third, "another-client"); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("another client: %v", err)
	}
	clk.t = clk.t.Add(time.Second)
	if err := s.RevokeSessions(ctx, u.ObjectID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Refresh(ctx, third, PublicClientID); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("after revoke-sessions: %v", err)
	}
	clk.t = clk.t.Add(time.Second)
	fourth, _ := s.NewRefreshToken(ctx, &Session{UserID: u.ObjectID, ClientID: PublicClientID})
	if err := s.RevokeRefreshToken(ctx, fourth); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Refresh(ctx, fourth, PublicClientID); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("after sign-out: %v", err)
	}
	fifth, _ := s.NewRefreshToken(ctx, &Session{UserID: u.ObjectID, ClientID: PublicClientID})
	clk.t = clk.t.Add(RefreshTokenLifetime + time.Second)
	if _, _, _, err := s.Refresh(ctx, fifth, PublicClientID); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("expired: %v", err)
	}
}

func TestGroupsClaim(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	app, _, _ := s.CreateApp(ctx, "member", time.Hour)
	g, err := s.CreateGroup(ctx, "readers")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroupMember(ctx, g.ObjectID, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrMemberMissing) {
		t.Fatalf("unknown member: %v", err)
	}
	g2, _ := s.CreateGroup(ctx, "nested")
	if _, err := s.AddGroupMember(ctx, g.ObjectID, g2.ObjectID); err == nil {
		t.Fatal("a group was added to a group")
	}
	if _, err := s.AddGroupMember(ctx, g.ObjectID, app.ObjectID); err != nil {
		t.Fatal(err)
	}
	tok, _ := s.Issue(app, "https://localhost/"+s.TenantID()+"/v2.0", aud, "2.0")
	p, err := s.Validate(tok.AccessToken, anyIssuer, ourAud)
	if err != nil || !slices.Equal(p.IDs(), []string{app.ObjectID, g.ObjectID}) {
		t.Fatalf("principal %+v %v", p, err)
	}
	if err := s.DeleteApp(ctx, app.ClientID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetGroup(ctx, g.ObjectID); len(got.Members) != 0 {
		t.Fatalf("a deleted application stayed a member: %v", got.Members)
	}
}

func TestSweepLogins(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	newUser(t, s, "gus@example.com")
	u, _ := s.GetUser(ctx, "gus@example.com")
	if _, err := s.StartDeviceAuth(ctx, PublicClientID, aud); err != nil {
		t.Fatal(err)
	}
	tok, _ := s.NewRefreshToken(ctx, &Session{UserID: u.ObjectID, ClientID: PublicClientID})
	if err := s.RevokeRefreshToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	live, _ := s.NewRefreshToken(ctx, &Session{UserID: u.ObjectID, ClientID: PublicClientID})
	if n, err := s.SweepLogins(ctx, clk.t); err != nil || n != 0 {
		t.Fatalf("nothing is expired yet: %d %v", n, err)
	}
	clk.t = clk.t.Add(DeviceCodeLifetime + time.Minute)
	if n, err := s.SweepLogins(ctx, clk.t); err != nil || n != 2 {
		t.Fatalf("the expired device code and its user code: %d %v", n, err)
	}
	if _, _, _, err := s.Refresh(ctx, live, PublicClientID); err != nil {
		t.Fatalf("a live refresh token was swept: %v", err)
	}
	clk.t = clk.t.Add(2*RefreshTokenLifetime + time.Hour)
	if n, err := s.SweepLogins(ctx, clk.t); err != nil || n < 2 {
		t.Fatalf("expired refresh tokens and the old family marker: %d %v", n, err)
	}
}
