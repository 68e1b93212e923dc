package objects

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/jsonx"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

type rec struct{ N int }

// putJSON stores v as JSON under its own data key, as the first releases
// stored heads.
func putJSON(tx *barrier.Tx, key string, v any) error {
	raw, err := Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, raw)
}

var errNF, errDNF, errDBR, errRC, errPP, errIB, errTMV, errBTL = errors.New("nf"), errors.New("dnf"), errors.New("dbr"),
	errors.New("rc"), errors.New("pp"), errors.New("ib"), errors.New("tmv"), errors.New("btl")

func newStore(t *testing.T, coll string, v vaults.Spec) (*Store[rec], *vaults.Vault, *time.Time) {
	t.Helper()
	ctx := context.Background()
	b := barrier.New(memory.New())
	if err := b.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	vault, err := vaults.New(b, clock).Create(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	s := New[rec](b, clock, coll, Errors{
		NotFound: func(string) error { return errNF }, DeletedNotFound: func(string) error { return errDNF },
		DeletedButRecoverable: func(string) error { return errDBR }, RestoreConflict: func(string) error { return errRC },
		PurgeProtected: func() error { return errPP }, InvalidBackup: func() error { return errIB },
		TooManyVersions: func(int) error { return errTMV }, BackupTooLarge: func(int) error { return errBTL },
	})
	return s, vault, &now
}

// Per-name metadata lives and dies with the name: it survives delete,
// recover and backup/restore, and is gone after a purge.
func TestMetaFollowsTheName(t *testing.T) {
	ctx := context.Background()
	s, v, _ := newStore(t, "things", vaults.Spec{Name: "meta"})
	if _, err := s.Add(ctx, v, "Thing", NewVersion(), rec{N: 1}); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, v, func(tx *Tx[rec]) error {
		it, err := tx.Get("thing", "")
		if err != nil {
			return err
		}
		it.Head.Meta = json.RawMessage(`{"policy":1}`)
		return tx.PutHead(&it.Head)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, v, "THING"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, v, "thing", NewVersion(), rec{}); !errors.Is(err, errDBR) {
		t.Fatalf("add on a deleted name: %v", err)
	}
	if _, err := s.Recover(ctx, v, "thing"); err != nil {
		t.Fatal(err)
	}
	it := backupPurgeRestore(t, s, v, "thing")
	if string(it.Head.Meta) != `{"policy":1}` || it.Head.Name != "Thing" || it.Rec.N != 1 {
		t.Fatalf("restore: %+v", it)
	}
}

// backupPurgeRestore backs name up, deletes and purges it (checking it is
// gone), and restores the backup.
func backupPurgeRestore(t *testing.T, s *Store[rec], v *vaults.Vault, name string) *Item[rec] {
	t.Helper()
	ctx := context.Background()
	blob, err := s.Backup(ctx, v, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, v, name); err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, v, name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDeleted(ctx, v, name); !errors.Is(err, errDNF) {
		t.Fatalf("after purge: %v", err)
	}
	it, err := s.Restore(ctx, v, blob)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	return it
}

// Two collections in one vault never see each other's objects or backups.
func TestCollectionsAreSeparate(t *testing.T) {
	ctx := context.Background()
	a, v, _ := newStore(t, "alpha", vaults.Spec{Name: "sep"})
	b := New[rec](a.b, a.now, "beta", a.errs)
	if _, err := a.Add(ctx, v, "x", NewVersion(), rec{N: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, v, "x", ""); !errors.Is(err, errNF) {
		t.Fatalf("beta sees alpha's object: %v", err)
	}
	blob, err := a.Backup(ctx, v, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Restore(ctx, v, blob); !errors.Is(err, errIB) {
		t.Fatalf("beta restored alpha's backup: %v", err)
	}
	if _, err := b.Add(ctx, v, "x", NewVersion(), rec{N: 8}); err != nil {
		t.Fatalf("same name in another collection: %v", err)
	}
}

// The hand-written name and version checks accept exactly what Azure's
// patterns do.
func TestNameAndVersionRules(t *testing.T) {
	nameRE := regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)
	versionRE := regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
	for _, s := range []string{"", "a", "A-9", "-", "a_b", "a.b", "é", "a b", "`", "@", "[", "{", "/", ":",
		strings.Repeat("a", 127), strings.Repeat("a", 128), "0123456789abcdef0123456789ABCDEF",
		"0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0"} {
		if got, want := ValidName(s), nameRE.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
		if got, want := validVersion(s), versionRE.MatchString(s); got != want {
			t.Errorf("validVersion(%q) = %v, want %v", s, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		s := string([]byte{byte(c)})
		if ValidName(s) != nameRE.MatchString(s) {
			t.Errorf("ValidName(%q)", s)
		}
		v := strings.Repeat("0", 31) + s
		if validVersion(v) != versionRE.MatchString(v) {
			t.Errorf("validVersion(%q)", v)
		}
	}
}

// The hand-written head decoder gives what json.Unmarshal gives.
func FuzzHeadDecodeStored(f *testing.F) {
	f.Add("Db-Password", "0123456789abcdef0123456789abcdef", int64(0), []byte(`{"rotation":{"a":[1,2]}}`), true, uint8(7))
	f.Add("n", "v", int64(1), []byte(`null`), false, uint8(0))
	f.Add("n", "v", int64(1), []byte(`{"n":1}`), false, uint8(2))
	f.Add("n", "v", int64(1), []byte(`{"n":1}`), false, uint8(10))
	f.Add("n", "v", int64(1), []byte(`{"n":1}`), false, uint8(7))
	f.Fuzz(func(t *testing.T, name, cur string, n int64, meta []byte, managed bool, copies uint8) {
		h := Head{Name: name, Current: cur, DeletedDate: n, ScheduledPurgeDate: -n, Managed: managed}
		if json.Valid(meta) {
			h.Meta = meta
			if copies&1 != 0 {
				h.Rec = meta
			}
			if copies&2 != 0 {
				h.Listed, h.ListedForm = meta, listedForm
				if copies&8 != 0 {
					h.ListedForm = listedForm + 1 // written in another form
				}
			}
		}
		if copies&4 != 0 {
			h.Sealed = []byte(name + cur)
		}
		if managed && len(meta) == 0 {
			h.Meta = json.RawMessage("null")
		}
		raw, err := encodeHead(&h)
		if err != nil {
			return // meta json.Marshal would not write
		}
		var want, got Head
		js, err := Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(js, &want); err != nil {
			t.Fatal(err)
		}
		if len(h.Sealed) > 0 {
			want.Sealed = h.Sealed
		}
		if err := got.DecodeStored(raw); err != nil {
			t.Fatalf("DecodeStored(%s): %v", raw, err)
		}
		if got.Name != want.Name || got.Current != want.Current || got.DeletedDate != want.DeletedDate ||
			got.ScheduledPurgeDate != want.ScheduledPurgeDate || got.Managed != want.Managed || string(got.Meta) != string(want.Meta) ||
			string(got.Rec) != string(want.Rec) || string(got.Listed) != string(want.Listed) || !bytes.Equal(got.Sealed, want.Sealed) ||
			got.ListedForm != want.ListedForm ||
			(got.Sealed == nil) != (want.Sealed == nil) {
			t.Fatalf("DecodeStored(%s) = %+v, want %+v", raw, got, want)
		}
		// Read in one pass, the record is handed to its reader in place:
		// an earlier release's plaintext copy, or for a list the listed
		// one (the later member counts); the sealed copy is left as text.
		present := func(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }
		for _, listing := range []bool{false, true} {
			var one Head
			var rec json.RawMessage
			c, err := decodeHead(raw, &one, &rec, listing)
			wantRec := want.Rec
			if listing && len(wantRec) == 0 && want.ListedForm == listedForm { // a rec member, null or not, comes last
				wantRec = want.Listed
			}
			wantTook := present(wantRec)
			if err != nil || c.took != wantTook || wantTook && string(rec) != string(wantRec) ||
				!bytes.Equal(c.sealed, want.Sealed) || (c.sealed == nil) != (want.Sealed == nil) || one.Rec != nil || one.Listed != nil || one.Sealed != nil || one.ListedForm != 0 ||
				one.Name != want.Name || one.Current != want.Current || string(one.Meta) != string(want.Meta) {
				t.Fatalf("decode(%s, listing %v) = %+v, record %s, copy %+v, %v", raw, listing, one, rec, c, err)
			}
		}
	})
}

// The head's copy of the current version's record always equals that
// record: after adding versions, changing the current one or an older
// one, changing the head, deleting and recovering, and restoring a backup;
// a head without a copy (written before copies existed) still reads.
func TestHeadCopiesTheCurrentVersion(t *testing.T) {
	ctx := context.Background()
	s, v, _ := newStore(t, "things", vaults.Spec{Name: "copy"})
	// stored reads the head, its current version's record and that record
	// as stored.
	stored := func(name string) (h Head, r rec, sealed []byte) {
		t.Helper()
		err := s.b.View(ctx, func(tx *barrier.Tx) error {
			if _, err := getJSON(tx, s.headKey(v, name), &h); err != nil {
				return err
			}
			key := s.versionsPrefix(v, name) + h.Current
			if _, err := getJSON(tx, key, &r); err != nil {
				return err
			}
			var err error
			sealed, err = tx.Stored(key)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return h, r, sealed
	}
	check := func(step string, want int) {
		t.Helper()
		h, r, sealed := stored("thing")
		if !bytes.Equal(h.Sealed, sealed) || h.Rec != nil || h.Listed != nil || r.N != want {
			t.Fatalf("%s: head copies %x / %s / %s, current version %+v stored as %x, want N=%d", step, h.Sealed, h.Rec, h.Listed, r, sealed, want)
		}
		it, err := s.Get(ctx, v, "thing", "")
		if err != nil || it.Rec.N != want || it.Head.Rec != nil || it.Head.Sealed != nil {
			t.Fatalf("%s: Get = %+v, %v", step, it, err)
		}
		page, err := s.List(ctx, v, "", 25)
		if err != nil || len(page.Items) != 1 || page.Items[0].Rec.N != want || page.Items[0].Head.Sealed != nil {
			t.Fatalf("%s: List = %+v, %v", step, page, err)
		}
	}
	first := NewVersion()
	if _, err := s.Add(ctx, v, "thing", first, rec{N: 1}); err != nil {
		t.Fatal(err)
	}
	check("first version", 1)
	if _, err := s.Modify(ctx, v, "thing", "", func(it *Item[rec]) error { it.Rec.N = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	check("current version changed", 2)
	if _, err := s.Add(ctx, v, "thing", NewVersion(), rec{N: 3}); err != nil {
		t.Fatal(err)
	}
	check("second version", 3)
	if _, err := s.Modify(ctx, v, "thing", first, func(it *Item[rec]) error { it.Rec.N = 20; return nil }); err != nil {
		t.Fatal(err)
	}
	check("older version changed", 3)
	if it, err := s.Get(ctx, v, "thing", first); err != nil || it.Rec.N != 20 {
		t.Fatalf("older version: %+v %v", it, err)
	}
	err := s.Update(ctx, v, func(tx *Tx[rec]) error {
		it, err := tx.Get("thing", "")
		if err != nil {
			return err
		}
		// Stale copies are not trusted.
		it.Head.Meta, it.Head.Rec, it.Head.Listed = json.RawMessage(`{"m":1}`), json.RawMessage(`{"N":99}`), json.RawMessage(`{"N":98}`)
		it.Head.Sealed = []byte("stale")
		return tx.PutHead(&it.Head)
	})
	if err != nil {
		t.Fatal(err)
	}
	check("head changed", 3)
	if _, err := s.Delete(ctx, v, "thing"); err != nil {
		t.Fatal(err)
	}
	if it, err := s.GetDeleted(ctx, v, "thing"); err != nil || it.Rec.N != 3 {
		t.Fatalf("deleted: %+v %v", it, err)
	}
	if _, err := s.Recover(ctx, v, "thing"); err != nil {
		t.Fatal(err)
	}
	check("recovered", 3)
	backupPurgeRestore(t, s, v, "thing")
	check("restored", 3)

	// A head stored without a copy reads its current version.
	h, r, _ := stored("thing")
	rewrite := func(h Head) {
		t.Helper()
		if err := s.b.Update(ctx, func(tx *barrier.Tx) error { return putJSON(tx, s.headKey(v, "thing"), &h) }); err != nil {
			t.Fatal(err)
		}
	}
	readsAs := func(what string, want int) {
		t.Helper()
		if it, err := s.Get(ctx, v, "thing", ""); err != nil || it.Rec.N != want {
			t.Fatalf("%s: %+v %v", what, it, err)
		}
		if it, err := s.Get(ctx, v, "thing", h.Current); err != nil || it.Rec.N != want {
			t.Fatalf("%s, by version: %+v %v", what, it, err)
		}
		if page, err := s.List(ctx, v, "", 25); err != nil || len(page.Items) != 1 || page.Items[0].Rec.N != want {
			t.Fatalf("%s, listed: %+v %v", what, page, err)
		}
	}
	rewrite(h.withoutCopies())
	readsAs("head without a copy", 3)
	// An earlier release's head, under its own data key with a plaintext
	// copy, reads that copy.
	old := h.withoutCopies()
	old.Rec = json.RawMessage(`{"N":4}`)
	rewrite(old)
	readsAs("an earlier release's head", 4)
	if r.N != 3 {
		t.Fatalf("current version %+v", r)
	}
}

// A copy of another version's record, or of this one's moved from another
// key, does not open: the barrier binds a sealed record to its key.
func TestSealedCopyIsBoundToItsVersion(t *testing.T) {
	ctx := context.Background()
	s, v, _ := newStore(t, "things", vaults.Spec{Name: "bound"})
	first, second := NewVersion(), NewVersion()
	for _, ver := range []string{first, second} {
		if _, err := s.Add(ctx, v, "thing", ver, rec{N: 1}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		var h Head
		if _, err := getJSON(tx, s.headKey(v, "thing"), &h); err != nil {
			return err
		}
		var err error
		if h.Sealed, err = tx.Stored(s.versionsPrefix(v, "thing") + first); err != nil {
			return err
		}
		raw, err := encodeHead(&h)
		if err != nil {
			return err
		}
		return tx.PutIndex(s.headKey(v, "thing"), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	if it, err := s.Get(ctx, v, "thing", ""); !errors.Is(err, barrier.ErrIntegrity) {
		t.Fatalf("Get with another version's copy = %+v, %v; want an integrity error", it, err)
	}
	if it, err := s.Get(ctx, v, "thing", second); !errors.Is(err, barrier.ErrIntegrity) {
		t.Fatalf("Get by the current version with another version's copy = %+v, %v; want an integrity error", it, err)
	}
	if it, err := s.Get(ctx, v, "thing", first); err != nil || it.Version != first {
		t.Fatalf("Get of the other version, from its own entry: %+v, %v", it, err)
	}
	if p, err := s.List(ctx, v, "", 25); !errors.Is(err, barrier.ErrIntegrity) {
		t.Fatalf("List with another version's copy = %+v, %v; want an integrity error", p, err)
	}
}

// A head's listed copy follows its current version through every change,
// in active and soft-deleted heads, and one of another form is not used.
func TestListedCopyFollows(t *testing.T) {
	ctx := context.Background()
	base, v, _ := newStore(t, "things", vaults.Spec{Name: "listed"})
	s := New[paid](base.b, base.now, "paid", base.errs)
	lists := func(step string, list func() (Page[Item[paid]], error), want int) {
		t.Helper()
		p, err := list()
		if err != nil || len(p.Items) != 1 || p.Items[0].Rec.N != want || p.Items[0].Rec.Payload != "" {
			t.Fatalf("%s: %+v, %v; want N=%d without the payload", step, p.Items, err, want)
		}
	}
	active := func() (Page[Item[paid]], error) { return s.List(ctx, v, "", 25) }
	deleted := func() (Page[Item[paid]], error) { return s.ListDeleted(ctx, v, "", 25) }
	first := NewVersion()
	if _, err := s.Add(ctx, v, "x", first, paid{N: 1, Payload: "p1"}); err != nil {
		t.Fatal(err)
	}
	lists("added", active, 1)
	if _, err := s.Modify(ctx, v, "x", "", func(it *Item[paid]) error { it.Rec.N = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	lists("current version changed", active, 2)
	if _, err := s.Add(ctx, v, "x", NewVersion(), paid{N: 3, Payload: "p3"}); err != nil {
		t.Fatal(err)
	}
	lists("new version", active, 3)
	if _, err := s.Modify(ctx, v, "x", first, func(it *Item[paid]) error { it.Rec.N = 9; return nil }); err != nil {
		t.Fatal(err)
	}
	lists("older version changed", active, 3)
	if _, err := s.Delete(ctx, v, "x"); err != nil {
		t.Fatal(err)
	}
	lists("deleted", deleted, 3)
	if it, err := s.GetDeleted(ctx, v, "x"); err != nil || it.Rec.N != 3 || it.Rec.Payload != "p3" {
		t.Fatalf("GetDeleted: %+v, %v", it, err)
	}
	if _, err := s.Recover(ctx, v, "x"); err != nil {
		t.Fatal(err)
	}
	lists("recovered", active, 3)

	// A Listed in another form than this release's is read through the
	// sealed copy instead.
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		raw, err := tx.Get(s.headKey(v, "x"))
		if err != nil {
			return err
		}
		var h Head
		if err := h.DecodeStored(raw); err != nil {
			return err
		}
		if h.ListedForm != listedForm || h.Sealed == nil {
			t.Fatalf("stored head %+v", h)
		}
		h.Listed, h.ListedForm = json.RawMessage(`{"n":77}`), listedForm+1
		out, err := encodeHead(&h)
		if err != nil {
			return err
		}
		return tx.PutIndex(s.headKey(v, "x"), out)
	})
	if err != nil {
		t.Fatal(err)
	}
	lists("listed in another form", active, 3)
}

// CheckHeadCopies corrects a copy that no longer matches its version (as an
// earlier release, which changed versions without their heads, leaves it)
// and leaves correct ones alone.
func TestCheckHeadCopies(t *testing.T) {
	ctx := context.Background()
	s, v, _ := newStore(t, "things", vaults.Spec{Name: "check"})
	for i := range 3*checkBatch/2 + 1 {
		if _, err := s.Add(ctx, v, fmt.Sprintf("t%04d", i), NewVersion(), rec{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CheckHeadCopies(ctx, []string{v.ID}); err != nil || n != 0 {
		t.Fatalf("fresh copies: corrected %d, %v", n, err)
	}
	// An older program changes two current versions behind the heads' backs.
	for _, name := range []string{"t0007", fmt.Sprintf("t%04d", checkBatch+3)} {
		it, err := s.Get(ctx, v, name, "")
		if err != nil {
			t.Fatal(err)
		}
		err = s.b.Update(ctx, func(tx *barrier.Tx) error {
			return putJSON(tx, s.versionsPrefix(v, name)+it.Version, &rec{N: -1})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, v, name, ""); got.Rec.N == -1 {
			t.Fatal("the test did not make the copy stale")
		}
	}
	if n, err := s.CheckHeadCopies(ctx, []string{v.ID, "no-such-vault"}); err != nil || n != 2 {
		t.Fatalf("corrected %d, %v; want 2", n, err)
	}
	for _, name := range []string{"t0007", fmt.Sprintf("t%04d", checkBatch+3)} {
		if got, err := s.Get(ctx, v, name, ""); err != nil || got.Rec.N != -1 {
			t.Fatalf("%s after the check: %+v %v", name, got, err)
		}
	}
	if got, err := s.Get(ctx, v, "t0008", ""); err != nil || got.Rec.N != 8 {
		t.Fatalf("an untouched object: %+v %v", got, err)
	}

	// An earlier release's head with a stale plaintext copy is corrected,
	// into a head of this release; one with a current copy is left.
	legacy := func(name string, n int) {
		t.Helper()
		err := s.b.Update(ctx, func(tx *barrier.Tx) error {
			var h Head
			if _, err := getJSON(tx, s.headKey(v, name), &h); err != nil {
				return err
			}
			h = h.withoutCopies()
			h.Rec = json.RawMessage(fmt.Sprintf(`{"N":%d}`, n))
			return putJSON(tx, s.headKey(v, name), &h)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	legacy("t0010", 10)
	legacy("t0011", -11)
	if n, err := s.CheckHeadCopies(ctx, []string{v.ID}); err != nil || n != 1 {
		t.Fatalf("earlier release's heads: corrected %d, %v; want 1", n, err)
	}
	for name, want := range map[string]int{"t0010": 10, "t0011": 11} {
		if got, err := s.Get(ctx, v, name, ""); err != nil || got.Rec.N != want {
			t.Fatalf("%s after the check: %+v %v", name, got, err)
		}
	}
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var h Head
		_, err := getJSON(tx, s.headKey(v, "t0011"), &h)
		if err == nil && (h.Rec != nil || h.Sealed == nil) {
			t.Errorf("corrected head: %+v", h)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// paid is a record with a secret payload that lists leave out.
type paid struct {
	N       int    `json:"n"`
	Payload string `json:"payload"`
}

func (p *paid) DecodeRecord(data []byte, listing bool) (int, error) {
	n, err := jsonx.ValueLen(data)
	if err == nil {
		err = json.Unmarshal(data[:n], p)
	}
	if listing {
		p.Payload = ""
	}
	return n, err
}

// Every list decodes records for listing; reads of one object get the
// whole record.
func TestListsLeaveOutThePayload(t *testing.T) {
	ctx := context.Background()
	base, v, _ := newStore(t, "things", vaults.Spec{Name: "paid"})
	s := New[paid](base.b, base.now, "paid", base.errs)
	for _, name := range []string{"a", "a", "b"} {
		if _, err := s.Add(ctx, v, name, NewVersion(), paid{N: 7, Payload: "secret"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, v, "b"); err != nil {
		t.Fatal(err)
	}
	check := func(what string, p Page[Item[paid]], err error, want int) {
		t.Helper()
		if err != nil || len(p.Items) != want {
			t.Fatalf("%s: %d items, %v", what, len(p.Items), err)
		}
		for _, it := range p.Items {
			if it.Rec.N != 7 || it.Rec.Payload != "" {
				t.Fatalf("%s: %+v", what, it.Rec)
			}
		}
	}
	// The heads a list reads carry no payload: only the record sealed under
	// its own data key holds it.
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		for _, key := range []string{s.headKey(v, "a"), s.deletedKey(v, "b")} {
			raw, err := tx.Get(key)
			if err != nil {
				return err
			}
			var h Head
			if err := h.DecodeStored(raw); err != nil {
				return err
			}
			if bytes.Contains(raw, []byte("secret")) || key == s.headKey(v, "a") && (h.Listed == nil || h.Sealed == nil) {
				t.Errorf("head %s: %s", key, raw)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.List(ctx, v, "", 25)
	check("List", p, err, 1)
	p, err = s.ListVersions(ctx, v, "a", "", 25)
	check("ListVersions", p, err, 2)
	p, err = s.ListDeleted(ctx, v, "", 25)
	check("ListDeleted", p, err, 1)
	err = s.View(ctx, v, func(tx *Tx[paid]) error {
		it, err := tx.Get("a", "")
		if err == nil && it.Rec.Payload != "secret" {
			t.Fatalf("Get: %+v", it.Rec)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if it, err := s.GetDeleted(ctx, v, "b"); err != nil || it.Rec.Payload != "secret" {
		t.Fatalf("GetDeleted: %+v, %v", it, err)
	}
}

// opt has only optional members: a decode that starts from a record it
// does not reset keeps members the stored one lacks.
type opt struct {
	N int    `json:"n,omitempty"`
	S string `json:"s,omitempty"`
}

// A version read by its id is that version's record, not the current one's
// members filled in; repeated and null copies in a head are read as
// json.Unmarshal reads them (the last counts, null is none).
func TestReadsDoNotMixRecords(t *testing.T) {
	ctx := context.Background()
	base, v, _ := newStore(t, "things", vaults.Spec{Name: "mix"})
	s := New[opt](base.b, base.now, "opts", base.errs)
	first, second := NewVersion(), NewVersion()
	if _, err := s.Add(ctx, v, "x", first, opt{N: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, v, "x", second, opt{S: "two"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		version string
		want    opt
	}{{"", opt{S: "two"}}, {second, opt{S: "two"}}, {first, opt{N: 1}}} {
		err := s.View(ctx, v, func(tx *Tx[opt]) error {
			it, err := tx.Get("x", c.version)
			if err == nil && it.Rec != c.want {
				t.Errorf("Get(x, %q) = %+v, want %+v", c.version, it.Rec, c.want)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for raw, want := range map[string]struct {
		rec  opt
		took bool
	}{
		`{"name":"x","current":"v","rec":{"n":9},"rec":null}`:      {opt{}, false},
		`{"name":"x","current":"v","rec":{"n":9},"rec":{"s":"z"}}`: {opt{S: "z"}, true},
		`{"name":"x","current":"v","rec":null,"rec":{"n":3}}`:      {opt{N: 3}, true},
		`{"name":"x","current":"v","meta":{"rec":{"n":1}},"n":5}`:  {opt{}, false},
	} {
		var h Head
		var r opt
		c, err := decodeHead([]byte(raw), &h, &r, false)
		if err != nil || c.took != want.took || r != want.rec || h.Name != "x" {
			t.Errorf("decodeHead(%s) = %+v, %v, %v; want %+v, %v", raw, r, c.took, err, want.rec, want.took)
		}
	}
}

// A head's frame around its sealed copy is read back exactly, and a
// damaged frame is an error, not a short or misplaced copy.
func TestHeadFrames(t *testing.T) {
	h := Head{Name: "x", Current: "v", Sealed: bytes.Repeat([]byte{0xAB}, 300), Listed: json.RawMessage(`{"n":1}`)}
	raw, err := encodeHead(&h)
	if err != nil || raw[0] != headFramed {
		t.Fatalf("encodeHead = % x, %v", raw[:4], err)
	}
	var got Head
	if err := got.DecodeStored(raw); err != nil || !bytes.Equal(got.Sealed, h.Sealed) || got.Name != "x" || string(got.Listed) != `{"n":1}` {
		t.Fatalf("DecodeStored = %+v, %v", got, err)
	}
	plain, _ := encodeHead(&Head{Name: "y"})
	if plain[0] != '{' {
		t.Fatalf("a head without a copy is framed: %q", plain)
	}
	bad := map[string][]byte{
		"no length":         {headFramed},
		"zero length":       append([]byte{headFramed, 0}, plain...),
		"length past end":   append([]byte{headFramed, 0x80, 0x02}, plain...),
		"unterminated":      {headFramed, 0x80, 0x80},
		"copy without head": raw[:len(raw)-len(`{"name":"x"`)],
		"copy is all":       append([]byte{headFramed, byte(len(plain))}, plain...),
	}
	for what, data := range bad {
		var h Head
		if err := h.DecodeStored(data); err == nil {
			t.Errorf("%s: DecodeStored(% x) = %+v", what, data, h)
		}
		var r rec
		if _, err := decodeHead(data, &h, &r, true); err == nil {
			t.Errorf("%s: decodeHead accepted it", what)
		}
	}
}
