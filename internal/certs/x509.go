package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

var (
	oidSAN              = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidUPN              = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// backdate is how far before issuance a certificate becomes valid, so
// peers whose clocks run a little behind accept it at once.
const backdate = 5 * time.Minute

// template builds the certificate template a policy describes, valid from
// now for the policy's validity.
func template(p *Policy, pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	x := p.X509Props
	subject, err := parseDN(x.Subject)
	if err != nil {
		return nil, err
	}
	exts, err := extensions(x, x.Subject == "")
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	nbf := now.Add(-backdate).UTC().Truncate(time.Second)
	return &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)), RawSubject: subject,
		NotBefore: nbf, NotAfter: nbf.AddDate(0, *x.ValidityMonths, 0),
		SubjectKeyId: ski, ExtraExtensions: exts,
	}, nil
}

// extensions returns the key usage, extended key usage, basic constraints
// and subject alternative name extensions of x. They are written by hand
// rather than from template fields so that the UPN names (otherName) and
// the EKU order survive, and so a CSR carries the same ones.
func extensions(x *X509Props, emptySubject bool) ([]pkix.Extension, error) {
	var exts []pkix.Extension
	if ku := keyUsageBits(x.KeyUsage); ku != 0 {
		v, err := asn1.Marshal(asn1.BitString{Bytes: bitBytes(ku), BitLength: bitLen(ku)})
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: oidKeyUsage, Critical: true, Value: v})
	}
	if len(x.EKUs) > 0 {
		oids := make([]asn1.ObjectIdentifier, 0, len(x.EKUs))
		for _, e := range x.EKUs {
			oid, err := parseOID(e)
			if err != nil {
				return nil, err
			}
			oids = append(oids, oid)
		}
		v, err := asn1.Marshal(oids)
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: oidExtKeyUsage, Value: v})
	}
	bc, err := basicConstraints(x.BasicConstraints != nil && x.BasicConstraints.CA)
	if err != nil {
		return nil, err
	}
	exts = append(exts, bc)
	if x.SANs != nil && !x.SANs.empty() {
		v, err := marshalSANs(x.SANs)
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: oidSAN, Critical: emptySubject, Value: v})
	}
	return exts, nil
}

func basicConstraints(ca bool) (pkix.Extension, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if ca {
			b.AddASN1Boolean(true)
		}
	})
	v, err := b.Bytes()
	return pkix.Extension{Id: oidBasicConstraints, Critical: true, Value: v}, err
}

func keyUsageBits(names []string) int {
	bits := 0
	for _, n := range names {
		if i := slices.Index(keyUsages, n); i >= 0 {
			bits |= 1 << i
		}
	}
	return bits
}

// bitBytes and bitLen encode key usage bits as a DER BIT STRING: bit i of
// the usage is bit i counted from the most significant bit of byte 0.
func bitBytes(bits int) []byte {
	out := make([]byte, 2)
	for i := 0; i < 9; i++ {
		if bits&(1<<i) != 0 {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	if out[1] == 0 {
		return out[:1]
	}
	return out
}

func bitLen(bits int) int {
	n := 0
	for i := 0; i < 9; i++ {
		if bits&(1<<i) != 0 {
			n = i + 1
		}
	}
	return n
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		if _, err := fmt.Sscan(p, &oid[i]); err != nil {
			return nil, kverr.BadParameterf("Invalid object identifier %q.", s)
		}
	}
	return oid, nil
}

// marshalSANs encodes GeneralNames: otherName UPNs, rfc822 names, DNS
// names, URIs and IP addresses.
func marshalSANs(s *SANs) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, u := range s.UPNs {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidUPN)
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(u)) })
				})
			})
		}
		addTagged(b, 1, s.Emails)
		addTagged(b, 2, s.DNSNames)
		addTagged(b, 6, s.URIs)
		for _, raw := range s.IPAddresses {
			ip := net.ParseIP(raw)
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(ip) })
		}
	})
	return b.Bytes()
}

func addTagged(b *cryptobyte.Builder, tag uint8, values []string) {
	for _, v := range values {
		b.AddASN1(cbasn1.Tag(tag).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(v)) })
	}
}

// upns reads the UPN otherNames from a certificate's SAN extension.
func upns(c *x509.Certificate) []string {
	var out []string
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSAN) {
			continue
		}
		in := cryptobyte.String(e.Value)
		var names cryptobyte.String
		if !in.ReadASN1(&names, cbasn1.SEQUENCE) {
			return nil
		}
		for !names.Empty() {
			var name cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&name, &tag) {
				return out
			}
			if tag == cbasn1.Tag(0).Constructed().ContextSpecific() {
				if u, ok := readUPN(name); ok {
					out = append(out, u)
				}
			}
		}
	}
	return out
}

func readUPN(name cryptobyte.String) (string, bool) {
	var oid asn1.ObjectIdentifier
	var wrapped, value cryptobyte.String
	if !name.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidUPN) ||
		!name.ReadASN1(&wrapped, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!wrapped.ReadASN1(&value, cbasn1.UTF8String) {
		return "", false
	}
	return string(value), true
}

// subjectKeyID is the SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.Key.Bytes)
	return sum[:], nil
}

// selfSign issues a self-signed certificate for the policy.
func selfSign(p *Policy, key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	tmpl, err := template(p, key.Public(), now)
	if err != nil {
		return nil, err
	}
	return sign(tmpl, tmpl, key.Public(), key)
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("certs: signing certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// makeCSR returns the PKCS#10 request for the policy, signed by key.
func makeCSR(p *Policy, key crypto.Signer) ([]byte, error) {
	x := p.X509Props
	subject, err := parseDN(x.Subject)
	if err != nil {
		return nil, err
	}
	exts, err := extensions(x, x.Subject == "")
	if err != nil {
		return nil, err
	}
	return x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: subject, ExtraExtensions: exts}, key)
}

// thumbprint is the SHA-1 of the DER certificate (x5t).
func thumbprint(der []byte) []byte {
	sum := sha1.Sum(der)
	return sum[:]
}

// policyFrom derives the X.509 part of a policy from a certificate, as
// Azure does on import: subject, names, usages and validity.
func policyFrom(c *x509.Certificate) *X509Props {
	x := &X509Props{Subject: formatDN(c), ValidityMonths: ptr(validityMonths(c.NotBefore, c.NotAfter))}
	sans := &SANs{DNSNames: c.DNSNames, Emails: c.EmailAddresses, UPNs: upns(c)}
	for _, ip := range c.IPAddresses {
		sans.IPAddresses = append(sans.IPAddresses, ip.String())
	}
	for _, u := range c.URIs {
		sans.URIs = append(sans.URIs, u.String())
	}
	if !sans.empty() {
		x.SANs = sans
	}
	x.EKUs = ekuOIDs(c)
	for i, name := range keyUsages {
		if int(c.KeyUsage)&(1<<i) != 0 {
			x.KeyUsage = append(x.KeyUsage, name)
		}
	}
	if x.KeyUsage == nil {
		x.KeyUsage = []string{}
	}
	x.BasicConstraints = &BasicConstraints{CA: c.BasicConstraintsValid && c.IsCA}
	return x
}

func ekuOIDs(c *x509.Certificate) []string {
	out := []string{}
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidExtKeyUsage) {
			continue
		}
		var oids []asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(e.Value, &oids); err == nil {
			for _, o := range oids {
				out = append(out, o.String())
			}
		}
	}
	return out
}

// validityMonths is the number of months from nbf that reach exp.
func validityMonths(nbf, exp time.Time) int {
	m := 1
	for nbf.AddDate(0, m, 0).Before(exp) && m < maxValidityMonths {
		m++
	}
	return m
}

// checkMatches reports whether the certificate's public key is pub.
func checkMatches(c *x509.Certificate, pub crypto.PublicKey) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := pub.(equaler); ok && e.Equal(c.PublicKey) {
		return nil
	}
	return kverr.BadParameterf("The certificate's public key does not match the key of the pending certificate request.")
}
