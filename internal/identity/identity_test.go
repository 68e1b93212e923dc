package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t testing.TB) (*Service, *clock) {
	t.Helper()
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := New(b, clk.now, time.Hour)
	if err := s.Load(ctx, ""); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

const aud = "https://vault.localhost"

func anyIssuer(string) bool { return true }
func ourAud(a string) bool  { return a == aud }

func issue(t *testing.T, s *Service) (string, *App) {
	t.Helper()
	app, _, err := s.CreateApp(context.Background(), "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Issue(app, "https://localhost/"+s.TenantID()+"/v2.0", aud, "2.0")
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken, app
}

func TestAuthenticate(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	app, secret, err := s.CreateApp(ctx, "a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Authenticate(ctx, strings.ToUpper(app.ClientID), secret); err != nil || got.ObjectID != app.ObjectID {
		t.Fatalf("right secret: %v", err)
	}
	cases := []struct{ name, id, secret string }{
		{name: "wrong secret", id: app.ClientID, secret: secret + "x"},
		{name: "empty secret", id: app.ClientID, secret: ""},
		{name: "unknown client", id: NewGUID(), secret: secret},
	}
	for _, c := range cases {
		if _, err := s.Authenticate(ctx, c.id, c.secret); !errors.Is(err, ErrInvalidClient) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	clk.t = clk.t.Add(2 * time.Hour)
	if _, err := s.Authenticate(ctx, app.ClientID, secret); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("expired secret accepted: %v", err)
	}
}

func TestSecretsStoredHashed(t *testing.T) {
	s, _ := newService(t)
	app, secret, err := s.CreateApp(context.Background(), "a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(app)
	if strings.Contains(string(raw), secret) {
		t.Fatal("the app record holds the client secret")
	}
}

func TestValidate(t *testing.T) {
	s, clk := newService(t)
	tok, app := issue(t, s)
	p, err := s.Validate(tok, anyIssuer, ourAud)
	if err != nil || p.ObjectID != app.ObjectID || p.AppID != app.ClientID || p.TenantID != s.TenantID() {
		t.Fatalf("valid token: %+v %v", p, err)
	}
	// The signature is cached, the claim checks are not: another caller's
	// rules apply to a token already seen.
	if _, err := s.Validate(tok, func(string) bool { return false }, ourAud); !errors.Is(err, ErrInvalidToken) {
		t.Fatal("a cached token skipped the issuer check")
	}
	if _, err := s.Validate(tok, anyIssuer, func(string) bool { return false }); !errors.Is(err, ErrInvalidToken) {
		t.Fatal("a cached token skipped the audience check")
	}
	if _, err := s.Validate(tok, anyIssuer, ourAud); err != nil {
		t.Fatalf("cached token: %v", err)
	}
	clk.t = clk.t.Add(time.Hour + clockSkew + time.Second)
	if _, err := s.Validate(tok, anyIssuer, ourAud); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestValidateRejects(t *testing.T) {
	s, clk := newService(t)
	good, app := issue(t, s)
	parts := strings.Split(good, ".")
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	claims := func(mut func(*Claims)) *Claims {
		c := &Claims{Issuer: "https://localhost/" + s.TenantID() + "/v2.0", Audience: aud, TenantID: s.TenantID(),
			ObjectID: app.ObjectID, AZP: app.ClientID, IssuedAt: clk.t.Unix(), NotBefore: clk.t.Unix(), Expires: clk.t.Add(time.Hour).Unix()}
		mut(c)
		return c
	}
	signed := func(c *Claims) string {
		s.mu.RLock()
		k := s.keys[0]
		s.mu.RUnlock()
		tok, err := signRS256(k.priv, k.Kid, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	forged, _ := signRS256(otherKey, s.keys[0].Kid, claims(func(*Claims) {}))
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + s.keys[0].Kid + `"}`))
	hsHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + s.keys[0].Kid + `"}`))
	cases := []struct {
		name  string
		token string
		aud   Audience
		iss   func(string) bool
	}{
		{name: "wrong audience", token: signed(claims(func(c *Claims) { c.Audience = "https://graph.microsoft.com" }))},
		{name: "not yet valid", token: signed(claims(func(c *Claims) { c.NotBefore = clk.t.Add(time.Hour).Unix() }))},
		{name: "expired", token: signed(claims(func(c *Claims) { c.Expires = clk.t.Add(-time.Hour).Unix() }))},
		{name: "other tenant", token: signed(claims(func(c *Claims) { c.TenantID = NewGUID() }))},
		{name: "no oid", token: signed(claims(func(c *Claims) { c.ObjectID = "" }))},
		{name: "untrusted issuer", token: signed(claims(func(*Claims) {})), iss: func(string) bool { return false }},
		{name: "signed by another key", token: forged},
		{name: "alg none", token: noneHeader + "." + parts[1] + "."},
		{name: "alg HS256", token: hsHeader + "." + parts[1] + "." + parts[2]},
		{name: "tampered payload", token: parts[0] + "." + parts[1] + "A." + parts[2]},
		{name: "garbage", token: "not-a-jwt"},
		{name: "two segments", token: parts[0] + "." + parts[1]},
		{name: "huge", token: strings.Repeat("a", 20000)},
	}
	for _, c := range cases {
		aud, iss := c.aud, c.iss
		if aud == nil {
			aud = ourAud
		}
		if iss == nil {
			iss = anyIssuer
		}
		if _, err := s.Validate(c.token, iss, aud); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: accepted (%v)", c.name, err)
		}
	}
}

func TestKeysAndTenantPersist(t *testing.T) {
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	tenant := "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
	s1 := New(b, time.Now, time.Hour)
	if err := s1.Load(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	app, _, _ := s1.CreateApp(ctx, "a", time.Hour)
	tok, _ := s1.Issue(app, "https://localhost/adfs", aud, "1.0")
	s2 := New(b, time.Now, time.Hour)
	if err := s2.Load(ctx, ""); err != nil || s2.TenantID() != tenant {
		t.Fatalf("reload: %v %s", err, s2.TenantID())
	}
	if _, err := s2.Validate(tok.AccessToken, anyIssuer, ourAud); err != nil {
		t.Fatalf("a token from before the reload: %v", err)
	}
	if err := New(b, time.Now, time.Hour).Load(ctx, NewGUID()); err == nil {
		t.Fatal("a different configured tenant must be refused")
	}
	if len(s2.JWKS()) != 1 || s2.JWKS()[0].E != "AQAB" {
		t.Fatalf("jwks %+v", s2.JWKS())
	}
}

func TestTokenCacheBounded(t *testing.T) {
	c := newTokenCache[*Claims](4)
	now := time.Now()
	for i := 0; i < 10; i++ {
		c.put(string(rune('a'+i)), &Claims{}, now.Add(time.Hour), now)
		if len(c.m) > 4 {
			t.Fatalf("cache grew to %d", len(c.m))
		}
	}
	if _, ok := c.get("j", now); !ok {
		t.Fatal("latest entry missing")
	}
	if _, ok := c.get("j", now.Add(2*time.Hour)); ok {
		t.Fatal("expired entry served")
	}
}

func TestReplayCacheForgetsExpiredAssertions(t *testing.T) {
	var r replayCache
	now := time.Now()
	if !r.first("a", now.Add(time.Minute), now) || r.first("a", now.Add(time.Minute), now) {
		t.Fatal("replay not detected")
	}
	later := now.Add(time.Minute + clockSkew + time.Second)
	if !r.first("a", later.Add(time.Minute), later) {
		t.Fatal("an expired entry still blocks")
	}
	for i := 0; i < 3000; i++ {
		r.first(fmt.Sprint(i), now.Add(time.Second), now)
	}
	for i := 0; i < 2000; i++ { // once those expired, growth sweeps them out
		r.first(fmt.Sprint("late", i), later.Add(2*time.Hour), later.Add(time.Hour))
	}
	if len(r.seen) > 2100 {
		t.Fatalf("expired entries kept: %d", len(r.seen))
	}
}

func TestSigningKeysRotateWithOverlap(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	app, _, err := s.CreateApp(ctx, "a", time.Hour*24*365)
	if err != nil {
		t.Fatal(err)
	}
	const every = 30 * 24 * time.Hour
	if changed, _ := s.RotateKeys(ctx, clk.t, every); changed {
		t.Fatal("rotated a fresh key")
	}
	clk.t = clk.t.Add(every - 5*time.Minute)
	before, err := s.Issue(app, "iss", "aud", "2.0")
	if err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(10 * time.Minute)
	if changed, err := s.RotateKeys(ctx, clk.t, every); !changed || err != nil {
		t.Fatalf("no rotation after %v: %v", every, err)
	}
	if n := len(s.JWKS()); n != 2 {
		t.Fatalf("JWKS has %d keys during the overlap, want 2", n)
	}
	after, _ := s.Issue(app, "iss", "aud", "2.0")
	if kidOf(t, before.AccessToken) == kidOf(t, after.AccessToken) {
		t.Fatal("new tokens still use the old key")
	}
	if _, err := s.Validate(before.AccessToken, anyIssuer, func(string) bool { return true }); err != nil {
		t.Fatalf("a token of the previous key is refused during the overlap: %v", err)
	}
	clk.t = clk.t.Add(2 * time.Hour)
	if changed, _ := s.RotateKeys(ctx, clk.t, every); !changed || len(s.JWKS()) != 1 {
		t.Fatalf("the previous key was not retired: %d keys", len(s.JWKS()))
	}
	if err := s.Load(ctx, ""); err != nil || len(s.JWKS()) != 1 || kidOf(t, after.AccessToken) != s.JWKS()[0].Kid {
		t.Fatalf("the rotated keys are not what was stored: %v", err)
	}
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	var h jwtHeader
	if err := decodeSegment(strings.Split(token, ".")[0], &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// localPrincipals finds users, groups and applications (whatever the case
// of the ids asked about) in one pass over the applications.
func TestLocalPrincipals(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	var apps []string
	for i := range 20 {
		app, _, err := s.CreateApp(ctx, fmt.Sprintf("app-%d", i), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, app.ObjectID)
	}
	g, err := s.CreateGroup(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := s.CreateUser(ctx, "local@example.com", "", "a long enough password", false)
	if err != nil {
		t.Fatal(err)
	}
	user := u.ObjectID
	ask := []string{strings.ToUpper(apps[3]), apps[17], g.ObjectID, user, "00000000-0000-0000-0000-000000000001", apps[0]}
	var local map[string]bool
	err = s.b.View(ctx, func(tx *barrier.Tx) error {
		local, err = localPrincipals(tx, ask)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ask {
		want := id != "00000000-0000-0000-0000-000000000001"
		if local[strings.ToLower(id)] != want {
			t.Errorf("%s: local %v, want %v", id, local[strings.ToLower(id)], want)
		}
	}
	err = s.b.View(ctx, func(tx *barrier.Tx) error {
		for id, want := range map[string]bool{apps[5]: true, strings.ToUpper(apps[5]): true, "nobody": false, user: true} {
			if got, err := principalInTx(tx, id); err != nil || got != want {
				t.Errorf("principalInTx(%s) = %v, %v; want %v", id, got, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
