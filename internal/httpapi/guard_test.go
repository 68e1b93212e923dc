package httpapi

import (
	"testing"
	"time"
)

func TestGuardSlowsGuessingDown(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	g := newGuard(func() time.Time { return now })
	for i := 0; i < guardFree; i++ {
		if g.fail("k", guardFree) || g.blocked("k") != 0 {
			t.Fatalf("failure %d already refused", i+1)
		}
	}
	if !g.fail("k", guardFree) || g.blocked("k") != time.Second {
		t.Fatalf("after %d failures: blocked %v", guardFree+1, g.blocked("k"))
	}
	g.fail("k", guardFree)
	g.fail("k", guardFree)
	if g.blocked("k") != 4*time.Second {
		t.Fatalf("the delay does not double: %v", g.blocked("k"))
	}
	for i := 0; i < 40; i++ {
		g.fail("k", guardFree)
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
	g.fail("k", guardFree)
	now = now.Add(guardWindow + time.Second)
	for i := 0; i < guardFree; i++ {
		if g.fail("k", guardFree) {
			t.Fatal("failures outside the window still count")
		}
	}
}
