package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
)

// After a clean stop nothing is rechecked at the next start; after a crash
// the copies of current versions in object heads are checked before the
// server serves, and reads return the last acknowledged version.
func TestHeadCopiesCheckedAfterUncleanStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	const checked = "checked the objects' copies of their current versions"
	ctx := context.Background()
	dir := t.TempDir()
	put := func(p *process, value string) {
		t.Helper()
		if st, _, err := p.request(ctx, "PUT", "/secrets/s?api-version=7.6", `{"value":"`+value+`"}`); err != nil || st != 200 {
			t.Fatalf("set %s: %d %v", value, st, err)
		}
	}
	get := func(p *process) string {
		t.Helper()
		st, body, err := p.request(ctx, "GET", "/secrets/s?api-version=7.6", "")
		if err != nil || st != 200 {
			t.Fatalf("get: %d %v %v", st, body, err)
		}
		v, _ := body["value"].(string)
		return v
	}
	stop := func(p *process, sig syscall.Signal) {
		t.Helper()
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
	}

	first := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase)
	first.login()
	put(first, "one")
	stop(first, syscall.SIGTERM)

	second := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase)
	second.login()
	if strings.Contains(second.logText(), checked) {
		t.Fatalf("checked after a clean stop:\n%s", second.logText())
	}
	if v := get(second); v != "one" {
		t.Fatalf("after a clean restart: %q", v)
	}
	put(second, "two")
	stop(second, syscall.SIGKILL)

	third := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase)
	third.login()
	if !strings.Contains(third.logText(), checked) {
		t.Fatalf("not checked after a crash:\n%s", third.logText())
	}
	if v := get(third); v != "two" {
		t.Fatalf("after a crash: %q", v)
	}
}
