package bundle

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"strings"
	"testing"
)

var (
	oidPBKDF2t   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBES2t    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidAES256t   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidHS256t    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidDatat     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidShroudedt = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
)

func derOf(t *testing.T, v any, params ...string) []byte {
	var b []byte
	var err error
	if len(params) > 0 {
		b, err = asn1.MarshalWithParams(v, params[0])
	} else {
		b, err = asn1.Marshal(v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func costlyPFX(t *testing.T, iters int, badTag bool) string {
	type kdfp struct {
		Salt       []byte
		Iterations int
		KeyLength  int `asn1:"optional"`
		Prf        pkix.AlgorithmIdentifier
	}
	kdf := kdfp{Salt: make([]byte, 8), Iterations: iters, Prf: pkix.AlgorithmIdentifier{Algorithm: oidHS256t, Parameters: asn1.NullRawValue}}
	type pbes2 struct {
		Kdf pkix.AlgorithmIdentifier
		Enc pkix.AlgorithmIdentifier
	}
	iv := derOf(t, make([]byte, 16))
	p := pbes2{Kdf: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2t, Parameters: asn1.RawValue{FullBytes: derOf(t, kdf)}},
		Enc: pkix.AlgorithmIdentifier{Algorithm: oidAES256t, Parameters: asn1.RawValue{FullBytes: iv}}}
	type epki struct {
		Alg  pkix.AlgorithmIdentifier
		Data []byte
	}
	key := epki{Alg: pkix.AlgorithmIdentifier{Algorithm: oidPBES2t, Parameters: asn1.RawValue{FullBytes: derOf(t, p)}}, Data: make([]byte, 32)}
	type bag struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}
	safe := []bag{{ID: oidShroudedt, Value: asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: derOf(t, key)}}}
	safeDER := derOf(t, safe)
	type ci struct {
		CT      asn1.ObjectIdentifier
		Content asn1.RawValue
	}
	authSafe := derOf(t, []ci{{CT: oidDatat, Content: asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: derOf(t, safeDER)}}})
	// The authenticated safe's content: an OCTET STRING normally; with badTag, a UTF8String wrapping the same bytes.
	inner := asn1.RawValue{Class: 0, Tag: 4, Bytes: authSafe}
	if badTag {
		inner.Tag = 12
	}
	type pdu struct {
		Version  int
		AuthSafe ci
	}
	der := derOf(t, pdu{Version: 3, AuthSafe: ci{CT: oidDatat, Content: asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: derOf(t, inner)}}})
	return base64.StdEncoding.EncodeToString(der)
}

// TestPFXCostCheckReadsAnyContentTag: a shrouded key asking for 20 million
// PBKDF2 rounds is refused by the cost check whether the authenticated
// safe is an OCTET STRING or hides behind another tag, which go-pkcs12
// would still decode.
func TestPFXCostCheckReadsAnyContentTag(t *testing.T) {
	for _, badTag := range []bool{false, true} {
		_, _, err := Parse(costlyPFX(t, 20_000_000, badTag), "", ContentTypePFX, true, false)
		if err == nil || !strings.Contains(err.Error(), "iterations") {
			t.Errorf("content tag changed %v: %v", badTag, err)
		}
	}
}
