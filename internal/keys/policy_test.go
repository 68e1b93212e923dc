package keys

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	base := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		ok   bool
		want time.Time
	}{
		{in: "P90D", ok: true, want: base.AddDate(0, 0, 90)},
		{in: "P1Y6M", ok: true, want: base.AddDate(1, 6, 0)},
		{in: "P2W", ok: true, want: base.AddDate(0, 0, 14)},
		{in: "PT36H", ok: true, want: base.Add(36 * time.Hour)},
		{in: "P1DT1H1M1S", ok: true, want: base.AddDate(0, 0, 1).Add(time.Hour + time.Minute + time.Second)},
		{in: "P"}, {in: "PT"}, {in: "P1DT"}, {in: "90D"}, {in: "P-1D"}, {in: "P1.5D"}, {in: ""}, {in: "P99999999D"},
	}
	for _, c := range cases {
		d, ok := parseDuration(c.in)
		if ok != c.ok {
			t.Errorf("%q: ok=%v", c.in, ok)
			continue
		}
		if ok && !d.addTo(base).Equal(c.want) {
			t.Errorf("%q: %v, want %v", c.in, d.addTo(base), c.want)
		}
	}
	if d, _ := parseDuration("P28D"); !d.atLeast(28) || d.atLeast(29) {
		t.Error("atLeast")
	}
}

func TestPolicyNormalize(t *testing.T) {
	rotate := func(trigger Trigger) LifetimeAction {
		return LifetimeAction{Trigger: trigger, Action: Action{Type: "rotate"}}
	}
	notify := func(trigger Trigger) LifetimeAction {
		return LifetimeAction{Trigger: trigger, Action: Action{Type: "NOTIFY"}}
	}
	cases := []struct {
		name    string
		p       Policy
		ok      bool
		actions int
	}{
		{name: "rotate only gets the default notify", p: Policy{LifetimeActions: []LifetimeAction{rotate(Trigger{TimeAfterCreate: "P30D"})}}, ok: true, actions: 2},
		{name: "both", p: Policy{LifetimeActions: []LifetimeAction{rotate(Trigger{TimeBeforeExpiry: "P30D"}), notify(Trigger{TimeBeforeExpiry: "P10D"})},
			Attributes: PolicyAttributes{ExpiryTime: "P1Y"}}, ok: true, actions: 2},
		{name: "empty gets notify", p: Policy{}, ok: true, actions: 1},
		{name: "two rotates", p: Policy{LifetimeActions: []LifetimeAction{rotate(Trigger{TimeAfterCreate: "P30D"}), rotate(Trigger{TimeAfterCreate: "P40D"})}}},
		{name: "notify after create", p: Policy{LifetimeActions: []LifetimeAction{notify(Trigger{TimeAfterCreate: "P30D"})}}},
		{name: "both triggers", p: Policy{LifetimeActions: []LifetimeAction{rotate(Trigger{TimeAfterCreate: "P30D", TimeBeforeExpiry: "P30D"})}}},
		{name: "no trigger", p: Policy{LifetimeActions: []LifetimeAction{rotate(Trigger{})}}},
		{name: "under 7 days", p: Policy{LifetimeActions: []LifetimeAction{rotate(Trigger{TimeAfterCreate: "P6D"})}}},
		{name: "expiry under 28 days", p: Policy{Attributes: PolicyAttributes{ExpiryTime: "P27D"}}},
		{name: "rotate before expiry without expiryTime", p: Policy{LifetimeActions: []LifetimeAction{rotate(Trigger{TimeBeforeExpiry: "P30D"})}}},
		{name: "unknown action", p: Policy{LifetimeActions: []LifetimeAction{{Trigger: Trigger{TimeAfterCreate: "P30D"}, Action: Action{Type: "Delete"}}}}},
		{name: "bad duration", p: Policy{LifetimeActions: []LifetimeAction{rotate(Trigger{TimeAfterCreate: "30 days"})}}},
	}
	for _, c := range cases {
		err := c.p.normalize()
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.ok && len(c.p.LifetimeActions) != c.actions {
			t.Errorf("%s: %d actions", c.name, len(c.p.LifetimeActions))
		}
	}
}

func TestDue(t *testing.T) {
	created := time.Unix(1_800_000_000, 0)
	exp := created.AddDate(0, 0, 90).Unix()
	rec := &record{Created: created.Unix(), Expires: &exp}
	p := &Policy{LifetimeActions: []LifetimeAction{
		{Trigger: Trigger{TimeAfterCreate: "P30D"}, Action: Action{Type: "Rotate"}},
		{Trigger: Trigger{TimeBeforeExpiry: "P10D"}, Action: Action{Type: "Notify"}},
	}}
	cases := []struct {
		at             time.Time
		rotate, notify bool
	}{
		{at: created.AddDate(0, 0, 29)},
		{at: created.AddDate(0, 0, 30), rotate: true},
		{at: created.AddDate(0, 0, 80), rotate: true, notify: true},
	}
	for _, c := range cases {
		if got := due(p, "Rotate", rec, c.at); got != c.rotate {
			t.Errorf("rotate at %v: %v", c.at, got)
		}
		if got := due(p, "Notify", rec, c.at); got != c.notify {
			t.Errorf("notify at %v: %v", c.at, got)
		}
	}
	if due(p, "Notify", &record{Created: created.Unix()}, created.AddDate(5, 0, 0)) {
		t.Error("notify without an expiry")
	}
}
