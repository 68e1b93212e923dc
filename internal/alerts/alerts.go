// Package alerts evaluates security rules on the audit stream: each request's
// audit record goes through an Engine, which raises an Alert when a rule
// matches and hands it to a sink that must not block (the composition root
// records it as a Keyhaven.SecurityAlert event).
//
// Rules and severities:
//   - failed-reads (High): one caller (object id, else IP address) with at
//     least Threshold failed data-plane reads (401, 403 or 404 on Get*,
//     List*, Backup*, decrypt, unwrapKey, sign, release) within Window; at
//     most one alert per caller per Window.
//   - purge-or-backup: a successful PurgeDeleted{Secret,Key,Certificate} or
//     Vaults_PurgeDeleted (High), Backup{Secret,Key,Certificate} (Medium).
//   - settings-change: a successful change of who may do what — access
//     policies, role assignments and definitions, group members, application
//     credentials, external issuers (High) — or of other vault settings and
//     the directory (Medium).
//   - new-address (Low): a principal seen from an address it did not use
//     before, once it has a first address.
//
// Guarantees: Observe never blocks on I/O and, for a record that matches no
// rule (a successful GetSecret by a principal from a known address), does
// not allocate; an Alert carries identifiers, an address and an operation
// name, never a secret value, token or password. The state behind the
// failed-reads and new-address rules is in memory, per process: it starts
// empty at every start, and several servers each keep their own.
package alerts

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
)

// Rule names, the Rule (and event subject) of an Alert.
const (
	FailedReads    = "failed-reads"
	PurgeOrBackup  = "purge-or-backup"
	SettingsChange = "settings-change"
	NewAddress     = "new-address"
)

// Severities.
const (
	High   = "High"
	Medium = "Medium"
	Low    = "Low"
)

// Defaults of Options.
const (
	DefaultThreshold     = 20
	DefaultWindow        = 5 * time.Minute
	DefaultMaxAddresses  = 64
	DefaultMaxPrincipals = 100_000
	DefaultMaxCallers    = 100_000
)

// Alert is one match of a rule.
type Alert struct {
	Rule, Severity string
	Time           time.Time
	// VaultID and VaultName are the vault the request concerned; "" for
	// the server (authority-host operations at server scope).
	VaultID, VaultName string
	Principal          string // object id; "" for an unauthenticated caller
	AppID              string
	Address            string // the caller's IP address
	Operation          string // the audit operation name
	Count              int    // failed-reads: failures in Window; new-address: addresses known
	Window             time.Duration
	Description        string
}

// Options configure an Engine; zero values take the defaults.
type Options struct {
	Threshold int           // failed reads that raise failed-reads
	Window    time.Duration // the failed-reads window
	Now       func() time.Time
	// Emit receives every alert. It is called on the request path,
	// outside the engine's locks, and must not block.
	Emit func(Alert)
	// MaxAddresses bounds the addresses remembered per principal and
	// MaxPrincipals the principals; the oldest are forgotten first.
	MaxAddresses, MaxPrincipals int
	// MaxCallers bounds the callers whose recent failures are tracked.
	MaxCallers int
}

// Engine evaluates the rules; it is safe for concurrent use.
type Engine struct {
	threshold int
	window    time.Duration
	now       func() time.Time
	emit      func(Alert)

	fails failureWindows
	seen  addressBook
}

// New returns an Engine.
func New(o Options) *Engine {
	e := &Engine{threshold: o.Threshold, window: o.Window, now: o.Now, emit: o.Emit}
	if e.threshold <= 0 {
		e.threshold = DefaultThreshold
	}
	if e.window <= 0 {
		e.window = DefaultWindow
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.emit == nil {
		e.emit = func(Alert) {}
	}
	e.fails = failureWindows{max: orDefault(o.MaxCallers, DefaultMaxCallers), m: map[string]*failures{}}
	e.seen = addressBook{maxAddrs: orDefault(o.MaxAddresses, DefaultMaxAddresses), maxPrincipals: orDefault(o.MaxPrincipals, DefaultMaxPrincipals),
		m: map[string]*addresses{}}
	return e
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Observe runs the rules on one request's audit record; vaultID and
// vaultName are the vault it concerned ("" for none). rec is only read.
func (e *Engine) Observe(rec *audit.Record, vaultID, vaultName string) {
	op, status := rec.OperationName, rec.Properties.HTTPStatusCode
	var principal, appID string
	if id := rec.Identity; id != nil {
		principal, appID = id.Claim.ObjectID, id.Claim.AppID
	}
	switch {
	case status < 400:
		if c, ok := changes[op]; ok {
			e.raise(Alert{Rule: c.rule, Severity: c.severity, Description: c.description}, rec, vaultID, vaultName, principal, appID)
		}
	case vaultID != "" && failedStatus(status) && isRead(op):
		caller := principal
		if caller == "" {
			caller = rec.CallerIPAddress
		}
		if n, fire := e.fails.add(caller, e.now(), e.threshold, e.window); fire {
			e.raise(Alert{Rule: FailedReads, Severity: High, Count: n, Window: e.window,
				Description: fmt.Sprintf("%d failed data-plane reads (HTTP 401, 403 or 404) by one caller within %s.", n, e.window)},
				rec, vaultID, vaultName, principal, appID)
		}
	}
	if principal != "" && rec.CallerIPAddress != "" {
		if known, fresh := e.seen.visit(principal, rec.CallerIPAddress); fresh {
			e.raise(Alert{Rule: NewAddress, Severity: Low, Count: known,
				Description: fmt.Sprintf("The principal used an address it had not used before (%d addresses known).", known)},
				rec, vaultID, vaultName, principal, appID)
		}
	}
}

// raise completes a and hands it to the sink.
func (e *Engine) raise(a Alert, rec *audit.Record, vaultID, vaultName, principal, appID string) {
	a.Time = e.now().UTC()
	a.VaultID, a.VaultName = vaultID, vaultName
	a.Principal, a.AppID, a.Address, a.Operation = principal, appID, rec.CallerIPAddress, rec.OperationName
	e.emit(a)
}

func failedStatus(status int) bool { return status == 401 || status == 403 || status == 404 }

// isRead reports whether a data-plane operation reads: it returns data or
// uses a key to reveal or vouch for something.
func isRead(op string) bool {
	switch op {
	case "decrypt", "unwrapKey", "sign", "release":
		return true
	}
	return strings.HasPrefix(op, "Get") || strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Backup")
}

// change is what a successful operation of the purge-or-backup and
// settings-change rules raises.
type change struct{ rule, severity, description string }

// changes maps operation names (the route tables' op) to their alerts.
var changes = func() map[string]change {
	m := map[string]change{}
	add := func(rule, severity, description string, ops ...string) {
		for _, op := range ops {
			m[op] = change{rule, severity, description}
		}
	}
	add(PurgeOrBackup, High, "A deleted object or vault was purged: it cannot be recovered.",
		"PurgeDeletedSecret", "PurgeDeletedKey", "PurgeDeletedCertificate", "Vaults_PurgeDeleted")
	add(PurgeOrBackup, Medium, "An object was backed up: the backup can be restored elsewhere.",
		"BackupSecret", "BackupKey", "BackupCertificate")
	add(SettingsChange, High, "Who may do what changed: access policies, roles, group members, credentials or trusted issuers.",
		"Vaults_UpdateAccessPolicy", "CreateRoleAssignment", "DeleteRoleAssignment", "ActivateRoleAssignment",
		"CreateRoleDefinition", "DeleteRoleDefinition", "AddGroupMember", "RemoveGroupMember",
		"AddApplicationSecret", "AddApplicationCertificate", "AddApplicationFederatedCredential",
		"AddExternalIssuer", "RemoveExternalIssuer",
		"DeleteEventSubscription") // deleting a subscription is a way to stop alerts from being seen
	add(SettingsChange, Medium, "Vault settings or the directory changed.",
		"Vaults_CreateOrUpdate", "Vaults_Update", "Vaults_Delete",
		"CreateUser", "DeleteUser", "SetUserPassword", "EnrollUserTOTP", "RemoveUserTOTP", "RevokeUserSessions",
		"CreateGroup", "DeleteGroup", "CreateManagedIdentity", "DeleteManagedIdentity",
		"CreateApplication", "DeleteApplication", "RemoveApplicationCredential", "CreateOrUpdateEventSubscription")
	return m
}()

// failureWindows keeps, per caller, the times of its last threshold failed
// reads: the threshold-th most recent one inside the window means
// threshold failures within it.
type failureWindows struct {
	mu        sync.Mutex
	max       int
	m         map[string]*failures
	lastSweep time.Time
}

type failures struct {
	times   []int64 // Unix nanoseconds; a ring once it holds threshold entries
	next    int     // the oldest entry of the full ring
	alerted int64   // when the last alert was raised; 0 never
}

// add records a failure of caller at now and reports whether it raises an
// alert, with the number of failures it counts.
func (w *failureWindows) add(caller string, now time.Time, threshold int, window time.Duration) (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.m[caller]
	if f == nil {
		w.makeRoom(now, window)
		f = &failures{}
		w.m[caller] = f
	}
	t := now.UnixNano()
	var oldest int64
	if len(f.times) < threshold {
		f.times = append(f.times, t)
		if len(f.times) < threshold {
			return 0, false
		}
		oldest = f.times[0]
	} else {
		f.times[f.next] = t
		f.next = (f.next + 1) % threshold
		oldest = f.times[f.next]
	}
	if t-oldest >= int64(window) || (f.alerted != 0 && t-f.alerted < int64(window)) {
		return 0, false
	}
	f.alerted = t
	return threshold, true
}

// makeRoom keeps the map under max callers: at most ten times a window it
// forgets the callers with no failure or alert in the window; if that is
// not enough, it forgets one caller (the map's iteration order picks it).
func (w *failureWindows) makeRoom(now time.Time, window time.Duration) {
	if len(w.m) < w.max {
		return
	}
	if now.Sub(w.lastSweep) >= window/10 {
		w.lastSweep = now
		cutoff := now.Add(-window).UnixNano()
		for k, f := range w.m {
			if f.newest() < cutoff && f.alerted < cutoff {
				delete(w.m, k)
			}
		}
	}
	for k := range w.m {
		if len(w.m) < w.max {
			break
		}
		delete(w.m, k)
	}
}

// newest is the time of the latest failure.
func (f *failures) newest() int64 {
	if f.next == 0 {
		return f.times[len(f.times)-1]
	}
	return f.times[f.next-1]
}

// addressBook remembers the addresses each principal used, bounded: the
// oldest address of a principal and the oldest principal are forgotten
// first (a forgotten address counts as new when it returns; a forgotten
// principal starts over with no alert for its next first address). This
// memory is per process: a restart forgets everything.
type addressBook struct {
	mu            sync.RWMutex
	maxAddrs      int
	maxPrincipals int
	m             map[string]*addresses
	order         []string // principals in the order first seen, a ring once full
	next          int
}

type addresses struct {
	list []string // a ring once it holds maxAddrs entries
	next int
}

func (a *addresses) has(addr string) bool {
	for _, x := range a.list {
		if x == addr {
			return true
		}
	}
	return false
}

func (a *addresses) add(addr string, max int) {
	if len(a.list) < max {
		a.list = append(a.list, addr)
		return
	}
	a.list[a.next] = addr
	a.next = (a.next + 1) % max
}

// visit records that principal used addr and reports whether addr is new
// for a principal that already had an address, with how many it knows now.
func (b *addressBook) visit(principal, addr string) (known int, fresh bool) {
	b.mu.RLock()
	a := b.m[principal]
	seen := a != nil && a.has(addr)
	b.mu.RUnlock()
	if seen {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	a = b.m[principal]
	switch {
	case a == nil:
		b.remember(principal, &addresses{list: []string{addr}})
		return 1, false
	case a.has(addr):
		return 0, false
	}
	a.add(addr, b.maxAddrs)
	return len(a.list), true
}

// remember adds a principal, forgetting the oldest one when full.
func (b *addressBook) remember(principal string, a *addresses) {
	if len(b.order) < b.maxPrincipals {
		b.order = append(b.order, principal)
	} else {
		delete(b.m, b.order[b.next])
		b.order[b.next] = principal
		b.next = (b.next + 1) % b.maxPrincipals
	}
	b.m[principal] = a
}
