package bundle

import (
	"crypto/x509/pkix"
	"encoding/asn1"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// The ASN.1 structures below mirror RFC 7292 and RFC 8018.
type pfxPDU struct {
	Version  int
	AuthSafe contentInfo
	MacData  macData `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type macData struct {
	Mac        digestInfo
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type digestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

type encryptedData struct {
	Version int
	Info    encryptedContentInfo
}

type encryptedContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Algorithm   pkix.AlgorithmIdentifier
	Content     []byte `asn1:"tag:0,optional"`
}

type safeBag struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"tag:0,explicit"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

// pbeParams are PKCS#12 PBE parameters. PBKDF2 parameters start the same
// way; encoding/asn1 ignores their trailing key length and PRF.
type pbeParams struct {
	Salt       []byte
	Iterations int
}

// PBES2 and PBMAC1 parameters both start with the key derivation function;
// encoding/asn1 ignores the scheme that follows.
type kdfFirst struct {
	KDF pkix.AlgorithmIdentifier
}

// Object identifiers, in dotted form.
const (
	oidData          = "1.2.840.113549.1.7.1"
	oidEncryptedData = "1.2.840.113549.1.7.6"
	oidShroudedKey   = "1.2.840.113549.1.12.10.1.2"
	oidPBES2         = "1.2.840.113549.1.5.13"
	oidPBMAC1        = "1.2.840.113549.1.5.14"
)

// checkPFXCost bounds the work a PFX can ask for: go-pkcs12 runs whatever
// number of key derivation iterations the file names. It reads the counts
// visible before decryption (the MAC, encrypted safe contents, shrouded key
// bags in plain safe contents) and refuses more than maxIter. A key bag
// inside encrypted contents cannot be checked before go-pkcs12 decrypts it.
// It reads the structures as go-pkcs12 does (any tag where it takes a raw
// value) and refuses what it cannot read, so nothing it did not check
// reaches the decoder.
func checkPFXCost(data []byte) error {
	var pfx pfxPDU
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		return errUnreadable()
	}
	if !iterationsOK(pfx.MacData.Iterations) || !algorithmOK(pfx.MacData.Mac.Algorithm) {
		return errTooCostly()
	}
	var content asn1.RawValue
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &content); err != nil {
		return errUnreadable()
	}
	var safe []contentInfo
	if _, err := asn1.Unmarshal(content.Bytes, &safe); err != nil {
		return errUnreadable()
	}
	for _, ci := range safe {
		if !contentOK(ci) {
			return errTooCostly()
		}
	}
	return nil
}

// contentOK checks an authenticated safe's content: the encryption of
// encrypted data, the shrouded keys of plain data.
func contentOK(ci contentInfo) bool {
	switch {
	case ci.ContentType.String() == oidEncryptedData:
		var ed encryptedData
		if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
			return false
		}
		return algorithmOK(ed.Info.Algorithm)
	case ci.ContentType.String() == oidData:
		var plain asn1.RawValue
		if _, err := asn1.Unmarshal(ci.Content.Bytes, &plain); err != nil {
			return false
		}
		return bagsOK(plain.Bytes)
	}
	return true
}

func bagsOK(data []byte) bool {
	var bags []safeBag
	if _, err := asn1.Unmarshal(data, &bags); err != nil {
		return false
	}
	for _, bag := range bags {
		if bag.ID.String() != oidShroudedKey {
			continue
		}
		var info encryptedPrivateKeyInfo
		if _, err := asn1.Unmarshal(bag.Value.Bytes, &info); err == nil && !algorithmOK(info.Algorithm) {
			return false
		}
	}
	return true
}

// algorithmOK checks the iteration count of a PKCS#12 PBE, PBES2 or PBMAC1
// algorithm identifier; other algorithms have none.
func algorithmOK(alg pkix.AlgorithmIdentifier) bool {
	params := alg.Parameters.FullBytes
	if id := alg.Algorithm.String(); id == oidPBES2 || id == oidPBMAC1 {
		var f kdfFirst
		if _, err := asn1.Unmarshal(params, &f); err != nil {
			return true
		}
		var p pbeParams
		if _, err := asn1.Unmarshal(f.KDF.Parameters.FullBytes, &p); err != nil {
			return true
		}
		return iterationsOK(p.Iterations)
	}
	var p pbeParams
	if _, err := asn1.Unmarshal(params, &p); err != nil {
		return true
	}
	return iterationsOK(p.Iterations)
}

func iterationsOK(n int) bool { return n <= maxIter }

func errUnreadable() *kverr.Error {
	return kverr.BadParameterf("The value is not a valid PFX (PKCS#12) file.")
}

func errTooCostly() *kverr.Error {
	return kverr.BadParameterf("The PFX asks for more than %d key derivation iterations, which is not supported.", maxIter)
}
