package certs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kcrypto"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/objects"
	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Operation statuses.
const (
	StatusInProgress = "inProgress"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
)

// pending is the stored certificate operation of a name: the request in
// progress (with its private key until it completes) or the outcome of
// the last one.
type pending struct {
	Name      string            `json:"name"`
	RequestID string            `json:"requestId"`
	Version   string            `json:"version"`
	Policy    Policy            `json:"policy"`
	Material  []byte            `json:"material,omitempty"`
	CSR       []byte            `json:"csr,omitempty"`
	Status    string            `json:"status"`
	Details   string            `json:"details,omitempty"`
	Cancel    bool              `json:"cancel,omitempty"`
	Error     *OperationError   `json:"error,omitempty"`
	Enabled   bool              `json:"enabled"`
	Tags      map[string]string `json:"tags,omitempty"`
	Preserve  bool              `json:"preserve,omitempty"`
	Created   int64             `json:"created"`
}

// Operation is a certificate operation as the API shows it.
type Operation struct {
	Name                  string
	Issuer                IssuerParameters
	CSR                   []byte
	CancellationRequested bool
	Status                string
	StatusDetails         string
	Error                 *OperationError
	Completed             bool // target is the certificate
	RequestID             string
	PreserveCertOrder     bool
}

// OperationError is why an operation failed.
type OperationError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

const (
	detailsInProgress = "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later."
	detailsMerge      = "Pending certificate created. Please Perform Merge to complete the request."
	issuerErrorCode   = "Certificate issuer error"
)

func pendingKey(vaultID, lname string) string {
	return "v/" + vaultID + "/certificates-pending/" + lname
}

func getPending(bt *barrier.Tx, v *vaults.Vault, name string) (*pending, error) {
	raw, err := bt.Get(pendingKey(v.ID, strings.ToLower(name)))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p pending
	return &p, json.Unmarshal(raw, &p)
}

func putPending(bt *barrier.Tx, v *vaults.Vault, p *pending) error {
	raw, err := objects.Marshal(p)
	if err != nil {
		return err
	}
	return bt.Put(pendingKey(v.ID, strings.ToLower(p.Name)), raw)
}

func (p *pending) operation() *Operation {
	return &Operation{Name: p.Name, Issuer: *p.Policy.Issuer, CSR: p.CSR, CancellationRequested: p.Cancel,
		Status: p.Status, StatusDetails: p.Details, Error: p.Error, Completed: p.Status == StatusCompleted,
		RequestID: p.RequestID, PreserveCertOrder: p.Preserve}
}

func (p *pending) complete() {
	p.Status, p.Details, p.Material, p.Error = StatusCompleted, "", nil, nil
}

// fail records an issuer's failure. The key and CSR stay, so the request
// can still be signed elsewhere and merged.
func (p *pending) fail(msg string) {
	p.Status, p.Details = StatusFailed, msg
	p.Error = &OperationError{Code: issuerErrorCode, Message: msg}
}

// CreateParams are the parameters of a create: the policy (required for
// the first version), the attributes and tags of the new version.
type CreateParams struct {
	Policy            *Policy
	Enabled           *bool
	Tags              map[string]string
	PreserveCertOrder *bool
}

// Create starts a new certificate version. Self-signed and private-CA
// certificates complete at once; issuer Unknown leaves the operation
// pending with its CSR until a merge.
func (s *Service) Create(ctx context.Context, v *vaults.Vault, name string, p CreateParams) (*Operation, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := validateTags(p.Tags); err != nil {
		return nil, err
	}
	pol, cur, err := s.createPolicy(ctx, v, name, p.Policy)
	if err != nil {
		return nil, err
	}
	key, err := s.keyFor(ctx, v, pol, cur)
	if err != nil {
		return nil, err
	}
	var op *pending
	err = s.b.Update(ctx, func(bt *barrier.Tx) error {
		if err := s.checkCreatable(bt, v, name); err != nil {
			return err
		}
		op = &pending{Name: name, RequestID: objects.NewVersion(), Version: objects.NewVersion(), Policy: *pol,
			Status: StatusInProgress, Enabled: p.Enabled == nil || *p.Enabled, Tags: p.Tags,
			Preserve: p.PreserveCertOrder != nil && *p.PreserveCertOrder, Created: s.now().Unix()}
		if err := s.start(bt, v, op, key); err != nil {
			return err
		}
		return putPending(bt, v, op)
	})
	if err != nil {
		return nil, err
	}
	return op.operation(), nil
}

// createPolicy returns the normalized policy of a create: the given one or
// the stored one, and the current version when the certificate exists.
func (s *Service) createPolicy(ctx context.Context, v *vaults.Vault, name string, given *Policy) (*Policy, *item, error) {
	var cur *item
	var stored *Policy
	err := s.store.View(ctx, v, func(t *objects.Tx[record]) error {
		it, err := t.Get(name, "")
		if kverr.As(err) != nil && kverr.As(err).Kind == kverr.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		cur = it
		m, err := metaOf(it.Head)
		stored = m.Policy
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var pol Policy
	switch {
	case given != nil:
		pol = given.clone()
	case stored != nil:
		pol = stored.clone()
	default:
		return nil, nil, kverr.BadParameterf("The certificate %s does not exist yet, so its first create needs a policy.", name)
	}
	if err := pol.normalize(true); err != nil {
		return nil, nil, err
	}
	return &pol, cur, nil
}

// keyFor returns the key pair of a new version: the current version's when
// the policy reuses keys and it still fits, a fresh one otherwise. Keys
// are generated outside any transaction.
func (s *Service) keyFor(ctx context.Context, v *vaults.Vault, pol *Policy, cur *item) (*kcrypto.Key, error) {
	if cur != nil && *pol.KeyProps.ReuseKey {
		var k *kcrypto.Key
		err := s.b.View(ctx, func(bt *barrier.Tx) error {
			var err error
			k, err = s.keys.PrivateKey(bt, v, cur.Head.Name, cur.Version)
			return err
		})
		if err == nil && keyFits(k, pol.KeyProps) {
			return k, nil
		}
	}
	size := 0
	if pol.KeyProps.KeySize != nil {
		size = *pol.KeyProps.KeySize
	}
	k, err := kcrypto.Generate(pol.KeyProps.Kty, size, pol.KeyProps.Curve, 0)
	if err != nil {
		return nil, kverr.BadParameterf("The key properties of the policy cannot be used: %v", err)
	}
	return k, nil
}

func keyFits(k *kcrypto.Key, kp *KeyProps) bool {
	if k.Kty() != kp.Kty {
		return false
	}
	if kp.Kty == kcrypto.KtyEC {
		return k.Curve() == kp.Curve
	}
	return kp.KeySize != nil && k.Size() == *kp.KeySize
}

// checkCreatable refuses a create or import while a request is in
// progress, and on a soft-deleted name.
func (s *Service) checkCreatable(bt *barrier.Tx, v *vaults.Vault, name string) error {
	if _, err := s.store.GetDeletedIn(objects.In(s.store, bt, v), name); err == nil {
		return lifecycleErrors.DeletedButRecoverable(name)
	} else if kverr.As(err) == nil {
		return err
	}
	op, err := getPending(bt, v, name)
	if err != nil {
		return err
	}
	if op != nil && op.Status == StatusInProgress {
		return pendingInProgress()
	}
	return nil
}

// start runs the issuer of op: it signs and stores the version (Self, a
// private CA), leaves a CSR for a merge (Unknown), or fails the operation.
func (s *Service) start(bt *barrier.Tx, v *vaults.Vault, op *pending, key *kcrypto.Key) error {
	pol := &op.Policy
	switch pol.Issuer.Name {
	case IssuerUnknown:
		return s.awaitMerge(bt, v, op, key)
	case IssuerSelf:
		leaf, err := selfSign(pol, key.Signer(), s.now())
		if err != nil {
			return err
		}
		return s.finish(bt, v, op, leaf, nil, key)
	}
	leaf, chain, err := s.issueWith(bt, v, pol, key)
	var ierr *issuerError
	if errors.As(err, &ierr) {
		if err := s.awaitMerge(bt, v, op, key); err != nil {
			return err
		}
		op.fail(ierr.msg)
		return nil
	}
	if err != nil {
		return err
	}
	return s.finish(bt, v, op, leaf, chain, key)
}

func (s *Service) awaitMerge(bt *barrier.Tx, v *vaults.Vault, op *pending, key *kcrypto.Key) error {
	csr, err := makeCSR(&op.Policy, key.Signer())
	if err != nil {
		return err
	}
	material, err := key.MarshalPrivate()
	if err != nil {
		return err
	}
	op.CSR, op.Material, op.Details = csr, material, detailsMerge
	return s.updateStoredPolicy(bt, v, op.Name, &op.Policy)
}

// updateStoredPolicy replaces an existing certificate's policy (a create
// that gives a new one); a certificate that does not exist yet gets its
// policy with its first version.
func (s *Service) updateStoredPolicy(bt *barrier.Tx, v *vaults.Vault, name string, p *Policy) error {
	t := objects.In(s.store, bt, v)
	it, err := t.Get(name, "")
	if kverr.As(err) != nil && kverr.As(err).Kind == kverr.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return s.setPolicy(t, &it.Head, p, s.now().Unix())
}

// finish stores the signed version of op and completes it.
func (s *Service) finish(bt *barrier.Tx, v *vaults.Vault, op *pending, leaf *x509.Certificate, chain []*x509.Certificate, key *kcrypto.Key) error {
	_, err := s.put(bt, v, &issuance{name: op.Name, version: op.Version, policy: &op.Policy, leaf: leaf, chain: chain,
		key: key, enabled: op.Enabled, tags: op.Tags, preserve: op.Preserve})
	if err != nil {
		return err
	}
	op.complete()
	return nil
}

// GetOperation returns the certificate operation of name. A non-empty
// requestID must match it.
func (s *Service) GetOperation(ctx context.Context, v *vaults.Vault, name, requestID string) (*Operation, error) {
	var op *pending
	err := s.b.View(ctx, func(bt *barrier.Tx) error {
		var err error
		op, err = s.pendingFor(bt, v, name, requestID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return op.operation(), nil
}

func (s *Service) pendingFor(bt *barrier.Tx, v *vaults.Vault, name, requestID string) (*pending, error) {
	if !objects.ValidName(name) {
		return nil, pendingNotFound(name)
	}
	op, err := getPending(bt, v, name)
	if err != nil {
		return nil, err
	}
	if op == nil || (requestID != "" && !strings.EqualFold(requestID, op.RequestID)) {
		return nil, pendingNotFound(name)
	}
	return op, nil
}

// CancelOperation asks to cancel an operation in progress. Nothing signs
// an Unknown-issuer request here, so the cancellation takes effect at once.
func (s *Service) CancelOperation(ctx context.Context, v *vaults.Vault, name, requestID string, cancel bool) (*Operation, error) {
	var op *pending
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		var err error
		if op, err = s.pendingFor(bt, v, name, requestID); err != nil || !cancel {
			return err
		}
		if op.Status != StatusInProgress {
			return kverr.BadParameterf("The certificate operation of %s is %s and can no longer be cancelled.", op.Name, op.Status)
		}
		// The key and CSR stay: a certificate signed before the cancel can
		// still be merged.
		op.Cancel, op.Status, op.Details = true, StatusCancelled, "The certificate request was cancelled."
		return putPending(bt, v, op)
	})
	if err != nil {
		return nil, err
	}
	return op.operation(), nil
}

// DeleteOperation removes the certificate operation; a request in
// progress never creates its certificate.
func (s *Service) DeleteOperation(ctx context.Context, v *vaults.Vault, name, requestID string) (*Operation, error) {
	var op *pending
	err := s.b.Update(ctx, func(bt *barrier.Tx) error {
		var err error
		if op, err = s.pendingFor(bt, v, name, requestID); err != nil {
			return err
		}
		return bt.Delete(pendingKey(v.ID, strings.ToLower(name)))
	})
	if err != nil {
		return nil, err
	}
	return op.operation(), nil
}

// MergeParams are a merge's certificate chain (DER, leaf first) and the
// new version's attributes and tags.
type MergeParams struct {
	X5C     [][]byte
	Enabled *bool
	Tags    map[string]string
}

// Merge completes a pending request with the certificate an external CA
// signed for its CSR (and the CA's chain).
func (s *Service) Merge(ctx context.Context, v *vaults.Vault, name string, p MergeParams) (*Certificate, error) {
	if err := validateTags(p.Tags); err != nil {
		return nil, err
	}
	chain, err := parseX5C(p.X5C)
	if err != nil {
		return nil, err
	}
	var it *item
	err = s.b.Update(ctx, func(bt *barrier.Tx) error {
		op, err := s.pendingFor(bt, v, name, "")
		if err != nil {
			return err
		}
		if err := op.mergeable(); err != nil {
			return err
		}
		key, err := kcrypto.UnmarshalPrivate(op.Material)
		if err != nil {
			return err
		}
		if err := checkMatches(chain[0], key.PublicKey()); err != nil {
			return err
		}
		is := &issuance{name: op.Name, version: op.Version, policy: &op.Policy, leaf: chain[0], chain: chain[1:],
			key: key, enabled: op.Enabled, tags: op.Tags, preserve: op.Preserve}
		if p.Enabled != nil {
			is.enabled = *p.Enabled
		}
		if p.Tags != nil {
			is.tags = p.Tags
		}
		if it, err = s.put(bt, v, is); err != nil {
			return err
		}
		op.complete()
		return putPending(bt, v, op)
	})
	if err != nil {
		return nil, err
	}
	return certOf(it, true), nil
}

func (op *pending) mergeable() error {
	switch {
	case op.Material == nil:
		return pendingNotFound(op.Name)
	case op.Status == StatusInProgress && op.Policy.Issuer.Name != IssuerUnknown:
		return kverr.Forbiddenf("Merge is forbidden on pending object created with issuer : %s while it is in progress.", op.Policy.Issuer.Name)
	}
	return nil
}

func parseX5C(x5c [][]byte) ([]*x509.Certificate, error) {
	if len(x5c) == 0 {
		return nil, kverr.BadParameterf("The parameter 'x5c' is required: the signed certificate (base64 DER), then its issuers.")
	}
	if len(x5c) > 50 {
		return nil, kverr.BadParameterf("The parameter 'x5c' holds more than 50 certificates.")
	}
	out := make([]*x509.Certificate, 0, len(x5c))
	for i, der := range x5c {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, kverr.BadParameterf("x5c[%d] is not a DER-encoded X.509 certificate.", i)
		}
		out = append(out, c)
	}
	return out, nil
}
