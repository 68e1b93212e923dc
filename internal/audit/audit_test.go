package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeRecords(t *testing.T, path string, key ed25519.PrivateKey, n int, maxBytes int64) {
	t.Helper()
	sink, err := OpenFile(path, maxBytes, FsyncAlways)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Options{Key: key, FailClosed: true}, sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		r := &Record{Time: time.Now(), OperationName: "GetSecret", Category: CategoryAuditEvent, ResultType: "Success",
			ResultSignature: "OK", Properties: Properties{RequestURI: "/secrets/s" + string(rune('a'+i%26)), HTTPStatusCode: 200}}
		if err := l.Log(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func verifyFiles(t *testing.T, key ed25519.PublicKey, paths ...string) Report {
	t.Helper()
	v := NewVerifier(key)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Read(filepath.Base(p), f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return v.Report()
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestChainAndCheckpointsVerify(t *testing.T) {
	pub, priv := newKey(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	writeRecords(t, path, priv, 20, 0)
	writeRecords(t, path, priv, 5, 0) // a restart continues the chain
	r := verifyFiles(t, pub, path)
	if !r.OK() || r.Records != 25 || r.Checkpoints != 2 || r.FirstSeq != 0 || r.LastSeq != 26 || r.ContinuesChain {
		t.Fatalf("report %+v", r)
	}
	other, _ := newKey(t)
	if r := verifyFiles(t, other, path); r.OK() || r.Checkpoints != 0 {
		t.Fatalf("a wrong key verified: %+v", r)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	pub, priv := newKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	writeRecords(t, path, priv, 10, 0)
	orig, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(orig), "\n")
	lines = lines[:len(lines)-1]
	cases := map[string]func([]string) []string{
		"edited":    func(l []string) []string { l[3] = strings.Replace(l[3], "GetSecret", "SetSecret", 1); return l },
		"removed":   func(l []string) []string { return append(l[:4], l[5:]...) },
		"reordered": func(l []string) []string { l[2], l[3] = l[3], l[2]; return l },
		"last edited": func(l []string) []string {
			l[len(l)-2] = strings.Replace(l[len(l)-2], `"OK"`, `"Forbidden"`, 1)
			return l
		},
		"checkpoint forged": func(l []string) []string {
			l[len(l)-1] = strings.Replace(l[len(l)-1], `"signature":"`, `"signature":"AA`, 1)
			return l
		},
		"tail cut": func(l []string) []string { return l[:len(l)-1] },
		"head cut": func(l []string) []string { return l[3:] },
		"CR added": func(l []string) []string { l[4] = strings.TrimSuffix(l[4], "\n") + "\r\n"; return l },
	}
	for name, mutate := range cases {
		bad := filepath.Join(dir, name)
		os.WriteFile(bad, []byte(strings.Join(mutate(append([]string(nil), lines...)), "")), 0o600)
		if r := verifyFiles(t, pub, bad); r.OK() {
			t.Errorf("%s: verify passed: %+v", name, r)
		}
	}
}

func TestRotationContinuesTheChain(t *testing.T) {
	pub, priv := newKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	writeRecords(t, path, priv, 40, 2000)
	files, _ := filepath.Glob(path + ".*")
	if len(files) < 2 {
		t.Fatalf("no rotation: %v", files)
	}
	sort.Strings(files)
	all := append(files, path)
	r := verifyFiles(t, pub, all...)
	if !r.OK() || r.Records != 40 {
		t.Fatalf("rotated files: %+v", r)
	}
	if r := verifyFiles(t, pub, all[1:]...); !r.ContinuesChain || r.OK() {
		t.Fatalf("a later file alone passed as complete: %+v", r)
	}
	if r := verifyFiles(t, pub, append([]string{all[0]}, all[2:]...)...); r.OK() {
		t.Fatal("a missing middle file went unnoticed")
	}
}

func TestTornTailIsDropped(t *testing.T) {
	pub, priv := newKey(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	writeRecords(t, path, priv, 3, 0)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2026-01-01T00:00:00Z","operationN`)
	f.Close()
	writeRecords(t, path, priv, 2, 0)
	if r := verifyFiles(t, pub, path); !r.OK() || r.Records != 5 {
		t.Fatalf("after a torn write: %+v", r)
	}
}

func TestFailClosedReportsWriteErrors(t *testing.T) {
	l, err := New(Options{FailClosed: true}, &failingSink{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Log(&Record{Category: CategoryAuditEvent}); err == nil || l.Err() == nil {
		t.Fatal("a failed write was acknowledged")
	}
}

type failingSink struct{ bytes.Buffer }

func (s *failingSink) Write([]byte) error { return os.ErrPermission }
func (s *failingSink) Last() []byte       { return nil }
func (s *failingSink) Close() error       { return nil }

// flakySink fails while down is set, then writes to a buffer.
type flakySink struct {
	mu   sync.Mutex
	down bool
	buf  bytes.Buffer
}

func (s *flakySink) Write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return os.ErrPermission
	}
	s.buf.Write(b)
	return nil
}
func (s *flakySink) Last() []byte { return nil }
func (s *flakySink) Close() error { return nil }

func TestFailuresKeepTheChainAndTheErrorState(t *testing.T) {
	pub, priv := newKey(t)
	sink := &flakySink{}
	l, err := New(Options{Key: priv, FailClosed: true, CheckpointEvery: 10 * time.Millisecond}, sink)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Record{Category: CategoryAuditEvent, OperationName: "GetSecret"}
	if err := l.Log(rec); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	sink.down = true
	sink.mu.Unlock()
	if err := l.Log(rec); err == nil {
		t.Fatal("a failed write was acknowledged")
	}
	time.Sleep(50 * time.Millisecond) // several idle checkpoint ticks
	if l.Err() == nil {
		t.Fatal("the error state cleared while the sink still fails")
	}
	sink.mu.Lock()
	sink.down = false
	sink.mu.Unlock()
	if err := l.Log(rec); err != nil {
		t.Fatal(err)
	}
	if l.Err() != nil {
		t.Fatal("the error state stayed after a good write")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(pub)
	if err := v.Read("log", bytes.NewReader(sink.buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if r := v.Report(); !r.OK() || r.Records != 2 {
		t.Fatalf("after a failed write the chain is broken: %+v", r)
	}
}

func TestRecordsWaitForAFailingSink(t *testing.T) {
	pub, priv := newKey(t)
	sink := &flakySink{down: true}
	l, err := New(Options{Key: priv, CheckpointEvery: 10 * time.Millisecond}, sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := l.Log(&Record{Category: CategoryAuditEvent, OperationName: "GetSecret"}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(30 * time.Millisecond)
	if l.Err() == nil {
		t.Fatal("no error while the sink is down")
	}
	sink.mu.Lock()
	sink.down = false
	sink.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // the next tick writes the backlog
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(pub)
	if err := v.Read("log", bytes.NewReader(sink.buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if r := v.Report(); !r.OK() || r.Records != 5 || l.Dropped() != 0 {
		t.Fatalf("records lost while the sink was down: %+v", r)
	}
}
