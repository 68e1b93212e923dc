package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// PublicClientID is the client id of keyhaven's command line, a public
// client (RFC 6749 §2.1: it has no secret): people sign in through it with
// the device-code flow or the authorization-code flow with PKCE.
const PublicClientID = "5b9a4e7c-3d21-4f6a-9c8e-1a2b3c4d5e6f"

// Lifetimes of sign-in artifacts.
const (
	DeviceCodeLifetime   = 15 * time.Minute
	DevicePollInterval   = 5 // seconds
	AuthCodeLifetime     = 5 * time.Minute
	RefreshTokenLifetime = 30 * 24 * time.Hour
)

// Storage keys of sign-in state, by the SHA-256 of the secret value (a
// device code, user code, authorization code or refresh token): the
// values themselves are never stored.
const (
	devicePrefix   = "sys/identity/login/device/"
	userCodePrefix = "sys/identity/login/usercode/"
	authCodePrefix = "sys/identity/login/code/"
	refreshPrefix  = "sys/identity/login/refresh/"
	familyPrefix   = "sys/identity/login/revoked-family/"
)

// Errors of the sign-in grants, mapped to OAuth error codes by the token
// endpoint.
var (
	ErrAuthorizationPending = errors.New("authorization_pending")
	ErrSlowDown             = errors.New("slow_down")
	ErrExpiredToken         = errors.New("expired_token")
	ErrAccessDenied         = errors.New("access_denied")
	ErrInvalidGrant         = errors.New("invalid_grant")
)

// Session is a person's sign-in as the grants carry it forward.
type Session struct {
	UserID   string   `json:"user"`
	ClientID string   `json:"client"`
	AMR      []string `json:"amr"`
	Resource string   `json:"resource,omitempty"`
	AuthTime int64    `json:"authTime"` // Unix nanoseconds of the sign-in
}

type deviceState struct {
	Session
	UserCodeKey string    `json:"userCodeKey"`
	Expires     time.Time `json:"expires"`
	Approved    bool      `json:"approved"`
	LastPoll    time.Time `json:"lastPoll,omitzero"`
}

type authCodeState struct {
	Session
	RedirectURI string    `json:"redirectUri"`
	Challenge   string    `json:"challenge"` // S256 code challenge
	Expires     time.Time `json:"expires"`
}

type refreshState struct {
	Session
	Family  string    `json:"family"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	Used    bool      `json:"used"` // rotated: presenting it again revokes the family
}

func secretKey(prefix, value string) string {
	sum := sha256.Sum256([]byte(value))
	return prefix + hex.EncodeToString(sum[:])
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCodeAlphabet has no vowels (no words) and no look-alike characters.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, userCodeAlphabet[int(c)%len(userCodeAlphabet)])
	}
	return string(out)
}

// NormalizeUserCode upper-cases a typed user code and adds its dash.
func NormalizeUserCode(code string) string {
	code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}

func putJSONValue(tx *barrier.Tx, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, raw)
}

func getJSONValue(tx *barrier.Tx, key string, v any) (bool, error) {
	raw, err := tx.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(raw, v)
}

// DeviceAuth is a started device authorization (RFC 8628).
type DeviceAuth struct {
	DeviceCode string
	UserCode   string
	ExpiresIn  int
	Interval   int
}

// StartDeviceAuth begins a device-code sign-in for resource through the
// public client.
func (s *Service) StartDeviceAuth(ctx context.Context, clientID, resource string) (*DeviceAuth, error) {
	if !strings.EqualFold(clientID, PublicClientID) {
		return nil, ErrInvalidClient
	}
	d := &DeviceAuth{DeviceCode: randomToken(32), UserCode: newUserCode(), ExpiresIn: int(DeviceCodeLifetime / time.Second), Interval: DevicePollInterval}
	st := deviceState{Session: Session{ClientID: PublicClientID, Resource: resource}, Expires: s.now().Add(DeviceCodeLifetime).UTC(),
		UserCodeKey: secretKey(userCodePrefix, d.UserCode)}
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		if err := tx.Put(st.UserCodeKey, []byte(secretKey(devicePrefix, d.DeviceCode))); err != nil {
			return err
		}
		return putJSONValue(tx, secretKey(devicePrefix, d.DeviceCode), &st)
	})
	return d, err
}

// ApproveDevice signs a person in (password and one-time code) and
// approves the pending device sign-in with userCode.
func (s *Service) ApproveDevice(ctx context.Context, userCode, upn, password, otp string) (*User, error) {
	userCode = NormalizeUserCode(userCode)
	var st deviceState
	var devKey string
	found := false
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		raw, err := tx.Get(secretKey(userCodePrefix, userCode))
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		devKey = string(raw)
		found, err = getJSONValue(tx, devKey, &st)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found || s.now().After(st.Expires) || st.Approved {
		return nil, ErrExpiredToken
	}
	u, amr, err := s.SignIn(ctx, upn, password, otp)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.b.Update(ctx, func(tx *barrier.Tx) error {
		var cur deviceState
		if ok, err := getJSONValue(tx, devKey, &cur); err != nil || !ok || cur.Approved {
			return errors.Join(err, ErrExpiredToken)
		}
		cur.Approved, cur.UserID, cur.AMR, cur.AuthTime = true, u.ObjectID, amr, now.UnixNano()
		return putJSONValue(tx, devKey, &cur)
	})
	return u, err
}

// PollDevice is the device-code grant: it returns the session once the
// person approved, exactly once.
func (s *Service) PollDevice(ctx context.Context, deviceCode, clientID string) (*Session, error) {
	if !strings.EqualFold(clientID, PublicClientID) {
		return nil, ErrInvalidClient
	}
	key := secretKey(devicePrefix, deviceCode)
	now := s.now()
	var out *Session
	var result error
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		out, result = nil, nil // the function may run more than once
		var st deviceState
		ok, err := getJSONValue(tx, key, &st)
		switch {
		case err != nil:
			return err
		case !ok:
			result = ErrExpiredToken
			return nil
		case now.After(st.Expires):
			result = ErrExpiredToken
			if err := tx.Delete(st.UserCodeKey); err != nil {
				return err
			}
			return tx.Delete(key)
		case !st.Approved:
			result = ErrAuthorizationPending
			if !st.LastPoll.IsZero() && now.Sub(st.LastPoll) < time.Duration(DevicePollInterval)*time.Second/2 {
				result = ErrSlowDown
			}
			st.LastPoll = now.UTC()
			return putJSONValue(tx, key, &st)
		}
		if err := tx.Delete(st.UserCodeKey); err != nil {
			return err
		}
		out = &st.Session
		return tx.Delete(key)
	})
	if err != nil {
		return nil, err
	}
	if result != nil {
		return nil, result
	}
	return out, nil
}

// ValidLoopbackRedirect reports whether uri is a redirect the public
// client may use: http on a loopback address with a port (RFC 8252 §7.3).
func ValidLoopbackRedirect(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Port() == "" || u.User != nil || u.Fragment != "" {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

// CreateAuthCode signs a person in and returns a single-use authorization
// code bound to the client, redirect URI and PKCE S256 challenge.
func (s *Service) CreateAuthCode(ctx context.Context, clientID, redirectURI, challenge, resource, upn, password, otp string) (string, error) {
	if !strings.EqualFold(clientID, PublicClientID) || !ValidLoopbackRedirect(redirectURI) || len(challenge) != 43 {
		return "", ErrInvalidClient
	}
	u, amr, err := s.SignIn(ctx, upn, password, otp)
	if err != nil {
		return "", err
	}
	code := randomToken(32)
	now := s.now()
	st := authCodeState{Session: Session{UserID: u.ObjectID, ClientID: PublicClientID, AMR: amr, Resource: resource, AuthTime: now.UnixNano()},
		RedirectURI: redirectURI, Challenge: challenge, Expires: now.Add(AuthCodeLifetime).UTC()}
	err = s.b.Update(ctx, func(tx *barrier.Tx) error { return putJSONValue(tx, secretKey(authCodePrefix, code), &st) })
	return code, err
}

// RedeemAuthCode is the authorization-code grant with PKCE (RFC 7636,
// S256 only). A code works once.
func (s *Service) RedeemAuthCode(ctx context.Context, code, clientID, redirectURI, verifier string) (*Session, error) {
	key := secretKey(authCodePrefix, code)
	var st authCodeState
	var found bool
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		var err error
		if found, err = getJSONValue(tx, key, &st); err != nil || !found {
			return err
		}
		return tx.Delete(key)
	})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if !found || s.now().After(st.Expires) || !strings.EqualFold(clientID, st.ClientID) || redirectURI != st.RedirectURI ||
		len(verifier) < 43 || len(verifier) > 128 || subtle.ConstantTimeCompare([]byte(challenge), []byte(st.Challenge)) != 1 {
		return nil, ErrInvalidGrant
	}
	return &st.Session, nil
}

// NewRefreshToken starts a refresh-token family for a session.
func (s *Service) NewRefreshToken(ctx context.Context, sess *Session) (string, error) {
	tok := randomToken(32)
	now := s.now()
	st := refreshState{Session: *sess, Family: NewGUID(), Issued: now.UTC(), Expires: now.Add(RefreshTokenLifetime).UTC()}
	return tok, s.b.Update(ctx, func(tx *barrier.Tx) error { return putJSONValue(tx, secretKey(refreshPrefix, tok), &st) })
}

// Refresh is the refresh-token grant. The token is rotated: the new one
// replaces it, and presenting a rotated token again (a sign of theft)
// revokes its whole family. Tokens issued before the user's
// SessionsValidAfter, or of a deleted user, are refused.
func (s *Service) Refresh(ctx context.Context, token, clientID string) (*Session, *User, string, error) {
	key := secretKey(refreshPrefix, token)
	now := s.now()
	next := randomToken(32)
	var sess Session
	var user *User
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		var st refreshState
		ok, err := getJSONValue(tx, key, &st)
		if err != nil {
			return err
		}
		if !ok || now.After(st.Expires) || !strings.EqualFold(clientID, st.ClientID) {
			return ErrInvalidGrant
		}
		if _, err := tx.Get(familyPrefix + st.Family); err == nil {
			return ErrInvalidGrant
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if st.Used {
			return errReuse{family: st.Family}
		}
		u, err := getUser(tx, st.UserID)
		if errors.Is(err, ErrNotFound) || (err == nil && st.Issued.Before(u.SessionsValidAfter)) {
			return ErrInvalidGrant
		}
		if err != nil {
			return err
		}
		st.Used = true
		if err := putJSONValue(tx, key, &st); err != nil {
			return err
		}
		fresh := st
		fresh.Used, fresh.Issued = false, now.UTC()
		sess, user = st.Session, u
		return putJSONValue(tx, secretKey(refreshPrefix, next), &fresh)
	})
	var reuse errReuse
	if errors.As(err, &reuse) {
		_ = s.b.Update(ctx, func(tx *barrier.Tx) error {
			return tx.Put(familyPrefix+reuse.family, []byte(now.UTC().Format(time.RFC3339)))
		})
		return nil, nil, "", ErrInvalidGrant
	}
	if err != nil {
		return nil, nil, "", err
	}
	return &sess, user, next, nil
}

type errReuse struct{ family string }

func (e errReuse) Error() string { return "refresh token reused" }

// RevokeRefreshToken revokes the family of a refresh token (sign-out).
// Unknown tokens are ignored, as RFC 7009 asks.
func (s *Service) RevokeRefreshToken(ctx context.Context, token string) error {
	key := secretKey(refreshPrefix, token)
	return s.b.Update(ctx, func(tx *barrier.Tx) error {
		var st refreshState
		ok, err := getJSONValue(tx, key, &st)
		if err != nil || !ok {
			return err
		}
		if err := tx.Put(familyPrefix+st.Family, []byte(s.now().UTC().Format(time.RFC3339))); err != nil {
			return err
		}
		return tx.Delete(key)
	})
}

// UserByID returns a user (for issuing a signed-in person's tokens).
func (s *Service) UserByID(ctx context.Context, objectID string) (*User, error) {
	var u *User
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		u, err = getUser(tx, objectID)
		return err
	})
	return u, err
}

// SweepLogins deletes sign-in state that can no longer be used: expired
// device codes (and their user codes), expired authorization codes,
// expired refresh tokens, and revoked-family markers older than any token
// of the family can be. It returns how many entries went.
func (s *Service) SweepLogins(ctx context.Context, now time.Time) (int, error) {
	type sweep struct {
		prefix string
		gone   func(raw []byte) (bool, []string)
	}
	expired := func(raw []byte, v interface{ expiry() time.Time }) bool {
		return json.Unmarshal(raw, v) == nil && now.After(v.expiry())
	}
	sweeps := []sweep{
		{devicePrefix, func(raw []byte) (bool, []string) {
			var st deviceState
			return expired(raw, &st), []string{st.UserCodeKey}
		}},
		{authCodePrefix, func(raw []byte) (bool, []string) {
			var st authCodeState
			return expired(raw, &st), nil
		}},
		{refreshPrefix, func(raw []byte) (bool, []string) {
			var st refreshState
			return expired(raw, &st), nil
		}},
		{familyPrefix, func(raw []byte) (bool, []string) {
			at, err := time.Parse(time.RFC3339, string(raw))
			return err == nil && now.Sub(at) > RefreshTokenLifetime, nil
		}},
	}
	n := 0
	for _, sw := range sweeps {
		var doomed []string
		err := s.b.View(ctx, func(tx *barrier.Tx) error {
			return tx.Scan(sw.prefix, "", func(key string, raw []byte) (bool, error) {
				if gone, also := sw.gone(raw); gone {
					doomed = append(doomed, key)
					for _, k := range also {
						if k != "" {
							doomed = append(doomed, k)
						}
					}
				}
				return len(doomed) < 10_000, nil
			})
		})
		if err != nil {
			return n, err
		}
		if len(doomed) == 0 {
			continue
		}
		if err := s.b.Update(ctx, func(tx *barrier.Tx) error {
			for _, k := range doomed {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return n, err
		}
		n += len(doomed)
	}
	return n, nil
}

func (st *deviceState) expiry() time.Time   { return st.Expires }
func (st *authCodeState) expiry() time.Time { return st.Expires }
func (st *refreshState) expiry() time.Time  { return st.Expires }
