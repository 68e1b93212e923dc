package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/barrier"
)

// ErrNotFound is returned for an application or credential that does not
// exist.
var ErrNotFound = errors.New("not found")

// AppInfo is an application as the management API shows it: no secret
// hash, no certificate body.
type AppInfo struct {
	AppID       string           `json:"appId"`
	ObjectID    string           `json:"objectId"`
	DisplayName string           `json:"displayName"`
	Kind        string           `json:"kind"` // KindApplication or KindManagedIdentity
	Credentials []CredentialInfo `json:"credentials"`
}

// CredentialInfo describes one credential of an application.
type CredentialInfo struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`                 // "secret" or "certificate"
	Hint       string    `json:"hint,omitempty"`       // a secret's first characters
	Thumbprint string    `json:"thumbprint,omitempty"` // a certificate's SHA-1, hex
	Issuer     string    `json:"issuer,omitempty"`     // federated: the external issuer
	Subject    string    `json:"subject,omitempty"`    // federated: the external subject
	Audiences  []string  `json:"audiences,omitempty"`  // federated: accepted audiences
	Expires    time.Time `json:"expires,omitzero"`
}

// Info returns the application's public description.
func (a *App) Info() AppInfo {
	info := AppInfo{AppID: a.ClientID, ObjectID: a.ObjectID, DisplayName: a.DisplayName, Kind: KindApplication, Credentials: []CredentialInfo{}}
	if a.Kind != "" {
		info.Kind = a.Kind
	}
	for _, s := range a.Secrets {
		info.Credentials = append(info.Credentials, CredentialInfo{ID: s.ID, Type: "secret", Hint: s.Hint, Expires: s.Expires})
	}
	for _, c := range a.Certificates {
		info.Credentials = append(info.Credentials, CredentialInfo{ID: c.ID, Type: "certificate", Thumbprint: strings.ToUpper(c.SHA1), Expires: c.Expires})
	}
	for _, f := range a.Federated {
		info.Credentials = append(info.Credentials, CredentialInfo{ID: f.ID, Type: "federated", Issuer: f.Issuer, Subject: f.Subject, Audiences: f.Audiences})
	}
	return info
}

// ValidDisplayName checks an application's display name.
func ValidDisplayName(name string) bool {
	n := utf8.RuneCountInString(name)
	return n >= 1 && n <= 120 && utf8.ValidString(name) && !strings.ContainsAny(name, "\x00\r\n")
}

// ListApps returns every application, by display name.
func (s *Service) ListApps(ctx context.Context) ([]AppInfo, error) {
	var out []AppInfo
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		return tx.Scan(appPrefix, "", func(_ string, raw []byte) (bool, error) {
			var app App
			if err := json.Unmarshal(raw, &app); err != nil {
				return false, err
			}
			out = append(out, app.Info())
			return true, nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].DisplayName < out[j].DisplayName })
	return out, err
}

// PrincipalExists reports whether objectID names a principal of the
// directory: a user, a group or an application (managed identities are
// applications).
func (s *Service) PrincipalExists(ctx context.Context, objectID string) (bool, error) {
	var ok bool
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		ok, err = principalInTx(tx, strings.ToLower(objectID))
		return err
	})
	return ok, err
}

// GetApp returns one application.
func (s *Service) GetApp(ctx context.Context, clientID string) (*AppInfo, error) {
	var info AppInfo
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		app, err := getApp(tx, clientID)
		if err == nil {
			info = app.Info()
		}
		return err
	})
	return &info, notFound(err)
}

func notFound(err error) error {
	if errors.Is(err, ErrInvalidClient) {
		return ErrNotFound
	}
	return err
}

// DeleteApp removes an application; tokens it already holds stay valid
// until they expire.
func (s *Service) DeleteApp(ctx context.Context, clientID string) error {
	return notFound(s.b.Update(ctx, func(tx *barrier.Tx) error {
		app, err := getApp(tx, clientID)
		if err != nil {
			return err
		}
		if err := removeFromGroups(tx, app.ObjectID); err != nil {
			return err
		}
		return tx.Delete(appPrefix + app.ClientID)
	}))
}

// AddSecret adds a client secret to an application and returns its id
// and value, which is shown only here.
func (s *Service) AddSecret(ctx context.Context, clientID string, lifetime time.Duration) (CredentialInfo, string, error) {
	secret := newSecret()
	sum := sha256.Sum256([]byte(secret))
	h := secretHash{ID: NewGUID(), Hash: hex.EncodeToString(sum[:]), Hint: secret[:3], Expires: s.now().Add(lifetime).UTC()}
	err := s.modifyApp(ctx, clientID, func(app *App) error {
		if len(app.Secrets)+len(app.Certificates) >= maxCredentials {
			return errTooManyCredentials
		}
		app.Secrets = append(app.Secrets, h)
		return nil
	})
	return CredentialInfo{ID: h.ID, Type: "secret", Hint: h.Hint, Expires: h.Expires}, secret, err
}

// RemoveCredential removes a secret or certificate credential.
func (s *Service) RemoveCredential(ctx context.Context, clientID, credID string) error {
	return s.modifyApp(ctx, clientID, func(app *App) error {
		n := len(app.Secrets) + len(app.Certificates) + len(app.Federated)
		app.Secrets = filterCreds(app.Secrets, func(c secretHash) bool { return !strings.EqualFold(c.ID, credID) })
		app.Certificates = filterCreds(app.Certificates, func(c certCredential) bool { return !strings.EqualFold(c.ID, credID) })
		app.Federated = filterCreds(app.Federated, func(c federatedCredential) bool { return !strings.EqualFold(c.ID, credID) })
		if len(app.Secrets)+len(app.Certificates)+len(app.Federated) == n {
			return ErrNotFound
		}
		return nil
	})
}

const maxCredentials = 20

var errTooManyCredentials = errors.New("identity: an application has at most 20 credentials")

// ErrTooManyCredentials reports whether err is the credential limit.
func ErrTooManyCredentials(err error) bool { return errors.Is(err, errTooManyCredentials) }

func filterCreds[T any](list []T, keep func(T) bool) []T {
	out := list[:0]
	for _, c := range list {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// modifyApp changes a stored application in one transaction.
func (s *Service) modifyApp(ctx context.Context, clientID string, fn func(*App) error) error {
	return notFound(s.b.Update(ctx, func(tx *barrier.Tx) error {
		app, err := getApp(tx, clientID)
		if err != nil {
			return err
		}
		if err := fn(app); err != nil {
			return err
		}
		raw, err := json.Marshal(app)
		if err != nil {
			return err
		}
		return tx.Put(appPrefix+app.ClientID, raw)
	}))
}
