package httpapi

import (
	"fmt"
	"testing"
	"time"
)

func TestGuardSlowsGuessingDown(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	g := newGuard(func() time.Time { return now })
	for i := 0; i < guardFree; i++ {
		if g.fail("k", guardFree, guardWindow) || g.blocked("k") != 0 {
			t.Fatalf("failure %d already refused", i+1)
		}
	}
	if !g.fail("k", guardFree, guardWindow) || g.blocked("k") != time.Second {
		t.Fatalf("after %d failures: blocked %v", guardFree+1, g.blocked("k"))
	}
	g.fail("k", guardFree, guardWindow)
	g.fail("k", guardFree, guardWindow)
	if g.blocked("k") != 4*time.Second {
		t.Fatalf("the delay does not double: %v", g.blocked("k"))
	}
	for i := 0; i < 40; i++ {
		g.fail("k", guardFree, guardWindow)
	}
	if g.blocked("k") != guardMaxDelay {
		t.Fatalf("the delay is not capped: %v", g.blocked("k"))
	}
	if g.blocked("other") != 0 {
		t.Fatal("another key is refused")
	}
	g.succeed("k")
	if g.blocked("k") != 0 {
		t.Fatal("a success does not clear the key")
	}
	g.fail("k", guardFree, guardWindow)
	now = now.Add(guardWindow + time.Second)
	for i := 0; i < guardFree; i++ {
		if g.fail("k", guardFree, guardWindow) {
			t.Fatal("failures outside the window still count")
		}
	}
}

// The account key counts failures from every address for an hour; an
// address the person signed in from before stays familiar for 30 days, up
// to familiarAddrs of them.
func TestGuardAccountsAndFamiliarAddresses(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	g := newGuard(func() time.Time { return now })
	if free, window := guardPolicy("account:ada@example.com"); free != guardFreeAccount || window != time.Hour {
		t.Fatalf("account policy: %d %v", free, window)
	}
	if free, window := guardPolicy("user:ada@example.com@10.0.0.1"); free != guardFree || window != guardWindow {
		t.Fatalf("person-at-address policy: %d %v", free, window)
	}
	for i := range guardFreeAccount {
		now = now.Add(5 * time.Minute) // spread over most of the hour
		if g.fail("account:ada", guardFreeAccount, guardAccountWindow) {
			t.Fatalf("failure %d refused", i+1)
		}
	}
	if !g.fail("account:ada", guardFreeAccount, guardAccountWindow) {
		t.Fatal("failures spread over the hour were forgotten")
	}

	g.remember("ada", "10.0.0.1")
	if !g.knows("ada", "10.0.0.1") || g.knows("ada", "10.0.0.2") || g.knows("bob", "10.0.0.1") {
		t.Fatal("familiar addresses mixed up")
	}
	for i := range familiarAddrs {
		now = now.Add(time.Minute)
		g.remember("ada", fmt.Sprintf("10.0.1.%d", i))
	}
	if g.knows("ada", "10.0.0.1") || !g.knows("ada", "10.0.1.0") {
		t.Fatal("the oldest address was not the one dropped")
	}
	now = now.Add(familiarFor + time.Minute)
	if g.knows("ada", "10.0.1.7") {
		t.Fatal("an address stayed familiar past familiarFor")
	}
}
