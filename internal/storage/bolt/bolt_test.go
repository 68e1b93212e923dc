package bolt_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/storage/bolt"
	"github.com/keyhaven/keyhaven/internal/storage/storagetest"
)

func openTemp(tb testing.TB) storage.Store {
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "data", "keyhaven.db"), bolt.Options{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openTemp(t) })
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(b *testing.B) storage.Store { return openTemp(b) })
}

func TestReopenPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	s := mustOpen(t, path, bolt.Options{})
	err := s.Update(context.Background(), func(tx storage.Tx) error {
		return errors.Join(tx.Put([]byte("a"), []byte("1")), tx.Put([]byte("b"), nil))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = mustOpen(t, path, bolt.Options{})
	defer s.Close()
	err = s.View(context.Background(), func(tx storage.Tx) error {
		a, errA := tx.Get([]byte("a"))
		b, errB := tx.Get([]byte("b"))
		if string(a) != "1" || len(b) != 0 {
			t.Errorf("after reopen a=%q b=%q", a, b)
		}
		return errors.Join(errA, errB)
	})
	if err != nil {
		t.Fatalf("View after reopen: %v", err)
	}
}

func TestFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "keyhaven.db")
	s := mustOpen(t, path, bolt.Options{})
	defer s.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only remove bits.
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s mode %v, want at most %v", p, got, want)
		}
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	s := mustOpen(t, path, bolt.Options{})
	defer s.Close()
	start := time.Now()
	s2, err := bolt.Open(path, bolt.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		s2.Close()
		t.Fatal("second Open of the same file succeeded")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("second Open error = %v, want one wrapping ErrLocked", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %v", d)
	}
	t.Logf("second Open: %v", err)
}

func TestOpenDefaultLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyhaven.db")
	s := mustOpen(t, path, bolt.Options{})
	defer s.Close()
	start := time.Now()
	if _, err := bolt.Open(path, bolt.Options{}); !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("second Open error = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d < bolt.DefaultLockTimeout/2 || d > 3*bolt.DefaultLockTimeout {
		t.Errorf("second Open failed after %v, want about %v", d, bolt.DefaultLockTimeout)
	}
}

func TestOpenBadPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, make([]byte, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.Open(filepath.Join(file, "keyhaven.db"), bolt.Options{}); err == nil {
		t.Error("Open under a regular file succeeded")
	}
	if _, err := bolt.Open(file, bolt.Options{}); err == nil {
		t.Error("Open of a file that is not a database succeeded")
	}
}

func mustOpen(t *testing.T, path string, opts bolt.Options) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// A noted generation survives a reopen unchanged (opening an existing file
// writes nothing) and any later write moves the generation past it.
func TestGenerationNoteSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "keyhaven.db")
	s := mustOpen(t, path, bolt.Options{})
	if err := s.Update(context.Background(), func(tx storage.Tx) error { return tx.Put([]byte("a"), []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteGeneration([]byte("note")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, bolt.Options{})
	defer s.Close()
	gen, err := s.Generation()
	if err != nil {
		t.Fatal(err)
	}
	var noted []byte
	_ = s.View(context.Background(), func(tx storage.Tx) error { noted, err = tx.Get([]byte("note")); return err })
	if err != nil || len(noted) != 8 || binary.BigEndian.Uint64(noted) != gen {
		t.Fatalf("noted %x (%v), generation after reopen %d", noted, err, gen)
	}
	if err := s.Update(context.Background(), func(tx storage.Tx) error { return tx.Put([]byte("b"), []byte("2")) }); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.Generation(); after <= gen {
		t.Fatalf("a write left the generation at %d (noted %d)", after, gen)
	}
}
