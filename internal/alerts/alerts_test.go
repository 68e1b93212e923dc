package alerts

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
)

// bench is an Engine on a clock the test moves, collecting its alerts.
type bench struct {
	e   *Engine
	now time.Time
	mu  sync.Mutex
	got []Alert
}

func newBench(o Options) *bench {
	b := &bench{now: time.Unix(1_700_000_000, 0).UTC()}
	o.Now = func() time.Time { return b.now }
	o.Emit = func(a Alert) {
		b.mu.Lock()
		b.got = append(b.got, a)
		b.mu.Unlock()
	}
	b.e = New(o)
	return b
}

// take returns the alerts raised since the last take.
func (b *bench) take() []Alert {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.got
	b.got = nil
	return out
}

// record is an audit record of op with status by principal (object id
// "" for none) from addr.
func record(op string, status int, principal, addr string) *audit.Record {
	r := &audit.Record{OperationName: op, CallerIPAddress: addr, Properties: audit.Properties{HTTPStatusCode: status}}
	if principal != "" {
		r.Identity = &audit.Identity{Claim: audit.Claims{ObjectID: principal, AppID: "app-" + principal}}
	}
	return r
}

func (b *bench) fail(n int, op, principal, addr string) {
	for range n {
		b.e.Observe(record(op, 403, principal, addr), "vault-id", "dev")
	}
}

func TestFailedReadsThresholdWindowAndOncePerWindow(t *testing.T) {
	b := newBench(Options{Threshold: 5, Window: time.Minute})
	b.fail(4, "GetSecret", "p1", "10.0.0.1")
	if got := b.take(); len(got) != 0 {
		t.Fatalf("alert below the threshold: %+v", got)
	}
	b.fail(1, "GetSecret", "p1", "10.0.0.1")
	got := b.take()
	if len(got) != 1 {
		t.Fatalf("alerts at the threshold: %d, want 1", len(got))
	}
	want := Alert{Rule: FailedReads, Severity: High, Time: b.now, VaultID: "vault-id", VaultName: "dev", Principal: "p1", AppID: "app-p1",
		Address: "10.0.0.1", Operation: "GetSecret", Count: 5, Window: time.Minute, Description: got[0].Description}
	if got[0] != want {
		t.Fatalf("alert:\n got %+v\nwant %+v", got[0], want)
	}

	// Once per window: more failures within it raise nothing.
	b.now = b.now.Add(30 * time.Second)
	b.fail(20, "GetKey", "p1", "10.0.0.1")
	if got := b.take(); len(got) != 0 {
		t.Fatalf("a second alert within the window: %+v", got)
	}
	// A window after the alert, a new burst alerts again.
	b.now = b.now.Add(31 * time.Second)
	b.fail(5, "GetSecret", "p1", "10.0.0.1")
	if got := b.take(); len(got) != 1 {
		t.Fatalf("alerts after the window: %d, want 1", len(got))
	}
}

func TestFailedReadsSlidingWindowExpires(t *testing.T) {
	b := newBench(Options{Threshold: 3, Window: time.Minute})
	b.fail(2, "GetSecret", "p1", "10.0.0.1")
	b.now = b.now.Add(61 * time.Second) // the first two leave the window
	b.fail(2, "GetSecret", "p1", "10.0.0.1")
	if got := b.take(); len(got) != 0 {
		t.Fatalf("failures outside the window counted: %+v", got)
	}
	b.now = b.now.Add(59 * time.Second) // the last two are still inside
	b.fail(1, "GetSecret", "p1", "10.0.0.1")
	if got := b.take(); len(got) != 1 || got[0].Count != 3 {
		t.Fatalf("three failures within the window: %+v", got)
	}
}

func TestFailedReadsWhatCounts(t *testing.T) {
	tests := []struct {
		name    string
		op      string
		status  int
		vaultID string
		want    int
	}{
		{name: "403 on GetSecret", op: "GetSecret", status: 403, vaultID: "v", want: 1},
		{name: "401 on List", op: "GetSecrets", status: 401, vaultID: "v", want: 1},
		{name: "404 on backup", op: "BackupKey", status: 404, vaultID: "v", want: 1},
		{name: "decrypt", op: "decrypt", status: 403, vaultID: "v", want: 1},
		{name: "unwrapKey", op: "unwrapKey", status: 403, vaultID: "v", want: 1},
		{name: "sign", op: "sign", status: 403, vaultID: "v", want: 1},
		{name: "writes do not count", op: "SetSecret", status: 403, vaultID: "v", want: 0},
		{name: "encrypt does not count", op: "encrypt", status: 403, vaultID: "v", want: 0},
		{name: "other errors do not count", op: "GetSecret", status: 429, vaultID: "v", want: 0},
		{name: "successes do not count", op: "GetSecret", status: 200, vaultID: "v", want: 0},
		{name: "authority host reads are not data-plane", op: "GetUser", status: 403, vaultID: "", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(Options{Threshold: 2})
			for range 2 {
				b.e.Observe(record(tt.op, tt.status, "", "10.0.0.9"), tt.vaultID, "dev")
			}
			if got := b.take(); len(got) != tt.want {
				t.Fatalf("alerts: %d, want %d (%+v)", len(got), tt.want, got)
			}
		})
	}
}

// Unauthenticated failures count per address, authenticated ones per
// principal whatever its address.
func TestFailedReadsCallerKey(t *testing.T) {
	b := newBench(Options{Threshold: 4})
	b.fail(2, "GetSecret", "", "10.0.0.1")
	b.fail(2, "GetSecret", "", "10.0.0.2")
	if got := b.take(); len(got) != 0 {
		t.Fatalf("two addresses counted as one caller: %+v", got)
	}
	b.fail(2, "GetSecret", "p1", "10.0.0.3")
	b.fail(2, "GetSecret", "p1", "10.0.0.4")
	got := b.take()
	var failed []Alert
	for _, a := range got {
		if a.Rule == FailedReads {
			failed = append(failed, a)
		}
	}
	if len(failed) != 1 || failed[0].Principal != "p1" || failed[0].Address != "10.0.0.4" {
		t.Fatalf("one principal from two addresses: %+v", got)
	}
}

// The failure table stays within MaxCallers, forgetting idle callers first.
func TestFailedReadsBoundedCallers(t *testing.T) {
	b := newBench(Options{Threshold: 3, Window: time.Minute, MaxCallers: 10})
	for i := range 10 {
		b.fail(1, "GetSecret", "", fmt.Sprintf("10.0.0.%d", i))
	}
	b.now = b.now.Add(2 * time.Minute)
	b.fail(2, "GetSecret", "", "10.0.1.1")
	for i := range 30 {
		b.fail(1, "GetSecret", "", fmt.Sprintf("10.0.2.%d", i))
	}
	if n := len(b.e.fails.m); n > 10 {
		t.Fatalf("%d callers tracked, want at most 10", n)
	}
}

func TestPurgeOrBackup(t *testing.T) {
	tests := []struct {
		op, severity string
		status       int
		want         bool
	}{
		{op: "PurgeDeletedSecret", severity: High, status: 204, want: true},
		{op: "PurgeDeletedKey", severity: High, status: 204, want: true},
		{op: "PurgeDeletedCertificate", severity: High, status: 204, want: true},
		{op: "Vaults_PurgeDeleted", severity: High, status: 200, want: true},
		{op: "BackupSecret", severity: Medium, status: 200, want: true},
		{op: "BackupKey", severity: Medium, status: 200, want: true},
		{op: "BackupCertificate", severity: Medium, status: 200, want: true},
		{op: "PurgeDeletedSecret", status: 403, want: false},
		{op: "RecoverDeletedSecret", status: 200, want: false},
	}
	for _, tt := range tests {
		b := newBench(Options{})
		b.e.Observe(record(tt.op, tt.status, "p1", "10.0.0.1"), "vault-id", "dev")
		got := b.take()
		switch {
		case !tt.want && len(got) != 0:
			t.Errorf("%s %d: alerts %+v", tt.op, tt.status, got)
		case tt.want && (len(got) != 1 || got[0].Rule != PurgeOrBackup || got[0].Severity != tt.severity || got[0].Operation != tt.op ||
			got[0].VaultName != "dev" || got[0].Principal != "p1"):
			t.Errorf("%s: alerts %+v, want one %s %s", tt.op, got, PurgeOrBackup, tt.severity)
		}
	}
}

func TestSettingsChange(t *testing.T) {
	tests := []struct {
		op, severity string
		status       int
		want         bool
	}{
		{op: "Vaults_UpdateAccessPolicy", severity: High, status: 200, want: true},
		{op: "CreateRoleAssignment", severity: High, status: 201, want: true},
		{op: "DeleteRoleAssignment", severity: High, status: 200, want: true},
		{op: "ActivateRoleAssignment", severity: High, status: 200, want: true},
		{op: "CreateRoleDefinition", severity: High, status: 201, want: true},
		{op: "DeleteRoleDefinition", severity: High, status: 200, want: true},
		{op: "AddExternalIssuer", severity: High, status: 201, want: true},
		{op: "RemoveExternalIssuer", severity: High, status: 204, want: true},
		{op: "AddGroupMember", severity: High, status: 204, want: true},
		{op: "AddApplicationSecret", severity: High, status: 201, want: true},
		{op: "Vaults_CreateOrUpdate", severity: Medium, status: 200, want: true},
		{op: "Vaults_Update", severity: Medium, status: 200, want: true},
		{op: "Vaults_Delete", severity: Medium, status: 200, want: true},
		{op: "CreateUser", severity: Medium, status: 201, want: true},
		{op: "CreateApplication", severity: Medium, status: 201, want: true},
		{op: "CreateRoleAssignment", status: 403, want: false},
		{op: "ListRoleAssignments", status: 200, want: false},
		{op: "Vaults_Get", status: 200, want: false},
	}
	for _, tt := range tests {
		b := newBench(Options{})
		b.e.Observe(record(tt.op, tt.status, "p1", "10.0.0.1"), "", "")
		got := b.take()
		switch {
		case !tt.want && len(got) != 0:
			t.Errorf("%s %d: alerts %+v", tt.op, tt.status, got)
		case tt.want && (len(got) != 1 || got[0].Rule != SettingsChange || got[0].Severity != tt.severity || got[0].VaultID != "" ||
			got[0].Operation != tt.op || got[0].AppID != "app-p1"):
			t.Errorf("%s: alerts %+v, want one %s %s", tt.op, got, SettingsChange, tt.severity)
		}
	}
}

func TestNewAddressOnlyAfterTheFirst(t *testing.T) {
	b := newBench(Options{})
	ok := func(p, addr string) { b.e.Observe(record("GetSecret", 200, p, addr), "vault-id", "dev") }
	ok("p1", "10.0.0.1")
	ok("p1", "10.0.0.1")
	ok("p2", "10.0.0.2")
	if got := b.take(); len(got) != 0 {
		t.Fatalf("a first address alerted: %+v", got)
	}
	ok("p1", "10.0.0.3")
	got := b.take()
	if len(got) != 1 || got[0].Rule != NewAddress || got[0].Severity != Low || got[0].Principal != "p1" || got[0].Address != "10.0.0.3" ||
		got[0].Count != 2 {
		t.Fatalf("new address: %+v", got)
	}
	b.now = b.now.Add(24 * time.Hour)
	ok("p1", "10.0.0.3")
	ok("p1", "10.0.0.1")
	if got := b.take(); len(got) != 0 {
		t.Fatalf("a known address alerted again: %+v", got)
	}
	b.e.Observe(record("GetSecret", 401, "", "10.9.9.9"), "vault-id", "dev")
	if got := b.take(); len(got) != 0 {
		t.Fatalf("an unauthenticated request is no principal's: %+v", got)
	}
}

// Memory is bounded: the oldest address of a principal and the oldest
// principal are forgotten first.
func TestNewAddressBounded(t *testing.T) {
	b := newBench(Options{MaxAddresses: 2, MaxPrincipals: 2})
	ok := func(p, addr string) { b.e.Observe(record("GetSecret", 200, p, addr), "vault-id", "dev") }
	ok("p1", "a1")
	ok("p1", "a2")
	ok("p1", "a3") // forgets a1
	b.take()
	ok("p1", "a1")
	if got := b.take(); len(got) != 1 {
		t.Fatalf("a forgotten address: %d alerts, want 1", len(got))
	}
	ok("p2", "b1")
	ok("p3", "c1") // forgets p1
	if len(b.e.seen.m) != 2 {
		t.Fatalf("%d principals remembered, want 2", len(b.e.seen.m))
	}
	ok("p1", "z9")
	if got := b.take(); len(got) != 0 {
		t.Fatalf("a forgotten principal's next address is its first: %+v", got)
	}
}

// The hot path: a record that matches no rule allocates nothing.
func TestObserveNoAllocationOnMiss(t *testing.T) {
	b := newBench(Options{})
	rec := record("GetSecret", 200, "p1", "10.0.0.1")
	b.e.Observe(rec, "vault-id", "dev")
	if n := testing.AllocsPerRun(1000, func() { b.e.Observe(rec, "vault-id", "dev") }); n != 0 {
		t.Fatalf("Observe of a successful GetSecret allocates %.1f times", n)
	}
	if got := b.take(); len(got) != 0 {
		t.Fatalf("alerts: %+v", got)
	}
}

func BenchmarkObserveGetSecret(b *testing.B) {
	e := New(Options{})
	rec := record("GetSecret", 200, "p1", "10.0.0.1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Observe(rec, "vault-id", "dev")
		}
	})
}
