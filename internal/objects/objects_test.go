package objects

import (
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
	f.Add("Db-Password", "0123456789abcdef0123456789abcdef", int64(0), []byte(`{"rotation":{"a":[1,2]}}`), true)
	f.Add("n", "v", int64(1), []byte(`null`), false)
	f.Fuzz(func(t *testing.T, name, cur string, n int64, meta []byte, managed bool) {
		h := Head{Name: name, Current: cur, DeletedDate: n, ScheduledPurgeDate: -n, Managed: managed}
		if json.Valid(meta) {
			h.Meta, h.Rec = meta, meta
		}
		if managed && len(meta) == 0 {
			h.Meta = json.RawMessage("null")
		}
		raw, err := Marshal(&h)
		if err != nil {
			return // meta json.Marshal would not write
		}
		var want, got Head
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if err := got.DecodeStored(raw); err != nil {
			t.Fatalf("DecodeStored(%s): %v", raw, err)
		}
		if got.Name != want.Name || got.Current != want.Current || got.DeletedDate != want.DeletedDate ||
			got.ScheduledPurgeDate != want.ScheduledPurgeDate || got.Managed != want.Managed || string(got.Meta) != string(want.Meta) ||
			string(got.Rec) != string(want.Rec) {
			t.Fatalf("DecodeStored(%s) = %+v, want %+v", raw, got, want)
		}
		// Read in one pass, the record is handed to its reader in place.
		var one Head
		var rec json.RawMessage
		took, err := decodeHead(raw, &one, &rec, false)
		wantTook := len(want.Rec) > 0 && string(want.Rec) != "null"
		if err != nil || took != wantTook || wantTook && string(rec) != string(want.Rec) || one.Rec != nil ||
			one.Name != want.Name || one.Current != want.Current || string(one.Meta) != string(want.Meta) {
			t.Fatalf("decode(%s) = %+v, record %s, took %v, %v", raw, one, rec, took, err)
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
	stored := func(name string) (Head, rec) {
		t.Helper()
		var h Head
		var r rec
		err := s.b.View(ctx, func(tx *barrier.Tx) error {
			if _, err := getJSON(tx, s.headKey(v, name), &h); err != nil {
				return err
			}
			_, err := getJSON(tx, s.versionsPrefix(v, name)+h.Current, &r)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return h, r
	}
	check := func(step string, want int) {
		t.Helper()
		h, r := stored("thing")
		var copied rec
		if err := json.Unmarshal(h.Rec, &copied); err != nil || copied != r || r.N != want {
			t.Fatalf("%s: head copy %s, current version %+v, want N=%d", step, h.Rec, r, want)
		}
		it, err := s.Get(ctx, v, "thing", "")
		if err != nil || it.Rec.N != want || it.Head.Rec != nil {
			t.Fatalf("%s: Get = %+v, %v", step, it, err)
		}
		page, err := s.List(ctx, v, "", 25)
		if err != nil || len(page.Items) != 1 || page.Items[0].Rec.N != want || page.Items[0].Head.Rec != nil {
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
		it.Head.Meta, it.Head.Rec = json.RawMessage(`{"m":1}`), json.RawMessage(`{"N":99}`) // a stale copy is not trusted
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
	h, _ := stored("thing")
	h.Rec = nil
	if err := s.b.Update(ctx, func(tx *barrier.Tx) error { return putJSON(tx, s.headKey(v, "thing"), &h) }); err != nil {
		t.Fatal(err)
	}
	if it, err := s.Get(ctx, v, "thing", ""); err != nil || it.Rec.N != 3 {
		t.Fatalf("head without a copy: %+v %v", it, err)
	}
	if page, err := s.List(ctx, v, "", 25); err != nil || len(page.Items) != 1 || page.Items[0].Rec.N != 3 {
		t.Fatalf("list of a head without a copy: %+v %v", page, err)
	}
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
		took, err := decodeHead([]byte(raw), &h, &r, false)
		if err != nil || took != want.took || r != want.rec || h.Name != "x" {
			t.Errorf("decodeHead(%s) = %+v, %v, %v; want %+v, %v", raw, r, took, err, want.rec, want.took)
		}
	}
}
