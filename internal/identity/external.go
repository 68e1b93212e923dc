package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// ExternalIssuer is an OIDC issuer (Entra ID, Keycloak, ...) whose access
// tokens the data plane accepts directly. Its keys come from its discovery
// document and JWKS; only RS256 and ES256 signatures are accepted. Claims
// map to the principal: the object id (what role assignments name) from
// ObjectIDClaim, groups from GroupsClaim, the name from NameClaim and the
// client application from AppIDClaim.
type ExternalIssuer struct {
	ID            string   `json:"id"`
	Issuer        string   `json:"issuer"`
	Audiences     []string `json:"audiences"`
	ObjectIDClaim string   `json:"objectIdClaim"`
	GroupsClaim   string   `json:"groupsClaim"`
	NameClaim     string   `json:"nameClaim"`
	AppIDClaim    string   `json:"appIdClaim"`
	// TenantID is what the principal's tenant is (its tid claim when empty).
	TenantID string `json:"tenantId,omitempty"`
}

const externalPrefix = "sys/identity/external-issuers/"

// Claim-name defaults: Entra ID's claims (oid, groups, preferred_username,
// azp); for Keycloak set objectIdClaim to sub.
const (
	defaultObjectIDClaim = "oid"
	defaultGroupsClaim   = "groups"
	defaultNameClaim     = "preferred_username"
	defaultAppIDClaim    = "azp"
)

var claimNameOK = func(s string) bool {
	return s != "" && len(s) <= 64 && !strings.ContainsAny(s, " \t\r\n\"")
}

// AddExternalIssuer trusts an issuer's access tokens for the audiences
// given (each an https URL naming this server's data plane, checked by the
// caller).
func (s *Service) AddExternalIssuer(ctx context.Context, in ExternalIssuer) (*ExternalIssuer, error) {
	u, err := url.Parse(in.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || len(in.Issuer) > 512 {
		return nil, errors.New("the issuer must be an https URL without query or fragment")
	}
	if len(in.Audiences) == 0 || len(in.Audiences) > 5 {
		return nil, errors.New("between 1 and 5 audiences are required")
	}
	in.Issuer = strings.TrimSuffix(in.Issuer, "/")
	in.ObjectIDClaim = orDefault(in.ObjectIDClaim, defaultObjectIDClaim)
	in.GroupsClaim = orDefault(in.GroupsClaim, defaultGroupsClaim)
	in.NameClaim = orDefault(in.NameClaim, defaultNameClaim)
	in.AppIDClaim = orDefault(in.AppIDClaim, defaultAppIDClaim)
	for _, c := range []string{in.ObjectIDClaim, in.GroupsClaim, in.NameClaim, in.AppIDClaim} {
		if !claimNameOK(c) {
			return nil, fmt.Errorf("claim name %q is not valid", c)
		}
	}
	if in.Issuer == "" || strings.EqualFold(in.Issuer, "https://") {
		return nil, errors.New("the issuer must be an https URL")
	}
	in.ID = issuerID(in.Issuer)
	raw, err := json.Marshal(&in)
	if err != nil {
		return nil, err
	}
	if err := s.b.Update(ctx, func(tx *barrier.Tx) error { return tx.Put(externalPrefix+in.ID, raw) }); err != nil {
		return nil, err
	}
	s.external.invalidate()
	return &in, nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func issuerID(issuer string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSuffix(issuer, "/"))))
	return hex.EncodeToString(sum[:8])
}

// ListExternalIssuers returns the trusted issuers.
func (s *Service) ListExternalIssuers(ctx context.Context) ([]ExternalIssuer, error) {
	out := []ExternalIssuer{}
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		return tx.Scan(externalPrefix, "", func(_ string, raw []byte) (bool, error) {
			var e ExternalIssuer
			if err := json.Unmarshal(raw, &e); err != nil {
				return false, err
			}
			out = append(out, e)
			return true, nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Issuer < out[j].Issuer })
	return out, err
}

// RemoveExternalIssuer stops trusting an issuer (by id).
func (s *Service) RemoveExternalIssuer(ctx context.Context, id string) error {
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		if _, err := tx.Get(externalPrefix + id); err != nil {
			return notFoundErr(err)
		}
		return tx.Delete(externalPrefix + id)
	})
	s.external.invalidate()
	return err
}

func notFoundErr(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// externalSet caches the trusted issuers for the request path, reloaded
// after a change here and at least every externalTTL (other nodes may
// change the list).
type externalSet struct {
	mu      sync.Mutex
	loaded  time.Time
	issuers map[string]ExternalIssuer // by lower-case issuer without trailing slash
}

const externalTTL = 30 * time.Second

func (e *externalSet) invalidate() {
	e.mu.Lock()
	e.loaded = time.Time{}
	e.mu.Unlock()
}

func (s *Service) externalIssuer(iss string) (ExternalIssuer, bool) {
	e := &s.external
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if e.issuers == nil || now.Sub(e.loaded) > externalTTL {
		list, err := s.ListExternalIssuers(context.Background())
		if err != nil {
			return ExternalIssuer{}, false
		}
		e.issuers = map[string]ExternalIssuer{}
		for _, x := range list {
			e.issuers[strings.ToLower(x.Issuer)] = x
		}
		e.loaded = now
	}
	x, ok := e.issuers[strings.ToLower(strings.TrimSuffix(iss, "/"))]
	return x, ok
}

// validateExternal checks an access token of a trusted external issuer and
// maps its claims to a principal.
// It returns until when the result may be cached (the token's expiry).
func (s *Service) validateExternal(ctx context.Context, token string, x ExternalIssuer, now time.Time) (*Principal, time.Time, error) {
	var never time.Time
	parts := strings.Split(token, ".")
	var h externalHeader
	var claims map[string]any
	if len(parts) != 3 || decodeSegment(parts[0], &h) != nil || decodeSegment(parts[1], &claims) != nil {
		return nil, never, errMalformed
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, never, errMalformed
	}
	if h.Alg != "RS256" && h.Alg != "ES256" {
		return nil, never, errors.New("unsupported token algorithm")
	}
	key, err := s.issuerKeys.key(ctx, s.oidcClient, x.Issuer, h.Kid, now)
	if err != nil {
		return nil, never, err
	}
	if err := verifyExternal(h.Alg, key, parts[0]+"."+parts[1], sig); err != nil {
		return nil, never, errors.New("the token's signature does not verify with the issuer's keys")
	}
	exp, _ := claims["exp"].(float64)
	nbf, _ := claims["nbf"].(float64)
	switch {
	case exp == 0 || now.After(time.Unix(int64(exp), 0).Add(clockSkew)):
		return nil, never, errors.New("the token has expired")
	case nbf != 0 && now.Add(clockSkew).Before(time.Unix(int64(nbf), 0)):
		return nil, never, errors.New("the token is not valid yet")
	case !slices.ContainsFunc(audiences(claims["aud"]), func(a string) bool {
		return slices.ContainsFunc(x.Audiences, func(want string) bool { return sameURL(a, want) })
	}):
		return nil, never, errors.New("the token's audience is not one the issuer is trusted for")
	}
	oid, _ := claims[x.ObjectIDClaim].(string)
	if oid == "" || len(oid) > 128 {
		return nil, never, fmt.Errorf("the token has no %s claim", x.ObjectIDClaim)
	}
	p := &Principal{ObjectID: strings.ToLower(oid), TenantID: x.TenantID, External: x.Issuer}
	if p.TenantID == "" {
		p.TenantID, _ = claims["tid"].(string)
	}
	p.Name, _ = claims[x.NameClaim].(string)
	p.AppID, _ = claims[x.AppIDClaim].(string)
	if p.AppID == "" {
		p.AppID, _ = claims["appid"].(string)
	}
	if idtyp, _ := claims["idtyp"].(string); idtyp == "user" || claims["scp"] != nil {
		p.User = true
	}
	for _, m := range audiences(claims["amr"]) {
		p.AMR = append(p.AMR, m)
	}
	for _, g := range audiences(claims[x.GroupsClaim]) {
		if len(p.Groups) < maxGroupsClaim && g != "" && len(g) <= 128 {
			p.Groups = append(p.Groups, strings.ToLower(g))
		}
	}
	// An external issuer speaks only for its own principals: a token naming
	// one of this directory's users, applications or groups (whose role
	// assignments it would inherit, an Owner's among them) is refused, and
	// local group ids in its groups claim are dropped.
	err = s.b.View(ctx, func(tx *barrier.Tx) error {
		local, err := localPrincipals(tx, append([]string{p.ObjectID}, p.Groups...))
		if err != nil {
			return err
		}
		if local[p.ObjectID] {
			return errors.New("the token's object id names a principal of this server's directory")
		}
		kept := p.Groups[:0]
		for _, g := range p.Groups {
			if !local[g] {
				kept = append(kept, g)
			}
		}
		p.Groups = kept
		return nil
	})
	if err != nil {
		return nil, never, err
	}
	return p, time.Unix(int64(exp), 0).Add(clockSkew), nil
}

// audiences reads a claim that is a string or an array of strings.
func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// unverifiedIssuer reads a token's iss without checking anything.
func unverifiedIssuer(token string) string {
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first < 0 || last <= first {
		return ""
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if decodeSegment(token[first+1:last], &c) != nil {
		return ""
	}
	return c.Issuer
}
