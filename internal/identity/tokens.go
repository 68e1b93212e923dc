package identity

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
)

// clockSkew is how far exp and nbf may be off between clients and server.
const clockSkew = 2 * time.Minute

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   int64
	ExpiresOn   int64
}

// Issue signs an access token for app, issued by issuer for audience.
// version is "1.0" (ADFS / v1 shape) or "2.0".
func (s *Service) Issue(app *App, issuer, audience, version string) (*Token, error) {
	groups, err := s.groupsClaim(app.ObjectID)
	if err != nil {
		return nil, err
	}
	return s.issue(func(c *Claims) {
		c.Subject, c.ObjectID, c.IDType, c.Groups = app.ObjectID, app.ObjectID, "app", groups
		if version == "2.0" {
			c.AZP = app.ClientID
		} else {
			c.AppID = app.ClientID
		}
	}, issuer, audience, version)
}

// IssueUser signs an access token for a person signed in through the
// public client clientID, with the authentication methods amr.
func (s *Service) IssueUser(u *User, clientID string, amr []string, issuer, audience, version string) (*Token, error) {
	groups, err := s.groupsClaim(u.ObjectID)
	if err != nil {
		return nil, err
	}
	return s.issue(func(c *Claims) {
		c.Subject, c.ObjectID, c.IDType, c.Groups = u.ObjectID, u.ObjectID, "user", groups
		c.UPN, c.Name, c.AMR, c.Scope = u.UPN, u.DisplayName, amr, "user_impersonation"
		if version == "2.0" {
			c.AZP = clientID
		} else {
			c.AppID = clientID
		}
	}, issuer, audience, version)
}

// maxGroupsClaim is the most groups a token lists (Entra ID's limit for
// JWTs). A caller in more groups gets none in the token: authorization
// through groups then fails closed.
const maxGroupsClaim = 200

func (s *Service) groupsClaim(objectID string) ([]string, error) {
	var groups []string
	err := s.b.View(context.Background(), func(tx *barrier.Tx) error {
		var err error
		groups, err = groupsOf(tx, objectID)
		return err
	})
	if len(groups) > maxGroupsClaim {
		groups = nil
	}
	return groups, err
}

func (s *Service) issue(set func(*Claims), issuer, audience, version string) (*Token, error) {
	s.mu.RLock()
	keys, tenant := s.keys, s.tenantID
	s.mu.RUnlock()
	if len(keys) == 0 {
		return nil, errors.New("identity: no signing key loaded")
	}
	key := keys[len(keys)-1]
	now := s.now()
	exp := now.Add(s.lifetime)
	c := &Claims{Issuer: issuer, Audience: audience, TenantID: tenant, Version: version,
		IssuedAt: now.Unix(), NotBefore: now.Add(-5 * time.Minute).Unix(), Expires: exp.Unix(), TokenID: NewGUID()[:22]}
	set(c)
	tok, err := signRS256(key.priv, key.Kid, c)
	if err != nil {
		return nil, err
	}
	return &Token{AccessToken: tok, ExpiresIn: int64(s.lifetime / time.Second), ExpiresOn: exp.Unix()}, nil
}

// Audience decides whether an aud claim names this server's data plane.
type Audience func(aud string) bool

// Validate checks an access token and returns its principal. Issuer checks
// that iss is one of this authority's issuers; aud checks the audience.
// A token's signature is verified once and its claims cached until it
// expires; the claim checks run on every call, with the caller's rules.
func (s *Service) Validate(token string, issuer func(string) bool, aud Audience) (*Principal, error) {
	p, _, err := s.ValidateUntil(token, issuer, aud)
	return p, err
}

// Validity is when a Validate answer holds for its token: from From to
// Until inclusive (the token's nbf and exp, with the allowed clock skew),
// while Generation is unchanged. A zero Until means at no other time: an
// external issuer's token is checked at every use.
type Validity struct {
	From, Until time.Time
	Generation  uint64
}

// Holds reports whether the answer still holds at now, in generation gen.
func (v Validity) Holds(now time.Time, gen uint64) bool {
	return !v.Until.IsZero() && gen == v.Generation && !now.Before(v.From) && !now.After(v.Until)
}

// Generation identifies the state that validates tokens (tenant, signing
// keys); it changes when that state does.
func (s *Service) Generation() uint64 { return s.gen.Load() }

// ValidateUntil is Validate, and also says when its answer holds.
func (s *Service) ValidateUntil(token string, issuer func(string) bool, aud Audience) (*Principal, Validity, error) {
	gen := s.gen.Load() // before the checks: a change during them invalidates the answer
	now := s.now()
	c, ok := s.cache.get(token, now)
	if !ok {
		if p, ok := s.extCache.get(token, now); ok {
			if _, trusted := s.externalIssuer(p.External); trusted {
				return p, Validity{}, nil // the issuer may have been removed since
			}
			return nil, Validity{}, fmt.Errorf("%w: the token's issuer is not trusted", ErrInvalidToken)
		}
		if x, trusted := s.externalIssuer(unverifiedIssuer(token)); trusted {
			p, until, err := s.validateExternal(context.Background(), token, x, now)
			if err != nil {
				return nil, Validity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
			}
			s.extCache.put(token, p, until, now)
			return p, Validity{}, nil
		}
		var err error
		if c, err = verifyRS256(token, s.publicKey); err != nil {
			return nil, Validity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
		}
	}
	if err := s.checkClaims(c, now, issuer, aud); err != nil {
		return nil, Validity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	valid := Validity{From: time.Unix(c.NotBefore, 0).Add(-clockSkew), Until: time.Unix(c.Expires, 0).Add(clockSkew), Generation: gen}
	if !ok {
		s.cache.put(token, c, valid.Until, now)
	}
	appID := c.AppID
	if appID == "" {
		appID = c.AZP
	}
	return &Principal{TenantID: c.TenantID, ObjectID: c.ObjectID, AppID: appID, Name: c.UPN,
		User: c.IDType == "user", AMR: c.AMR, Groups: c.Groups}, valid, nil
}

func (s *Service) checkClaims(c *Claims, now time.Time, issuer func(string) bool, aud Audience) error {
	switch {
	case !issuer(c.Issuer):
		return errors.New("the token's issuer is not trusted")
	case !aud(c.Audience):
		return errors.New("the token's audience is not this vault service")
	case c.TenantID != s.TenantID():
		return errors.New("the token belongs to another tenant")
	case now.After(time.Unix(c.Expires, 0).Add(clockSkew)):
		return errors.New("the token has expired")
	case now.Add(clockSkew).Before(time.Unix(c.NotBefore, 0)):
		return errors.New("the token is not valid yet")
	case c.ObjectID == "":
		return errors.New("the token has no oid claim")
	}
	return nil
}

func (s *Service) publicKey(kid string) *rsa.PublicKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		if k.Kid == kid {
			return &k.priv.PublicKey
		}
	}
	return nil
}

// JWK is a public signing key as published in the JWKS document.
type JWK struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Alg string   `json:"alg"`
	Kid string   `json:"kid"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5t string   `json:"x5t,omitempty"`
	X5c []string `json:"x5c,omitempty"`
}

// JWKS returns the public signing keys.
func (s *Service) JWKS() []JWK {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]JWK, 0, len(s.keys))
	for _, k := range s.keys {
		pub := k.priv.PublicKey
		out = append(out, JWK{Kty: "RSA", Use: "sig", Alg: "RS256", Kid: k.Kid,
			N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
	}
	return out
}

// tokenCache remembers the claims of tokens whose signature verified, until
// they expire, keyed by the token's SHA-256 (so it holds no bearer tokens;
// the HTTP layer remembers, per connection, the one token last sent on it). It is
// bounded: when full it drops expired entries, and if none expired,
// everything.
type tokenCache[V any] struct {
	mu  sync.RWMutex
	max int
	m   map[[32]byte]cachedValue[V]
}

type cachedValue[V any] struct {
	c     V
	until time.Time
}

func newTokenCache[V any](max int) tokenCache[V] {
	return tokenCache[V]{max: max, m: map[[32]byte]cachedValue[V]{}}
}

// hashBufs hold copies of tokens being hashed: sha256.Sum256([]byte(token))
// would allocate a copy of every ~1 KiB token on every request.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func tokenHash(token string) [32]byte {
	bp := hashBufs.Get().(*[]byte)
	b := append((*bp)[:0], token...)
	h := sha256.Sum256(b)
	clear(b)
	*bp = b[:0]
	hashBufs.Put(bp)
	return h
}

func (c *tokenCache[V]) get(token string, now time.Time) (V, bool) {
	h := tokenHash(token)
	c.mu.RLock()
	e, ok := c.m[h]
	c.mu.RUnlock()
	if !ok || now.After(e.until) {
		var zero V
		return zero, false
	}
	return e.c, true
}

func (c *tokenCache[V]) put(token string, claims V, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if now.After(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			c.m = map[[32]byte]cachedValue[V]{}
		}
	}
	c.m[tokenHash(token)] = cachedValue[V]{c: claims, until: until}
}
