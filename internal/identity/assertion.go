package identity

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// certCredential is an application's certificate credential: only the
// public certificate is kept.
type certCredential struct {
	ID      string    `json:"id"`
	DER     []byte    `json:"der"`
	SHA1    string    `json:"sha1"`   // hex thumbprint (x5t)
	SHA256  string    `json:"sha256"` // hex thumbprint (x5t#S256)
	Expires time.Time `json:"expires"`
}

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLifetime bounds how far in the future an assertion may
// expire, which also bounds the replay cache.
const maxAssertionLifetime = time.Hour

// AddCertificate adds a certificate credential (an RSA certificate, DER)
// to an application and returns the credential's id. The credential
// expires with the certificate.
func (s *Service) AddCertificate(ctx context.Context, clientID string, der []byte) (string, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", fmt.Errorf("identity: the credential is not a DER certificate: %w", err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return "", errors.New("identity: certificate credentials must hold RSA keys (client assertions are RS256 or PS256)")
	}
	s1, s2 := sha1.Sum(der), sha256.Sum256(der)
	cred := certCredential{ID: NewGUID(), DER: der, SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s2[:]), Expires: cert.NotAfter.UTC()}
	err = s.modifyApp(ctx, clientID, func(app *App) error {
		if len(app.Secrets)+len(app.Certificates) >= maxCredentials {
			return errTooManyCredentials
		}
		app.Certificates = append(app.Certificates, cred)
		return nil
	})
	return cred.ID, err
}

// lookupApp reads an application in its own transaction.
func (s *Service) lookupApp(ctx context.Context, clientID string) (*App, error) {
	var app *App
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		app, err = getApp(tx, clientID)
		return err
	})
	return app, err
}

func getApp(tx *barrier.Tx, clientID string) (*App, error) {
	raw, err := tx.Get(appPrefix + strings.ToLower(clientID))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrInvalidClient
	}
	if err != nil {
		return nil, err
	}
	var app App
	return &app, json.Unmarshal(raw, &app)
}

type assertionHeader struct {
	Alg     string `json:"alg"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

type assertionClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	Expires   int64           `json:"exp"`
	NotBefore int64           `json:"nbf"`
	ID        string          `json:"jti"`
}

// AuthenticateAssertion checks a client assertion, the JWT a certificate
// credential signs (what azidentity's ClientCertificateCredential sends):
// RS256 with x5t, or PS256 with x5t#S256, naming a certificate of the
// application; iss and sub are the client id, aud is tokenEndpoint, exp and
// nbf hold, and its jti is never accepted twice.
func (s *Service) AuthenticateAssertion(ctx context.Context, clientID, assertion, tokenEndpoint string) (*App, error) {
	h, c, signed, sig, err := parseAssertion(assertion)
	if err != nil {
		return nil, err
	}
	if h.X5t == "" && h.X5tS256 == "" && c.Issuer != clientID {
		// Not signed by a certificate credential: a token of an external
		// issuer, for a federated credential.
		if clientID == "" {
			return nil, fmt.Errorf("%w: a federated token needs client_id", ErrInvalidClient)
		}
		return s.authenticateFederated(ctx, clientID, assertion)
	}
	if clientID == "" {
		clientID = c.Issuer
	}
	if c.Issuer != clientID || c.Subject != clientID || !audienceIs(c.Audience, tokenEndpoint) {
		return nil, fmt.Errorf("%w: iss, sub or aud do not match", ErrInvalidClient)
	}
	now := s.now()
	if c.ID == "" || c.Expires == 0 || now.Add(-clockSkew).Unix() >= c.Expires || c.NotBefore > now.Add(clockSkew).Unix() ||
		c.Expires > now.Add(maxAssertionLifetime).Unix() {
		return nil, fmt.Errorf("%w: the assertion is expired, not yet valid, too long-lived or has no jti", ErrInvalidClient)
	}
	app, cert, err := s.assertionCert(ctx, clientID, h, now)
	if err != nil {
		return nil, err
	}
	if err := verifyAssertionSignature(h.Alg, cert.PublicKey.(*rsa.PublicKey), signed, sig); err != nil {
		return nil, err
	}
	if !s.replays.first(clientID+"\x00"+c.ID, time.Unix(c.Expires, 0), now) {
		return nil, fmt.Errorf("%w: the assertion was already used", ErrInvalidClient)
	}
	return app, nil
}

func parseAssertion(token string) (h assertionHeader, c assertionClaims, signed string, sig []byte, err error) {
	bad := fmt.Errorf("%w: malformed client assertion", ErrInvalidClient)
	if len(token) > 16<<10 {
		return h, c, "", nil, bad
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || decodeSegment(parts[0], &h) != nil || decodeSegment(parts[1], &c) != nil {
		return h, c, "", nil, bad
	}
	if sig, err = b64.DecodeString(parts[2]); err != nil {
		return h, c, "", nil, bad
	}
	return h, c, parts[0] + "." + parts[1], sig, nil
}

func audienceIs(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return sameURL(one, want)
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil || len(many) != 1 {
		return false
	}
	return sameURL(many[0], want)
}

func sameURL(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}

// assertionCert finds the unexpired certificate credential the header's
// thumbprint names.
func (s *Service) assertionCert(ctx context.Context, clientID string, h assertionHeader, now time.Time) (*App, *x509.Certificate, error) {
	app, err := s.lookupApp(ctx, clientID)
	if err != nil {
		return nil, nil, err
	}
	want, field := h.X5tS256, "sha256"
	if h.Alg == "RS256" && h.X5t != "" {
		want, field = h.X5t, "sha1"
	}
	thumb, ok := decodeThumbprint(want)
	if !ok {
		return nil, nil, fmt.Errorf("%w: the assertion names no certificate (x5t or x5t#S256)", ErrInvalidClient)
	}
	for _, cred := range app.Certificates {
		stored := cred.SHA256
		if field == "sha1" {
			stored = cred.SHA1
		}
		got, _ := hex.DecodeString(stored)
		if subtle.ConstantTimeCompare(got, thumb) == 1 && now.Before(cred.Expires) {
			cert, err := x509.ParseCertificate(cred.DER)
			return app, cert, err
		}
	}
	return nil, nil, fmt.Errorf("%w: no valid certificate credential matches the assertion", ErrInvalidClient)
}

// decodeThumbprint reads x5t values, which MSAL writes in standard base64
// and RFC 7515 in base64url.
func decodeThumbprint(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && (len(b) == sha1.Size || len(b) == sha256.Size) {
			return b, true
		}
	}
	return nil, false
}

func verifyAssertionSignature(alg string, pub *rsa.PublicKey, signed string, sig []byte) error {
	sum := sha256.Sum256([]byte(signed))
	var err error
	switch alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return fmt.Errorf("%w: client assertions must be RS256 or PS256", ErrInvalidClient)
	}
	if err != nil {
		return fmt.Errorf("%w: invalid client assertion signature", ErrInvalidClient)
	}
	return nil
}

// replayCache remembers the assertions already used until they expire.
type replayCache struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	sweep int // size at which expired entries are dropped next
}

// first records key until exp and reports whether it was new. Expired
// entries are dropped as the cache grows.
func (r *replayCache) first(key string, exp, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]time.Time{}
	}
	if until, ok := r.seen[key]; ok && now.Before(until.Add(clockSkew)) {
		return false
	}
	if len(r.seen) >= r.sweep {
		for k, until := range r.seen {
			if !now.Before(until.Add(clockSkew)) {
				delete(r.seen, k)
			}
		}
		r.sweep = max(1024, 2*len(r.seen)) // amortized: each sweep pays for the entries added since
	}
	r.seen[key] = exp
	return true
}
