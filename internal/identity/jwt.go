package identity

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Claims are the access-token claims keyhaven issues and reads. They follow
// Entra ID's access tokens (v1 and v2 shapes share these names).
type Claims struct {
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	Subject   string `json:"sub"`
	TenantID  string `json:"tid"`
	ObjectID  string `json:"oid"`
	AppID     string `json:"appid,omitempty"`
	AZP       string `json:"azp,omitempty"`
	IDType    string `json:"idtyp,omitempty"`
	Version   string `json:"ver,omitempty"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expires   int64  `json:"exp"`
	TokenID   string `json:"uti,omitempty"`
	// People: the sign-in name, the authentication methods ("pwd", "otp",
	// "mfa") and the delegated scope.
	UPN   string   `json:"upn,omitempty"`
	Name  string   `json:"name,omitempty"`
	AMR   []string `json:"amr,omitempty"`
	Scope string   `json:"scp,omitempty"`
	// Groups are the caller's group object ids (at most maxGroupsClaim).
	Groups []string `json:"groups,omitempty"`
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

var b64 = base64.RawURLEncoding

var errMalformed = errors.New("malformed token")

// signRS256 returns a compact JWS (RS256) of claims.
func signRS256(key *rsa.PrivateKey, kid string, c *Claims) (string, error) {
	h, err := json.Marshal(jwtHeader{Alg: "RS256", Typ: "JWT", Kid: kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64.EncodeToString(sig), nil
}

// verifyRS256 checks the token's signature with the key its kid names and
// returns its claims. Only RS256 is accepted: the algorithm is never taken
// from the token on trust.
func verifyRS256(token string, keyFor func(kid string) *rsa.PublicKey) (*Claims, error) {
	if len(token) > 16<<10 {
		return nil, errMalformed
	}
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first < 0 || last == first {
		return nil, errMalformed
	}
	var h jwtHeader
	if err := decodeSegment(token[:first], &h); err != nil {
		return nil, errMalformed
	}
	if h.Alg != "RS256" {
		return nil, errors.New("unsupported token algorithm")
	}
	pub := keyFor(h.Kid)
	if pub == nil {
		return nil, errors.New("token signed by an unknown key")
	}
	sig, err := b64.DecodeString(token[last+1:])
	if err != nil {
		return nil, errMalformed
	}
	sum := sha256.Sum256([]byte(token[:last]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, errors.New("invalid token signature")
	}
	var c Claims
	if err := decodeSegment(token[first+1:last], &c); err != nil {
		return nil, errMalformed
	}
	return &c, nil
}

func decodeSegment(seg string, dst any) error {
	raw, err := b64.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, dst)
}
