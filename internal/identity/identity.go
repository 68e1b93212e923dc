// Package identity is keyhaven's token authority: the tenant, the
// applications (service principals) and their client secrets, the RSA keys
// that sign access tokens, the client-credentials grant, and the validation
// of access tokens on the data plane.
//
// Guarantees:
//   - Client secrets are stored only as SHA-256 hashes (they are 256-bit
//     random values, so a slow hash adds nothing) and compared in constant time.
//   - Signing keys are stored inside the barrier, so encrypted at rest.
//   - Tokens are RS256 JWTs; validation accepts only RS256 signed by one of
//     this server's keys, and checks issuer, audience, expiry and not-before
//     (with a small clock skew allowance).
package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// Principal is an authenticated caller.
type Principal struct {
	TenantID string
	ObjectID string
	AppID    string // the application the token was issued to
	Name     string
	// User is set when the caller is a person (signed in through AppID,
	// a public client): compound identity in access-policy terms.
	User bool
	// AMR lists how a person authenticated ("pwd", "otp", "mfa").
	AMR []string
	// Groups are the caller's groups (object ids), from the token.
	Groups []string
	// External is the trusted external issuer of the caller's token, empty
	// for tokens of this authority.
	External string
}

// IDs returns the object ids authorization matches: the caller's and its
// groups'.
func (p *Principal) IDs() []string {
	if len(p.Groups) == 0 {
		return []string{p.ObjectID}
	}
	return append([]string{p.ObjectID}, p.Groups...)
}

// MFA reports whether a person signed in with a second factor.
func (p *Principal) MFA() bool {
	for _, m := range p.AMR {
		if m == "mfa" {
			return true
		}
	}
	return false
}

// App is an application (service principal) that can get tokens with the
// client-credentials grant.
type App struct {
	ClientID    string       `json:"clientId"`
	ObjectID    string       `json:"objectId"`
	DisplayName string       `json:"displayName"`
	Secrets     []secretHash `json:"secrets"`
	// Certificates are certificate credentials: public certificates whose
	// keys sign client assertions.
	Certificates []certCredential `json:"certificates,omitempty"`
	// Federated are trusted external identities (issuer, subject, audience).
	Federated []federatedCredential `json:"federated,omitempty"`
	// Kind is KindManagedIdentity for a workload identity served by
	// keyhaven agent; empty for an application registration.
	Kind string `json:"kind,omitempty"`
}

// Kinds of service principal.
const (
	KindApplication     = "Application"
	KindManagedIdentity = "ManagedIdentity"
)

type secretHash struct {
	ID      string    `json:"id"`
	Hash    string    `json:"hash"` // hex SHA-256
	Hint    string    `json:"hint"` // first 3 characters, as Entra ID shows
	Expires time.Time `json:"expires"`
}

type signingKey struct {
	Kid     string    `json:"kid"`
	DER     []byte    `json:"der"` // PKCS#8
	Created time.Time `json:"created"`
	priv    *rsa.PrivateKey
}

// Storage keys (inside the barrier, under the root key).
const (
	tenantKey = "sys/identity/tenant"
	keysKey   = "sys/identity/signing-keys"
	appPrefix = "sys/identity/apps/"
)

// Errors the token endpoint maps to OAuth error codes.
var (
	ErrInvalidClient = errors.New("invalid client credentials")
	ErrInvalidToken  = errors.New("invalid token")
)

// Service is the token authority.
type Service struct {
	b        *barrier.Barrier
	now      func() time.Time
	lifetime time.Duration

	mu       sync.RWMutex
	tenantID string
	keys     []*signingKey

	cache    tokenCache[*Claims]
	extCache tokenCache[*Principal] // verified tokens of external issuers
	// gen changes whenever what validates a token changes (tenant, signing
	// keys): answers remembered outside the service carry the generation
	// they were given in (Generation).
	gen     atomic.Uint64
	replays replayCache

	issuerKeys issuerKeyCache
	oidcClient *http.Client // fetches external issuers' discovery and keys
	external   externalSet  // trusted external issuers of access tokens
}

// New returns the authority over b. Call Load after the barrier is unsealed.
func New(b *barrier.Barrier, now func() time.Time, lifetime time.Duration) *Service {
	return &Service{b: b, now: now, lifetime: lifetime, cache: newTokenCache[*Claims](8192), extCache: newTokenCache[*Principal](8192),
		oidcClient: &http.Client{Timeout: 10 * time.Second}}
}

// SetOIDCClient replaces the HTTP client that fetches external issuers'
// discovery documents and keys (to trust a private CA).
func (s *Service) SetOIDCClient(c *http.Client) { s.oidcClient = c }

// TenantID returns the server's tenant id.
func (s *Service) TenantID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tenantID
}

// Load reads (or on first start creates) the tenant id and signing key.
// configuredTenant, when set, is used on first start and must match later.
func (s *Service) Load(ctx context.Context, configuredTenant string) error {
	var tenant string
	var keys []*signingKey
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		var err error
		if tenant, err = loadOrCreateTenant(tx, configuredTenant); err != nil {
			return err
		}
		keys, err = loadOrCreateKeys(tx, s.now())
		return err
	})
	if err != nil {
		return err
	}
	// Published only once committed: the function above may run twice.
	s.mu.Lock()
	s.tenantID, s.keys = tenant, keys
	s.gen.Add(1)
	s.mu.Unlock()
	return nil
}

func loadOrCreateTenant(tx *barrier.Tx, configured string) (string, error) {
	raw, err := tx.Get(tenantKey)
	if err == nil {
		stored := string(raw)
		if configured != "" && !strings.EqualFold(configured, stored) {
			return "", fmt.Errorf("identity: configured tenant id %s differs from the stored tenant id %s", configured, stored)
		}
		return stored, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	tenant := strings.ToLower(configured)
	if tenant == "" {
		tenant = NewGUID()
	}
	return tenant, tx.Put(tenantKey, []byte(tenant))
}

func loadOrCreateKeys(tx *barrier.Tx, now time.Time) ([]*signingKey, error) {
	var keys []*signingKey
	raw, err := tx.Get(keysKey)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &keys); err != nil {
			return nil, fmt.Errorf("identity: decode signing keys: %w", err)
		}
	case errors.Is(err, storage.ErrNotFound):
		k, err := newSigningKey(now)
		if err != nil {
			return nil, err
		}
		keys = []*signingKey{k}
		raw, _ := json.Marshal(keys)
		if err := tx.Put(keysKey, raw); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	for _, k := range keys {
		p, err := x509.ParsePKCS8PrivateKey(k.DER)
		if err != nil {
			return nil, fmt.Errorf("identity: parse signing key: %w", err)
		}
		rk, ok := p.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("identity: signing key is not RSA")
		}
		k.priv = rk
	}
	return keys, nil
}

func newSigningKey(now time.Time) (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pub, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	sum := sha256.Sum256(pub)
	return &signingKey{Kid: base64.RawURLEncoding.EncodeToString(sum[:12]), DER: der, Created: now.UTC(), priv: priv}, nil
}

// CreateApp registers an application and returns it with a new client
// secret, which is shown only here.
func (s *Service) CreateApp(ctx context.Context, displayName string, secretLifetime time.Duration) (*App, string, error) {
	return s.createApp(ctx, displayName, secretLifetime, "")
}

// CreateManagedIdentity registers a managed identity: a service principal
// whose credential (returned once) belongs in the configuration of the
// keyhaven agent that serves the workload, never in the workload.
func (s *Service) CreateManagedIdentity(ctx context.Context, displayName string, secretLifetime time.Duration) (*App, string, error) {
	return s.createApp(ctx, displayName, secretLifetime, KindManagedIdentity)
}

func (s *Service) createApp(ctx context.Context, displayName string, secretLifetime time.Duration, kind string) (*App, string, error) {
	secret := newSecret()
	sum := sha256.Sum256([]byte(secret))
	app := &App{ClientID: NewGUID(), ObjectID: NewGUID(), DisplayName: displayName, Kind: kind,
		Secrets: []secretHash{{ID: NewGUID(), Hash: hex.EncodeToString(sum[:]), Hint: secret[:3], Expires: s.now().Add(secretLifetime).UTC()}}}
	raw, err := json.Marshal(app)
	if err != nil {
		return nil, "", err
	}
	err = s.b.Update(ctx, func(tx *barrier.Tx) error { return tx.Put(appPrefix+app.ClientID, raw) })
	if err != nil {
		return nil, "", err
	}
	return app, secret, nil
}

// Authenticate checks a client id and secret and returns the application.
func (s *Service) Authenticate(ctx context.Context, clientID, secret string) (*App, error) {
	var app *App
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		app, err = getApp(tx, clientID)
		return err
	})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(secret))
	now := s.now()
	ok := 0
	for _, c := range app.Secrets {
		want, _ := hex.DecodeString(c.Hash)
		if subtle.ConstantTimeCompare(want, sum[:]) == 1 && now.Before(c.Expires) {
			ok = 1
		}
	}
	if ok == 0 {
		return nil, ErrInvalidClient
	}
	return app, nil
}

// NewGUID returns a random (version 4) GUID in lower case.
func NewGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
