package storagetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/keyhaven/keyhaven/internal/storage"
)

// orderKeys exercises byte order: 0x00 and 0xff bytes, keys that are
// prefixes of each other, and the prefix "a/" next to "a", "a0" and "a.".
var orderKeys = []string{
	"b", "a", "a/", "a/1", "a/2", "a/\xff", "a/\xff\xff", "a0", "a.", "a\x00",
	"a\xff", "a\xff\x00", "a\xff\xff", "\xff", "\xff\xff", "\xff\x00", "\x00",
	"\x01", "A", "aa",
}

func sortedOrderKeys() []string {
	keys := slices.Clone(orderKeys)
	slices.SortFunc(keys, func(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) })
	return keys
}

func testScanOrder(t *testing.T, s storage.Store) {
	putKeys(t, s, orderKeys...)
	got := scan(t, s, nil, nil)
	wantKeys(t, "Scan(nil, nil)", got, sortedOrderKeys()...)
	for _, p := range got {
		if p.value != p.key {
			t.Errorf("Scan value for %q = %q", p.key, p.value)
		}
	}
	wantKeys(t, "Scan(empty prefix)", scan(t, s, []byte{}, []byte{}), sortedOrderKeys()...)
}

func testScanPrefixBoundaries(t *testing.T, s storage.Store) {
	putKeys(t, s, orderKeys...)
	cases := []struct {
		prefix string
		want   []string
	}{
		{"a/", []string{"a/", "a/1", "a/2", "a/\xff", "a/\xff\xff"}},
		{"a/\xff", []string{"a/\xff", "a/\xff\xff"}},
		{"a\xff", []string{"a\xff", "a\xff\x00", "a\xff\xff"}},
		{"\xff", []string{"\xff", "\xff\x00", "\xff\xff"}},
		{"\xff\xff", []string{"\xff\xff"}},
		{"a/3", nil},
		{"c", nil},
		{"\xff\xff\xff", nil},
	}
	for _, c := range cases {
		wantKeys(t, "Scan(prefix "+quote(c.prefix)+")", scan(t, s, []byte(c.prefix), nil), c.want...)
	}
}

func testScanStart(t *testing.T, s storage.Store) {
	putKeys(t, s, orderKeys...)
	cases := []struct {
		prefix, start string
		want          []string
	}{
		{"a/", "a/2", []string{"a/2", "a/\xff", "a/\xff\xff"}},
		{"a/", "a/15", []string{"a/2", "a/\xff", "a/\xff\xff"}},
		{"a/", "0", []string{"a/", "a/1", "a/2", "a/\xff", "a/\xff\xff"}},
		{"a/", "a/\xff\xff\x00", nil},
		{"a/", "b", nil},
		{"", "a\xff\xff", []string{"a\xff\xff", "b", "\xff", "\xff\x00", "\xff\xff"}},
		{"\xff", "\xff\x00", []string{"\xff\x00", "\xff\xff"}},
	}
	for _, c := range cases {
		what := "Scan(prefix " + quote(c.prefix) + ", start " + quote(c.start) + ")"
		wantKeys(t, what, scan(t, s, []byte(c.prefix), []byte(c.start)), c.want...)
	}
}

func testScanStopsEarly(t *testing.T, s storage.Store) {
	putKeys(t, s, orderKeys...)
	var seen []string
	view(t, s, func(tx storage.Tx) error {
		return tx.Scan([]byte("a/"), nil, func(k, _ []byte) (bool, error) {
			seen = append(seen, string(k))
			return len(seen) < 2, nil
		})
	})
	if !slices.Equal(seen, []string{"a/", "a/1"}) {
		t.Fatalf("Scan stopping after 2 visited %q", seen)
	}
}

func testScanErrorPropagates(t *testing.T, s storage.Store) {
	putKeys(t, s, orderKeys...)
	calls := 0
	fn := func(tx storage.Tx) error {
		calls = 0
		err := tx.Scan(nil, nil, func(_, _ []byte) (bool, error) {
			calls++
			return true, errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Errorf("Scan error = %v, want errBoom", err)
		}
		if calls != 1 {
			t.Errorf("Scan called fn %d times after it failed, want 1", calls)
		}
		return err
	}
	if err := s.View(ctx(), fn); !errors.Is(err, errBoom) {
		t.Errorf("View error = %v, want errBoom", err)
	}
	if err := s.Update(ctx(), fn); !errors.Is(err, errBoom) {
		t.Errorf("Update error = %v, want errBoom", err)
	}
}

// testScanDeleteWhileScanning checks the common "delete everything under a
// prefix" pattern: deleting the visited key from inside Scan's callback must
// neither skip nor repeat keys.
func testScanDeleteWhileScanning(t *testing.T, s storage.Store) {
	var keys []string
	for i := range 300 {
		keys = append(keys, string(fmtKey("d/", i)))
	}
	putKeys(t, s, append(keys, "c", "e")...)
	var seen []string
	update(t, s, func(tx storage.Tx) error {
		seen = seen[:0]
		return tx.Scan([]byte("d/"), nil, func(k, _ []byte) (bool, error) {
			seen = append(seen, string(k))
			return true, tx.Delete(k)
		})
	})
	if !slices.Equal(seen, keys) {
		t.Fatalf("Scan while deleting visited %d keys, want %d (first %q)", len(seen), len(keys), seen[:min(3, len(seen))])
	}
	wantKeys(t, "after deleting d/", scan(t, s, nil, nil), "c", "e")
}
