package bundle

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// assemble checks the parsed certificates and key and orders them into a
// bundle.
func assemble(certs []*x509.Certificate, key any, requireKey, preserveOrder bool) (*Bundle, error) {
	if len(certs) == 0 {
		return nil, kverr.BadParameterf("The bundle has no certificate.")
	}
	if len(certs) > maxCerts {
		return nil, errTooManyCerts(len(certs))
	}
	var signer crypto.Signer
	if key != nil {
		var err error
		if signer, err = checkKey(key); err != nil {
			return nil, err
		}
	}
	if requireKey && signer == nil {
		return nil, kverr.BadParameterf("The bundle has no private key: a certificate import must include the certificate's private key.")
	}
	leaf, chain, err := order(certs, signer, preserveOrder)
	if err != nil {
		return nil, err
	}
	if err := checkPublicKey(leaf.PublicKey); err != nil {
		return nil, err
	}
	if signer != nil && !keyMatches(leaf, signer) {
		return nil, errKeyMismatch()
	}
	return &Bundle{Leaf: leaf, Chain: chain, Key: signer}, nil
}

// order returns the leaf and the chain of certs.
func order(certs []*x509.Certificate, key crypto.Signer, preserveOrder bool) (*x509.Certificate, []*x509.Certificate, error) {
	if preserveOrder {
		return certs[0], append([]*x509.Certificate(nil), certs[1:]...), nil
	}
	l := newLinker(certs)
	leaf := l.findLeaf(key)
	if leaf < 0 {
		return nil, nil, errKeyMismatch()
	}
	return certs[leaf], l.chainFrom(leaf), nil
}

// linker answers "did certificate p issue certificate c" for a set of
// certificates, remembering answers because signature checks are costly.
type linker struct {
	certs []*x509.Certificate
	memo  map[[2]int]bool
}

func newLinker(certs []*x509.Certificate) *linker {
	return &linker{certs: certs, memo: make(map[[2]int]bool)}
}

// issued reports whether certs[p] issued certs[c]: its subject is c's issuer
// and it verifies c's signature. A signature with an algorithm Go considers
// insecure (SHA-1) links by name alone: ordering is not a trust decision.
func (l *linker) issued(p, c int) bool {
	if p == c {
		return false
	}
	k := [2]int{p, c}
	if v, ok := l.memo[k]; ok {
		return v
	}
	parent, child := l.certs[p], l.certs[c]
	v := false
	if bytes.Equal(parent.RawSubject, child.RawIssuer) {
		err := child.CheckSignatureFrom(parent)
		var insecure x509.InsecureAlgorithmError
		v = err == nil || errors.As(err, &insecure)
	}
	l.memo[k] = v
	return v
}

// findLeaf returns the index of the certificate matching key, -1 if none
// does; without a key, the first certificate that issued no other one (or
// the first certificate when every one issued another).
func (l *linker) findLeaf(key crypto.Signer) int {
	if key != nil {
		for i, c := range l.certs {
			if keyMatches(c, key) {
				return i
			}
		}
		return -1
	}
	for i := range l.certs {
		if !l.issuedAny(i) {
			return i
		}
	}
	return 0
}

func (l *linker) issuedAny(p int) bool {
	for c := range l.certs {
		if l.issued(p, c) {
			return true
		}
	}
	return false
}

// chainFrom returns the issuers of certs[leaf] from the leaf upward, then
// the certificates not on that path in input order.
func (l *linker) chainFrom(leaf int) []*x509.Certificate {
	used := make([]bool, len(l.certs))
	used[leaf] = true
	chain := make([]*x509.Certificate, 0, len(l.certs)-1)
	for cur := leaf; ; {
		next := l.issuerOf(cur, used)
		if next < 0 {
			break
		}
		used[next] = true
		chain = append(chain, l.certs[next])
		cur = next
	}
	for i, c := range l.certs {
		if !used[i] {
			chain = append(chain, c)
		}
	}
	return chain
}

// issuerOf returns the first unused certificate that issued certs[c], or -1.
func (l *linker) issuerOf(c int, used []bool) int {
	for p := range l.certs {
		if !used[p] && l.issued(p, c) {
			return p
		}
	}
	return -1
}

func errTooManyCerts(n int) *kverr.Error {
	return kverr.BadParameterf("The bundle holds %d certificates; the limit is %d.", n, maxCerts)
}
