package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// Storage keys of people and groups (inside the barrier, under the root key).
const (
	userPrefix  = "sys/identity/users/"  // by object id
	upnPrefix   = "sys/identity/upn/"    // lower-case UPN -> object id
	groupPrefix = "sys/identity/groups/" // by object id
)

// User is a person who signs in with a password and, when enrolled, a
// time-based one-time password (TOTP, RFC 6238) as second factor.
type User struct {
	ObjectID    string       `json:"objectId"`
	UPN         string       `json:"userPrincipalName"`
	DisplayName string       `json:"displayName"`
	Password    passwordHash `json:"password"`
	TOTP        *totpState   `json:"totp,omitempty"`
	Created     time.Time    `json:"created"`
	// SessionsValidAfter revokes every refresh token issued before it.
	SessionsValidAfter time.Time `json:"sessionsValidAfter,omitzero"`
}

// passwordHash is an Argon2id hash (RFC 9106) with its parameters.
type passwordHash struct {
	Salt    []byte `json:"salt"`
	Hash    []byte `json:"hash"`
	Time    uint32 `json:"t"`
	Memory  uint32 `json:"m"` // KiB
	Threads uint8  `json:"p"`
}

type totpState struct {
	Secret      []byte `json:"secret"`
	LastCounter int64  `json:"lastCounter"` // the last accepted time step: codes are single-use
}

// UserInfo is a user as the management API shows it.
type UserInfo struct {
	ObjectID    string    `json:"objectId"`
	UPN         string    `json:"userPrincipalName"`
	DisplayName string    `json:"displayName"`
	MFA         bool      `json:"mfaEnrolled"`
	Created     time.Time `json:"createdDateTime"`
}

// Info returns the user's public description.
func (u *User) Info() UserInfo {
	return UserInfo{ObjectID: u.ObjectID, UPN: u.UPN, DisplayName: u.DisplayName, MFA: u.TOTP != nil, Created: u.Created}
}

// Argon2id parameters for passwords: RFC 9106's second recommendation
// (64 MiB, 3 passes), with two lanes for this kind of small server.
const (
	pwTime    = 3
	pwMemory  = 64 << 10
	pwThreads = 2
	pwMinLen  = 12
	pwMaxLen  = 256
)

// pwSlots bounds concurrent password hashes (64 MiB each), so a burst of
// sign-ins cannot exhaust memory.
var pwSlots = make(chan struct{}, max(1, runtime.NumCPU()))

func hashPassword(password string, salt []byte, t, m uint32, p uint8) []byte {
	pwSlots <- struct{}{}
	defer func() { <-pwSlots }()
	return argon2.IDKey([]byte(password), salt, t, m, p, 32)
}

func newPasswordHash(password string) passwordHash {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	return passwordHash{Salt: salt, Hash: hashPassword(password, salt, pwTime, pwMemory, pwThreads),
		Time: pwTime, Memory: pwMemory, Threads: pwThreads}
}

func (h passwordHash) check(password string) bool {
	if len(h.Hash) == 0 {
		return false
	}
	got := hashPassword(password, h.Salt, h.Time, h.Memory, h.Threads)
	return subtle.ConstantTimeCompare(got, h.Hash) == 1
}

// dummyHash is checked against when a user does not exist, so a sign-in
// takes as long for an unknown name as for a wrong password.
var dummyHash = passwordHash{Salt: make([]byte, 16), Hash: make([]byte, 32), Time: pwTime, Memory: pwMemory, Threads: pwThreads}

// Errors of user management and sign-in.
var (
	ErrWeakPassword  = fmt.Errorf("the password must have %d to %d characters", pwMinLen, pwMaxLen)
	ErrInvalidUPN    = errors.New("the user principal name must look like name@domain (at most 113 characters, no spaces)")
	ErrUPNTaken      = errors.New("a user with this user principal name exists")
	ErrInvalidLogin  = errors.New("wrong user name, password or one-time code")
	ErrOTPRequired   = errors.New("a one-time code is required")
	ErrMemberMissing = errors.New("the member is not a principal of this directory")
	ErrDisplayName   = errors.New("the display name must have 1 to 120 characters without line breaks")
	ErrGroupNesting  = errors.New("groups do not nest: a group cannot be a member of a group")
	ErrGroupFull     = errors.New("the group has the most members a group can have")
)

// ValidPassword checks a new password's length (NIST SP 800-63B: length,
// not composition rules).
func ValidPassword(p string) bool {
	n := utf8.RuneCountInString(p)
	return utf8.ValidString(p) && n >= pwMinLen && len(p) <= pwMaxLen
}

// ValidUPN checks a user principal name.
func ValidUPN(upn string) bool {
	local, domain, ok := strings.Cut(upn, "@")
	return ok && len(upn) <= 113 && local != "" && domain != "" && !strings.ContainsAny(upn, " \t\r\n\x00/\\\"<>") &&
		!strings.Contains(domain, "@") && utf8.ValidString(upn)
}

// CreateUser adds a person. With totp, a second factor is enrolled and its
// provisioning URI (otpauth://, for an authenticator app) returned once.
func (s *Service) CreateUser(ctx context.Context, upn, displayName, password string, totp bool) (*UserInfo, string, error) {
	switch {
	case !ValidUPN(upn):
		return nil, "", ErrInvalidUPN
	case !ValidPassword(password):
		return nil, "", ErrWeakPassword
	}
	if displayName == "" {
		displayName = upn
	}
	if !ValidDisplayName(displayName) {
		return nil, "", ErrDisplayName
	}
	u := &User{ObjectID: NewGUID(), UPN: upn, DisplayName: displayName, Password: newPasswordHash(password), Created: s.now().UTC()}
	var uri string
	if totp {
		u.TOTP, uri = newTOTP(upn)
	}
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		if _, err := tx.Get(upnPrefix + strings.ToLower(upn)); err == nil {
			return ErrUPNTaken
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := tx.Put(upnPrefix+strings.ToLower(upn), []byte(u.ObjectID)); err != nil {
			return err
		}
		return putUser(tx, u)
	})
	if err != nil {
		return nil, "", err
	}
	info := u.Info()
	return &info, uri, nil
}

func putUser(tx *barrier.Tx, u *User) error {
	raw, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return tx.Put(userPrefix+u.ObjectID, raw)
}

func getUser(tx *barrier.Tx, objectID string) (*User, error) {
	raw, err := tx.Get(userPrefix + strings.ToLower(objectID))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var u User
	return &u, json.Unmarshal(raw, &u)
}

// lookupUser finds a user by object id or user principal name.
func lookupUser(tx *barrier.Tx, idOrUPN string) (*User, error) {
	if strings.Contains(idOrUPN, "@") {
		raw, err := tx.Get(upnPrefix + strings.ToLower(idOrUPN))
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		idOrUPN = string(raw)
	}
	return getUser(tx, idOrUPN)
}

// ListUsers returns every user, by user principal name.
func (s *Service) ListUsers(ctx context.Context) ([]UserInfo, error) {
	out := []UserInfo{}
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		return tx.Scan(userPrefix, "", func(_ string, raw []byte) (bool, error) {
			var u User
			if err := json.Unmarshal(raw, &u); err != nil {
				return false, err
			}
			out = append(out, u.Info())
			return true, nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].UPN < out[j].UPN })
	return out, err
}

// GetUser returns one user by object id or user principal name.
func (s *Service) GetUser(ctx context.Context, idOrUPN string) (*UserInfo, error) {
	var info UserInfo
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		u, err := lookupUser(tx, idOrUPN)
		if err == nil {
			info = u.Info()
		}
		return err
	})
	return &info, err
}

// DeleteUser removes a user and its group memberships; its refresh tokens
// stop working at once, its access tokens when they expire.
func (s *Service) DeleteUser(ctx context.Context, idOrUPN string) error {
	return s.b.Update(ctx, func(tx *barrier.Tx) error {
		u, err := lookupUser(tx, idOrUPN)
		if err != nil {
			return err
		}
		if err := removeFromGroups(tx, u.ObjectID); err != nil {
			return err
		}
		if err := tx.Delete(upnPrefix + strings.ToLower(u.UPN)); err != nil {
			return err
		}
		return tx.Delete(userPrefix + u.ObjectID)
	})
}

// modifyUser changes a user in one transaction.
func (s *Service) modifyUser(ctx context.Context, idOrUPN string, fn func(*User) error) (*User, error) {
	var out *User
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		u, err := lookupUser(tx, idOrUPN)
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
		out = u
		return putUser(tx, u)
	})
	return out, err
}

// SetPassword replaces a user's password and signs the user out
// everywhere.
func (s *Service) SetPassword(ctx context.Context, idOrUPN, password string) error {
	if !ValidPassword(password) {
		return ErrWeakPassword
	}
	h := newPasswordHash(password)
	now := s.now().UTC()
	_, err := s.modifyUser(ctx, idOrUPN, func(u *User) error {
		u.Password, u.SessionsValidAfter = h, now
		return nil
	})
	return err
}

// EnrollTOTP gives a user a new TOTP secret (replacing any) and returns
// its provisioning URI, shown only here.
func (s *Service) EnrollTOTP(ctx context.Context, idOrUPN string) (string, error) {
	var uri string
	_, err := s.modifyUser(ctx, idOrUPN, func(u *User) error {
		u.TOTP, uri = newTOTP(u.UPN)
		return nil
	})
	return uri, err
}

// RemoveTOTP removes a user's second factor.
func (s *Service) RemoveTOTP(ctx context.Context, idOrUPN string) error {
	_, err := s.modifyUser(ctx, idOrUPN, func(u *User) error {
		u.TOTP = nil
		return nil
	})
	return err
}

// RevokeSessions makes every refresh token of the user unusable.
func (s *Service) RevokeSessions(ctx context.Context, idOrUPN string) error {
	now := s.now().UTC()
	_, err := s.modifyUser(ctx, idOrUPN, func(u *User) error {
		u.SessionsValidAfter = now
		return nil
	})
	return err
}

// SignIn checks a user's password and, when the user is enrolled, a TOTP
// code (each code is accepted once). It returns the user and the
// authentication methods used ("pwd", plus "otp" and "mfa").
func (s *Service) SignIn(ctx context.Context, upn, password, otp string) (*User, []string, error) {
	var u *User
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		u, err = lookupUser(tx, upn)
		return err
	})
	if errors.Is(err, ErrNotFound) || !strings.Contains(upn, "@") {
		dummyHash.check(password)
		return nil, nil, ErrInvalidLogin
	}
	if err != nil {
		return nil, nil, err
	}
	if !u.Password.check(password) {
		return nil, nil, ErrInvalidLogin
	}
	amr := []string{"pwd"}
	if u.TOTP == nil {
		return u, amr, nil
	}
	if otp == "" {
		return nil, nil, ErrOTPRequired
	}
	now := s.now()
	_, err = s.modifyUser(ctx, u.ObjectID, func(cur *User) error {
		if cur.TOTP == nil {
			return nil
		}
		step, ok := cur.TOTP.verify(otp, now)
		if !ok {
			return ErrInvalidLogin
		}
		cur.TOTP.LastCounter = step
		u = cur
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return u, append(amr, "otp", "mfa"), nil
}

// TOTP (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, one step of clock
// drift either way; a code whose step is not after the last accepted one
// is refused, so a code cannot be replayed.
const (
	totpStep   = 30
	totpDigits = 6
	totpIssuer = "keyhaven"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func newTOTP(account string) (*totpState, string) {
	secret := make([]byte, 20)
	_, _ = rand.Read(secret)
	q := url.Values{"secret": {b32.EncodeToString(secret)}, "issuer": {totpIssuer}, "algorithm": {"SHA1"},
		"digits": {fmt.Sprint(totpDigits)}, "period": {fmt.Sprint(totpStep)}}
	uri := "otpauth://totp/" + url.PathEscape(totpIssuer+":"+account) + "?" + q.Encode()
	return &totpState{Secret: secret}, uri
}

// TOTPCode returns the code of secret (base32, as in the provisioning
// URI) at t; for clients and tests.
func TOTPCode(secretB32 string, t time.Time) (string, error) {
	secret, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(secretB32, "=")))
	if err != nil {
		return "", err
	}
	return hotp(secret, t.Unix()/totpStep), nil
}

func hotp(secret []byte, counter int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1000000)
}

func (t *totpState) verify(code string, now time.Time) (int64, bool) {
	if len(code) != totpDigits {
		return 0, false
	}
	cur := now.Unix() / totpStep
	found, step := 0, int64(0)
	for _, c := range []int64{cur - 1, cur, cur + 1} {
		if subtle.ConstantTimeCompare([]byte(hotp(t.Secret, c)), []byte(code)) == 1 && c > t.LastCounter {
			found, step = 1, c
		}
	}
	return step, found == 1
}
