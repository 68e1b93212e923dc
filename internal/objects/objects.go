// Package objects keeps Key Vault's versioned objects — secrets, keys and
// (later) certificates — with Azure's lifecycle: every write of a name adds
// a version, names compare case-insensitively and keep the case they were
// created with, delete is soft (all versions stay recoverable until the
// vault's retention ends, then the scheduler purges them), purge protection
// blocks early purges, and backups are opaque, sealed blobs of every
// version that restore with their version ids.
//
// A Store is generic over the record type of one version; the domain
// packages (secrets, keys) own validation, their error codes and what a
// record holds. Layout inside the barrier (encrypted under the vault key):
//
//	v/<vault-id>/<collection>/<name>                   head of an active object
//	v/<vault-id>/deleted<collection>/<name>            head of a soft-deleted object
//	v/<vault-id>/<collection>-versions/<name>/<ver>    one version's record
//	sys/purge/<collection>/<unix-seconds>/<vault-id>/<name>  purge schedule
//
// A version's record is sealed under a data key of its own. Heads are index
// records (barrier.Tx.PutIndex, under the vault key's index key): an active
// one carries its current version's record as a list shows it (without the
// secret payload) and as sealed, so a list page opens no data key and a
// read of the current version takes one storage read.
//
// <name> is lower-cased. Each operation is one storage transaction, durable
// before it returns. Functions given to Update may run more than once.
package objects

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/jsonx"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Azure's limits shared by every object type.
const (
	MaxPageSize = 25 // largest page a list returns (maxresults)
	MaxTags     = 15
	MaxTagChars = 512
)

// Head is the per-name record: the name as created, the current version,
// deletion dates while soft-deleted, and Meta, per-name data of the domain
// (a key's rotation policy) that lives and dies with the name.
type Head struct {
	Name               string          `json:"name"`
	Current            string          `json:"current"`
	DeletedDate        int64           `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64           `json:"scheduledPurgeDate,omitempty"`
	Meta               json.RawMessage `json:"meta,omitempty"`
	// Managed marks an object whose lifetime another object owns: a
	// certificate's backing key and secret. The public Store operations
	// refuse to change it; the owner changes it inside its own
	// transactions (In, Linked).
	Managed bool `json:"managed,omitempty"`
	// Listed is the current version's record without its secret payload
	// (as DecodeRecord reads it for a list), and Sealed that version's
	// record as stored, still under its own data key. The head itself is an
	// index record (barrier.Tx.PutIndex): a list page reads heads alone and
	// opens no data key, and reading the current version takes one storage
	// read. Only writeHead writes them, from the record just stored or
	// read, so they always match it; items handed out never carry them.
	// Sealed is framed before the head's JSON (see encodeHead), not inside
	// it.
	Listed json.RawMessage `json:"listed,omitempty"`
	Sealed []byte          `json:"-"`
	// ListedForm is the listedForm that Listed was written in; a head with
	// another is read as if it had no Listed.
	ListedForm int `json:"listedForm,omitempty"`
	// Rec is the plaintext copy of the current version's record that heads
	// written by earlier releases carry (those heads are sealed under their
	// own data keys). It is read, never written.
	Rec json.RawMessage `json:"rec,omitempty"`
}

// A stored head is its JSON, or with a sealed copy of the current record
//
//	headFramed (1) || uvarint length || sealed record || JSON
//
// so that a list skips the copy without reading it and a read takes it as
// it lies, with no text encoding.
const headFramed = 0x01

// encodeHead returns h as stored.
func encodeHead(h *Head) ([]byte, error) {
	js, err := Marshal(h)
	if err != nil || len(h.Sealed) == 0 {
		return js, err
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64+len(h.Sealed)+len(js))
	out = binary.AppendUvarint(append(out, headFramed), uint64(len(h.Sealed)))
	return append(append(out, h.Sealed...), js...), nil
}

// splitHead returns a stored head's sealed copy (nil: none) and JSON.
func splitHead(data []byte) (sealed, js []byte, err error) {
	if len(data) == 0 || data[0] != headFramed {
		return nil, data, nil
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || n == 0 || n > uint64(len(data)-1-k) {
		return nil, nil, jsonx.ErrSyntax
	}
	rest := data[1+k:]
	return rest[:n:n], rest[n:], nil
}

// DecodeStored decodes a stored head: its JSON as json.Unmarshal would,
// except that Rec, Listed and Sealed are slices of data, not copies.
func (h *Head) DecodeStored(data []byte) error {
	sealed, js, err := splitHead(data)
	if err != nil {
		return err
	}
	if err := jsonx.Object(js, h.member); err != nil {
		return err
	}
	h.Sealed = sealed
	return nil
}

// withoutCopies returns h without the copies of the current version.
func (h Head) withoutCopies() Head {
	h.Listed, h.Sealed, h.Rec, h.ListedForm = nil, nil, nil, 0
	return h
}

// listedForm numbers the form of a head's Listed: what the record types'
// listing decoders (RecordDecoder) keep and how they marshal it. Change it
// whenever that changes, so that heads written before are read through
// their sealed copies instead of a Listed of the old form.
const listedForm = 1

// headCopy is what a head gave of its current version's record.
type headCopy struct {
	took   bool   // the record is read: a plaintext copy, or Listed when listing
	listed bool   // what was read is Listed
	sealed []byte // the sealed copy, where it lies (nil: none)
}

// decodeHead decodes a head and reads the record it carries for the
// reader into rec where it lies (one pass over the head): Listed when
// listing, an earlier release's plaintext copy (Rec) either way. Sealed
// is left where it lies, for a reader that needs it to open. As
// with json.Unmarshal, the last of repeated members counts, and a null
// record is none; a Listed of another form than listedForm is none too.
// h is left without copies.
func decodeHead[R any](data []byte, h *Head, rec *R, listing bool) (c headCopy, err error) {
	var zero R
	take := func(k, rest []byte) (int, error) {
		switch string(k) {
		case "rec":
		case "listed":
			if !listing {
				return jsonx.ValueLen(rest)
			}
		default:
			return 0, nil
		}
		*rec, c.took, c.listed = zero, false, false
		if bytes.HasPrefix(rest, []byte("null")) {
			return 4, nil // as if absent: readers read the version
		}
		c.took, c.listed = true, string(k) == "listed"
		return recordAt(rest, rec, listing)
	}
	sealed, js, err := splitHead(data)
	if err != nil {
		return headCopy{}, err
	}
	if err := jsonx.ObjectTaking(js, take, h.member); err != nil {
		return headCopy{}, err
	}
	if c.listed && h.ListedForm != listedForm {
		*rec, c.took, c.listed = zero, false, false
	}
	*h = h.withoutCopies()
	c.sealed = sealed
	return c, nil
}

func (h *Head) member(k, v []byte) error {
	switch string(k) { // a json.RawMessage takes any value, null included
	case "meta":
		h.Meta = append(json.RawMessage(nil), v...)
		return nil
	case "rec", "listed":
		// Read where they lie, for the callers of DecodeStored that decode
		// them next, within the life of their value (a Get's plaintext is
		// their own). A ScanPage visitor, whose value is cleared after it,
		// must not keep them: the visitors decode heads with decodeHead,
		// which reads the record out instead.
		raw := json.RawMessage(v[:len(v):len(v)])
		if string(k) == "rec" {
			h.Rec = raw
		} else {
			h.Listed = raw
		}
		return nil
	}
	if jsonx.IsNull(v) {
		return nil
	}
	var err error
	switch string(k) {
	case "name":
		h.Name, err = jsonx.ParseString(v)
	case "current":
		h.Current, err = jsonx.ParseString(v)
	case "deletedDate":
		h.DeletedDate, err = jsonx.ParseInt(v)
	case "scheduledPurgeDate":
		h.ScheduledPurgeDate, err = jsonx.ParseInt(v)
	case "managed":
		h.Managed, err = jsonx.ParseBool(v)
	case "listedForm":
		var n int64
		n, err = jsonx.ParseInt(v)
		h.ListedForm = int(n)
	}
	return err // unknown members are ignored, as json.Unmarshal does
}

// Item is one version of an object with its head.
type Item[R any] struct {
	Head    Head
	Version string
	Rec     R
}

// Page is one page of a list and the cursor of the next ("" at the end).
type Page[T any] struct {
	Items []T
	Next  string
}

// Errors are the domain's errors for the lifecycle's failure cases.
type Errors struct {
	NotFound              func(id string) error   // name (or name/version) absent or not active
	DeletedNotFound       func(name string) error // no soft-deleted object of that name
	DeletedButRecoverable func(name string) error // create on a soft-deleted name
	RestoreConflict       func(name string) error // restore onto a used name
	PurgeProtected        func() error            // purge before retention ends under purge protection
	InvalidBackup         func() error            // a blob that does not open as this collection's backup
	TooManyVersions       func(max int) error     // backup of more than MaxBackupVersions
	BackupTooLarge        func(max int) error     // backup over MaxBackupBytes
	Managed               func(op string) error   // op ("set", "update", "delete", ...) on a managed object
}

// Store is the lifecycle of one collection.
type Store[R any] struct {
	b    *barrier.Barrier
	now  func() time.Time
	coll string
	errs Errors
}

// New returns the store of collection ("secrets", "keys") over b.
func New[R any](b *barrier.Barrier, now func() time.Time, collection string, errs Errors) *Store[R] {
	return &Store[R]{b: b, now: now, coll: collection, errs: errs}
}

// ValidName reports whether name follows Azure's object name rule:
// 1–127 letters, digits and dashes.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 127 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// validVersion reports whether v is a version id: 32 hex digits.
func validVersion(v string) bool {
	if len(v) != 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i] | 0x20; !('0' <= v[i] && v[i] <= '9') && !('a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z'
}

// NewVersion returns a fresh 32-hex version id.
func NewVersion() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store[R]) headKey(v *vaults.Vault, lname string) string {
	return "v/" + v.ID + "/" + s.coll + "/" + lname
}
func (s *Store[R]) deletedKey(v *vaults.Vault, lname string) string {
	return "v/" + v.ID + "/deleted" + s.coll + "/" + lname
}
func (s *Store[R]) versionsPrefix(v *vaults.Vault, lname string) string {
	return s.versionsPrefixOf(v.ID, lname)
}
func (s *Store[R]) versionsPrefixOf(vaultID, lname string) string {
	return "v/" + vaultID + "/" + s.coll + "-versions/" + lname + "/"
}
func (s *Store[R]) purgePrefix() string { return "sys/purge/" + s.coll + "/" }
func (s *Store[R]) purgeKey(v *vaults.Vault, lname string, at int64) string {
	return fmt.Sprintf("%s%020d/%s/%s", s.purgePrefix(), at, v.ID, lname)
}

// Tx is a transaction over one collection of one vault, for domain
// operations that read and write in one step.
type Tx[R any] struct {
	s  *Store[R]
	tx *barrier.Tx
	v  *vaults.Vault
}

// In returns a transaction of s inside bt, so one commit can change several
// collections: a certificate with its backing key and secret.
func In[R any](s *Store[R], bt *barrier.Tx, v *vaults.Vault) *Tx[R] {
	return &Tx[R]{s: s, tx: bt, v: v}
}

// View runs fn in a read-only transaction.
func (s *Store[R]) View(ctx context.Context, v *vaults.Vault, fn func(*Tx[R]) error) error {
	return s.b.View(ctx, func(tx *barrier.Tx) error { return fn(&Tx[R]{s: s, tx: tx, v: v}) })
}

// Update runs fn in a read-write transaction.
func (s *Store[R]) Update(ctx context.Context, v *vaults.Vault, fn func(*Tx[R]) error) error {
	return s.b.Update(ctx, func(tx *barrier.Tx) error { return fn(&Tx[R]{s: s, tx: tx, v: v}) })
}

// Get reads an active object's version ("" is the current one).
func (t *Tx[R]) Get(name, version string) (*Item[R], error) {
	if !ValidName(name) || (version != "" && !validVersion(version)) {
		return nil, t.s.errs.NotFound(idText(name, version))
	}
	lname := strings.ToLower(name)
	raw, err := t.rawHead(name, idText(name, version))
	if err != nil {
		return nil, err
	}
	it := &Item[R]{}
	var c headCopy
	if version == "" {
		// The usual read: the head, and the copy of the current record in
		// it, in one pass.
		if c, err = decodeHead(raw, &it.Head, &it.Rec, false); err != nil {
			return nil, fmt.Errorf("objects: decode the head of %s: %w", lname, err)
		}
		it.Version = strings.ToLower(it.Head.Current)
	} else {
		var h Head
		if err := h.DecodeStored(raw); err != nil {
			return nil, fmt.Errorf("objects: decode the head of %s: %w", lname, err)
		}
		it.Head, it.Version = h.withoutCopies(), strings.ToLower(version)
		if it.Version == strings.ToLower(h.Current) {
			if len(h.Rec) > 0 && !jsonx.IsNull(h.Rec) {
				if err := DecodeRecord(h.Rec, &it.Rec, false); err != nil {
					return nil, fmt.Errorf("objects: decode the current version of %s: %w", lname, err)
				}
				return it, nil
			}
			c.sealed = h.Sealed
		}
	}
	found, err := readCurrent(t.tx, t.s.versionsPrefix(t.v, lname)+it.Version, c, &it.Rec, false)
	if err != nil || !found {
		return nil, errOr(err, t.s.errs.NotFound(idText(name, version)))
	}
	return it, nil
}

// readCurrent completes the read of a version whose head gave c: the
// record decodeHead took, else the head's sealed copy opened, else the
// version's own entry read. found is false when the version has none.
func readCurrent[R any](tx *barrier.Tx, key string, c headCopy, rec *R, listing bool) (found bool, err error) {
	if c.took {
		return true, nil
	}
	var pt []byte
	if c.sealed != nil {
		pt, err = tx.OpenSealed(key, c.sealed)
	} else {
		pt, err = tx.Get(key)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
	}
	if err != nil {
		return false, err
	}
	if listing {
		// The decoders copy what they keep and a list leaves the payload
		// out: the plaintext, secret value included, goes now, not with
		// the garbage.
		defer clear(pt)
	}
	if err := DecodeRecord(pt, rec, listing); err != nil {
		return false, fmt.Errorf("objects: decode %s: %w", key, err)
	}
	return true, nil
}

// rawHead reads an active object's stored head; notFound names what is
// reported missing.
func (t *Tx[R]) rawHead(name, notFound string) ([]byte, error) {
	raw, err := t.tx.Get(t.s.headKey(t.v, strings.ToLower(name)))
	if err != nil {
		if isNotFound(err) {
			return nil, t.s.errs.NotFound(notFound)
		}
		return nil, err
	}
	return raw, nil
}

// head reads an active object's head without its copy of the current
// record.
func (t *Tx[R]) head(name string) (*Head, error) {
	if !ValidName(name) {
		return nil, t.s.errs.NotFound(name)
	}
	raw, err := t.rawHead(name, name)
	if err != nil {
		return nil, err
	}
	var h Head
	if err := h.DecodeStored(raw); err != nil {
		return nil, fmt.Errorf("objects: decode the head of %s: %w", strings.ToLower(name), err)
	}
	h = h.withoutCopies()
	return &h, nil
}

// Put writes a version's record of an active object (after Get); when it is
// the current version, the head's copies follow.
func (t *Tx[R]) Put(it *Item[R]) error {
	lname := strings.ToLower(it.Head.Name)
	raw, sealed, err := t.putVersion(lname, it.Version, &it.Rec)
	if err != nil {
		return err
	}
	defer clear(raw) // the plaintext, payload included, is not kept
	var h Head
	found, err := getJSON(t.tx, t.s.headKey(t.v, lname), &h)
	if err != nil || !found || !strings.EqualFold(h.Current, it.Version) {
		return err
	}
	return t.putHead(&h, raw, sealed)
}

// PutHead writes an active object's head (after Get), e.g. its Meta, with
// copies of its current version's record as stored.
func (t *Tx[R]) PutHead(h *Head) error {
	raw, sealed, err := t.s.storedVersion(t.tx, t.s.versionsPrefix(t.v, strings.ToLower(h.Name))+strings.ToLower(h.Current))
	if err != nil {
		return err
	}
	defer clear(raw) // the plaintext, payload included, is not kept
	return t.putHead(h, raw, sealed)
}

// storedVersion reads the version record at key in plaintext and as sealed
// (nil, nil: there is none).
func (s *Store[R]) storedVersion(tx *barrier.Tx, key string) (raw, sealed []byte, err error) {
	if raw, err = tx.Get(key); err != nil {
		if isNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	if sealed, err = tx.Stored(key); err != nil {
		return nil, nil, err
	}
	return raw, sealed, nil
}

// putVersion stores a version's record and returns it in plaintext and as
// sealed.
func (t *Tx[R]) putVersion(lname, version string, rec *R) (raw, sealed []byte, err error) {
	if raw, err = Marshal(rec); err != nil {
		return nil, nil, err
	}
	sealed, err = t.tx.PutSealed(t.s.versionsPrefix(t.v, lname)+version, raw)
	return raw, sealed, err
}

// putHead stores h as an active object's head with the copies of its
// current version's record, given in plaintext and as sealed (nil: none).
func (t *Tx[R]) putHead(h *Head, rec, sealed []byte) error {
	return t.s.writeHead(t.tx, t.s.headKey(t.v, strings.ToLower(h.Name)), h, rec, sealed)
}

// writeHead stores h at key as an index record (barrier.Tx.PutIndex): it
// holds no secret payload, only the current record as a list reads it and
// as sealed under its own data key.
func (s *Store[R]) writeHead(tx *barrier.Tx, key string, h *Head, rec, sealed []byte) error {
	stored := h.withoutCopies()
	stored.Sealed = sealed
	if listed := listedOf[R](rec); listed != nil {
		stored.Listed, stored.ListedForm = listed, listedForm
	}
	raw, err := encodeHead(&stored)
	if err != nil {
		return err
	}
	return tx.PutIndex(key, raw)
}

// listedOf returns the record rec as a list reads it, without its secret
// payload, or nil when there is none: no record, no decoder that leaves the
// payload out, or a record it does not decode (whose readers then open the
// sealed copy and report the error).
func listedOf[R any](rec []byte) json.RawMessage {
	var r R
	if _, ok := any(&r).(RecordDecoder); !ok || rec == nil {
		return nil
	}
	if err := DecodeRecord(rec, &r, true); err != nil {
		return nil
	}
	listed, err := Marshal(&r)
	if err != nil {
		return nil
	}
	return listed
}

// Add stores rec as a new version of name and makes it current, creating
// the object if needed. A soft-deleted name is refused.
func (t *Tx[R]) Add(name, version string, rec R) (*Item[R], error) {
	return t.add(name, version, rec, false)
}

// AddManaged is Add for the owner of a managed object: it creates the
// object managed, or adds a version to one that already is.
func (t *Tx[R]) AddManaged(name, version string, rec R) (*Item[R], error) {
	return t.add(name, version, rec, true)
}

func (t *Tx[R]) add(name, version string, rec R, managed bool) (*Item[R], error) {
	lname := strings.ToLower(name)
	if exists, err := has(t.tx, t.s.deletedKey(t.v, lname)); err != nil || exists {
		return nil, errOr(err, t.s.errs.DeletedButRecoverable(name))
	}
	var h Head
	found, err := getJSON(t.tx, t.s.headKey(t.v, lname), &h)
	if err != nil {
		return nil, err
	}
	switch {
	case !found:
		h = Head{Name: name, Managed: managed}
	case h.Managed != managed:
		return nil, t.s.errs.Managed("set")
	}
	h = h.withoutCopies()
	h.Current = version
	it := &Item[R]{Head: h, Version: version, Rec: rec}
	raw, sealed, err := t.putVersion(lname, version, &it.Rec)
	if err != nil {
		return nil, err
	}
	defer clear(raw) // the plaintext, payload included, is not kept
	return it, t.putHead(&h, raw, sealed)
}

// Add stores rec as a new current version of name in its own transaction.
// A managed object is refused.
func (s *Store[R]) Add(ctx context.Context, v *vaults.Vault, name, version string, rec R) (*Item[R], error) {
	var it *Item[R]
	err := s.Update(ctx, v, func(t *Tx[R]) error {
		var err error
		it, err = t.Add(name, version, rec)
		return err
	})
	return it, err
}

// Get reads a version ("" is the current one) of an active object.
func (s *Store[R]) Get(ctx context.Context, v *vaults.Vault, name, version string) (*Item[R], error) {
	var it *Item[R]
	err := s.View(ctx, v, func(t *Tx[R]) error {
		var err error
		it, err = t.Get(name, version)
		return err
	})
	return it, err
}

// Modify changes one version's record with fn and stores it. A managed
// object is refused.
func (s *Store[R]) Modify(ctx context.Context, v *vaults.Vault, name, version string, fn func(*Item[R]) error) (*Item[R], error) {
	var it *Item[R]
	err := s.Update(ctx, v, func(t *Tx[R]) error {
		var err error
		if it, err = t.Get(name, version); err != nil {
			return err
		}
		if it.Head.Managed {
			return s.errs.Managed("update")
		}
		if err := fn(it); err != nil {
			return err
		}
		return t.Put(it)
	})
	return it, err
}

func idText(name, version string) string {
	if version == "" {
		return name
	}
	return name + "/" + version
}

// has reports whether key exists without decrypting it.
func has(tx *barrier.Tx, key string) (bool, error) {
	found := false
	err := tx.ScanKeys(key, "", func(k string) (bool, error) {
		found = k == key
		return false, nil
	})
	return found, err
}

// StoredDecoder is a stored type other than a record (the head) with a
// hand-written decoder of its stored form, for the hot read paths. For the
// JSON in it, DecodeStored must give what json.Unmarshal gives for
// anything json.Marshal wrote (tests fuzz this); member names match exactly
// (json.Unmarshal would also take other cases). Records implement
// RecordDecoder, under the same rules.
type StoredDecoder interface {
	DecodeStored(data []byte) error
}

func getJSON(tx *barrier.Tx, key string, dst any) (found bool, err error) {
	raw, err := tx.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := decodeStored(raw, dst); err != nil {
		return false, fmt.Errorf("objects: decode %s: %w", key, err)
	}
	return true, nil
}

// RecordDecoder is a record type with a hand-written decoder.
// DecodeRecord decodes the record at the start of data (a version's entry,
// or the copy of the current version inside a head, read in place) and
// returns its length. With listing it leaves out what no list shows, the
// record's secret payload (a secret's value, a key's private material), so
// a page neither spends time on it nor leaves copies of it in memory. What
// it keeps is also stored, re-marshaled, as a head's Listed under the
// vault's index key, not a data key of its own: listing must leave out
// every secret member (and listedForm must change with what it keeps).
type RecordDecoder interface {
	DecodeRecord(data []byte, listing bool) (int, error)
}

// DecodeRecord decodes the record that is all of raw into dst (surrounding
// whitespace allowed), as the stores do.
func DecodeRecord(raw []byte, dst any, listing bool) error {
	d, ok := dst.(RecordDecoder)
	if !ok {
		return json.Unmarshal(raw, dst)
	}
	n, err := d.DecodeRecord(raw, listing)
	if err == nil && !jsonx.OnlySpace(raw[n:]) {
		return jsonx.ErrSyntax
	}
	return err
}

// recordAt reads the record at the start of rest into dst and returns its
// length.
func recordAt(rest []byte, dst any, listing bool) (int, error) {
	if d, ok := dst.(RecordDecoder); ok {
		return d.DecodeRecord(rest, listing)
	}
	n, err := jsonx.ValueLen(rest)
	if err != nil {
		return 0, err
	}
	return n, json.Unmarshal(rest[:n], dst)
}

// decodeStored decodes a stored record into dst, with its hand-written
// decoder when it has one.
func decodeStored(raw []byte, dst any) error {
	if d, ok := dst.(StoredDecoder); ok {
		return d.DecodeStored(raw)
	}
	return DecodeRecord(raw, dst, false)
}

// Marshal encodes v as compact JSON without HTML escaping, which would
// otherwise store '<', '>' and '&' in six bytes each.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func errOr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// Barrier returns the underlying barrier transaction, for records the
// domain keeps beside its objects (indexes, events) in the same commit.
func (t *Tx[R]) Barrier() *barrier.Tx { return t.tx }

// AttributesUpdate holds the attributes a request sets; nil means unchanged.
type AttributesUpdate struct {
	Enabled   *bool
	NotBefore *int64
	Expires   *int64
}

// ValidateTags checks Azure's tag limits: at most 15 tags, names 1–512 and
// values up to 512 characters.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return kverr.BadParameterf("Too many tags: at most %d are allowed.", MaxTags)
	}
	for k, v := range tags {
		if k == "" || utf8.RuneCountInString(k) > MaxTagChars {
			return kverr.BadParameterf("Tag names must be 1-%d characters long.", MaxTagChars)
		}
		if utf8.RuneCountInString(v) > MaxTagChars {
			return kverr.BadParameterf("Tag values must be at most %d characters long.", MaxTagChars)
		}
	}
	return nil
}

// checkBatch is how many heads CheckHeadCopies reads per transaction.
const checkBatch = 500

// CheckHeadCopies makes the copies of the current version that every active
// head of the collection carries, in the vaults vaultIDs, equal to that
// version's stored record again, and returns how many heads it corrected.
// It is for a start after this program may not have been the last to
// write (the first releases changed versions without touching their heads,
// and a crash is a crash). A head is compared by its sealed copy, without
// decrypting; an earlier release's head by its plaintext copy, and
// rewritten as this release writes heads when stale.
func (s *Store[R]) CheckHeadCopies(ctx context.Context, vaultIDs []string) (int, error) {
	fixed := 0
	for _, id := range vaultIDs {
		prefix := "v/" + id + "/" + s.coll + "/"
		for start := ""; ; {
			n, next, err := s.checkHeads(ctx, id, prefix, start)
			fixed += n
			if err != nil {
				return fixed, fmt.Errorf("objects: check %s heads of vault %s: %w", s.coll, id, err)
			}
			if next == "" {
				break
			}
			start = next
		}
	}
	return fixed, nil
}

// checkHeads checks up to checkBatch heads from start in one transaction
// and returns where the next batch starts ("" when done).
func (s *Store[R]) checkHeads(ctx context.Context, vaultID, prefix, start string) (fixed int, next string, err error) {
	err = s.b.Update(ctx, func(tx *barrier.Tx) error {
		fixed, next = 0, ""
		type stale struct {
			key  string
			head Head
		}
		var heads []stale
		err := tx.Scan(prefix, start, func(key string, val []byte) (bool, error) {
			if len(heads) == checkBatch {
				next = key
				return false, nil
			}
			var h Head
			if err := decodeStored(val, &h); err != nil {
				return false, fmt.Errorf("decode %s: %w", key, err)
			}
			heads = append(heads, stale{key, h})
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, x := range heads {
			copied, read := []byte(x.head.Sealed), tx.Stored
			if copied == nil {
				copied, read = x.head.Rec, tx.Get // an earlier release's plaintext copy
			}
			if len(copied) == 0 {
				continue
			}
			key := s.versionsPrefixOf(vaultID, strings.ToLower(x.head.Name)) + strings.ToLower(x.head.Current)
			cur, err := read(key)
			if err != nil && !isNotFound(err) {
				return err
			}
			if bytes.Equal(cur, copied) {
				continue
			}
			raw, sealed, err := s.storedVersion(tx, key)
			if err != nil {
				return err
			}
			err = s.writeHead(tx, x.key, &x.head, raw, sealed)
			clear(raw)
			if err != nil {
				return err
			}
			fixed++
		}
		return nil
	})
	return fixed, next, err
}
