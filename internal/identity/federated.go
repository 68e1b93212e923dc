package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// federatedCredential lets an application exchange a token of an external
// OIDC issuer for a keyhaven token: the external token's iss, sub and aud
// must match (what WorkloadIdentityCredential sends).
type federatedCredential struct {
	ID        string   `json:"id"`
	Issuer    string   `json:"issuer"`
	Subject   string   `json:"subject"`
	Audiences []string `json:"audiences"`
}

// DefaultFederatedAudience is the audience Entra ID expects on federated
// tokens.
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// AddFederated adds a federated credential (an https issuer, a subject and
// audiences, by default api://AzureADTokenExchange) and returns its id.
func (s *Service) AddFederated(ctx context.Context, clientID, issuer, subject string, audiences []string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || len(issuer) > 512 {
		return "", errors.New("identity: the issuer must be an https URL")
	}
	if subject == "" || len(subject) > 600 {
		return "", errors.New("identity: the subject must be 1-600 characters")
	}
	if len(audiences) == 0 {
		audiences = []string{DefaultFederatedAudience}
	}
	if len(audiences) > 5 {
		return "", errors.New("identity: at most 5 audiences")
	}
	cred := federatedCredential{ID: NewGUID(), Issuer: strings.TrimSuffix(issuer, "/"), Subject: subject, Audiences: audiences}
	err = s.modifyApp(ctx, clientID, func(app *App) error {
		if len(app.Secrets)+len(app.Certificates)+len(app.Federated) >= maxCredentials {
			return errTooManyCredentials
		}
		app.Federated = append(app.Federated, cred)
		return nil
	})
	return cred.ID, err
}

type externalHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

type externalClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	Expires   int64           `json:"exp"`
	NotBefore int64           `json:"nbf"`
}

// authenticateFederated checks an external issuer's token presented as a
// client assertion: a federated credential of the application names its
// issuer, subject and an audience, and the issuer's published keys verify
// it.
func (s *Service) authenticateFederated(ctx context.Context, clientID, token string) (*App, error) {
	parts := strings.Split(token, ".")
	var h externalHeader
	var c externalClaims
	if len(parts) != 3 || len(token) > 16<<10 || decodeSegment(parts[0], &h) != nil || decodeSegment(parts[1], &c) != nil {
		return nil, fmt.Errorf("%w: malformed federated token", ErrInvalidClient)
	}
	app, cred, err := s.federatedMatch(ctx, clientID, &c)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if c.Expires == 0 || now.Add(-clockSkew).Unix() >= c.Expires || c.NotBefore > now.Add(clockSkew).Unix() {
		return nil, fmt.Errorf("%w: the federated token is expired or not yet valid", ErrInvalidClient)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: malformed federated token", ErrInvalidClient)
	}
	key, err := s.issuerKeys.key(ctx, s.oidcClient, cred.Issuer, h.Kid, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidClient, err)
	}
	if err := verifyExternal(h.Alg, key, parts[0]+"."+parts[1], sig); err != nil {
		return nil, err
	}
	return app, nil
}

func (s *Service) federatedMatch(ctx context.Context, clientID string, c *externalClaims) (*App, *federatedCredential, error) {
	app, err := s.lookupApp(ctx, clientID)
	if err != nil {
		return nil, nil, err
	}
	var auds []string
	if json.Unmarshal(c.Audience, &auds) != nil {
		var one string
		if json.Unmarshal(c.Audience, &one) == nil {
			auds = []string{one}
		}
	}
	for i := range app.Federated {
		f := &app.Federated[i]
		if sameURL(f.Issuer, c.Issuer) && f.Subject == c.Subject && anyShared(f.Audiences, auds) {
			return app, f, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: no federated credential matches the token's issuer, subject and audience", ErrInvalidClient)
}

func anyShared(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func verifyExternal(alg string, key crypto.PublicKey, signed string, sig []byte) error {
	sum := sha256.Sum256([]byte(signed))
	ok := false
	switch k := key.(type) {
	case *rsa.PublicKey:
		ok = alg == "RS256" && rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	case *ecdsa.PublicKey:
		if alg == "ES256" && len(sig) == 64 && k.Curve == elliptic.P256() {
			ok = ecdsa.Verify(k, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		}
	}
	if !ok {
		return fmt.Errorf("%w: the federated token's signature does not verify (RS256 or ES256 with the issuer's key)", ErrInvalidClient)
	}
	return nil
}

// issuerKeyCache holds external issuers' signing keys, fetched through
// OIDC discovery, for a while; an unknown kid refetches at most once a
// minute per issuer.
type issuerKeyCache struct {
	mu      sync.Mutex
	issuers map[string]*issuerKeys
}

type issuerKeys struct {
	keys    map[string]crypto.PublicKey
	fetched time.Time
}

const (
	issuerKeysTTL     = 10 * time.Minute
	issuerRefetchWait = time.Minute
)

func (c *issuerKeyCache) key(ctx context.Context, client *http.Client, issuer, kid string, now time.Time) (crypto.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.issuers == nil {
		c.issuers = map[string]*issuerKeys{}
	}
	ik := c.issuers[issuer]
	stale := ik == nil || now.Sub(ik.fetched) > issuerKeysTTL
	if !stale && ik.keys[kid] == nil && now.Sub(ik.fetched) > issuerRefetchWait {
		stale = true
	}
	if stale {
		keys, err := fetchIssuerKeys(ctx, client, issuer)
		if err != nil {
			return nil, err
		}
		ik = &issuerKeys{keys: keys, fetched: now}
		c.issuers[issuer] = ik
	}
	if k := ik.keys[kid]; k != nil {
		return k, nil
	}
	return nil, errors.New("the issuer publishes no key " + truncateID(kid))
}

func truncateID(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// fetchIssuerKeys reads issuer/.well-known/openid-configuration and the
// JWKS it names; the issuer it declares must be the one asked for.
func fetchIssuerKeys(ctx context.Context, client *http.Client, issuer string) (map[string]crypto.PublicKey, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, client, issuer+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, fmt.Errorf("discovery of %s: %w", issuer, err)
	}
	if !sameURL(doc.Issuer, issuer) || !strings.HasPrefix(doc.JWKSURI, "https://") {
		return nil, fmt.Errorf("discovery of %s names issuer %q and keys %q", issuer, doc.Issuer, doc.JWKSURI)
	}
	var set struct {
		Keys []struct {
			Kty, Kid, N, E, Crv, X, Y string
		} `json:"keys"`
	}
	if err := getJSON(ctx, client, doc.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("keys of %s: %w", issuer, err)
	}
	out := map[string]crypto.PublicKey{}
	for _, k := range set.Keys {
		if pub := externalKey(k.Kty, k.N, k.E, k.Crv, k.X, k.Y); pub != nil && k.Kid != "" {
			out[k.Kid] = pub
		}
	}
	return out, nil
}

func externalKey(kty, n, e, crv, x, y string) crypto.PublicKey {
	switch kty {
	case "RSA":
		nb, err1 := b64.DecodeString(n)
		eb, err2 := b64.DecodeString(e)
		if err1 != nil || err2 != nil || len(nb) < 256 || len(eb) == 0 || len(eb) > 4 {
			return nil
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
	case "EC":
		xb, err1 := b64.DecodeString(x)
		yb, err2 := b64.DecodeString(y)
		if crv != "P-256" || err1 != nil || err2 != nil || len(xb) != 32 || len(yb) != 32 {
			return nil
		}
		k := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(xb), Y: new(big.Int).SetBytes(yb)}
		if !k.Curve.IsOnCurve(k.X, k.Y) {
			return nil
		}
		return k
	}
	return nil
}

func getJSON(ctx context.Context, client *http.Client, u string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(dst)
}
