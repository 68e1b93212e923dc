package events

import (
	"encoding/json"
	"testing"
	"time"
)

func TestSecurityAlertMatches(t *testing.T) {
	created := time.Unix(1_700_000_000, 0)
	sub := func(vaultID string, types ...string) *Subscription {
		return &Subscription{Name: "s", VaultID: vaultID, EventTypes: types, Created: created}
	}
	vaultAlert := &Event{Type: SecurityAlert, Time: created, VaultID: "v1", VaultName: "one"}
	serverAlert := &Event{Type: SecurityAlert, Time: created}
	tests := []struct {
		name string
		sub  *Subscription
		ev   *Event
		want bool
	}{
		{name: "vault alert, no filter", sub: sub("v1"), ev: vaultAlert, want: true},
		{name: "vault alert, named", sub: sub("v1", SecurityAlert), ev: vaultAlert, want: true},
		{name: "vault alert, other type", sub: sub("v1", SecretNewVersionCreated), ev: vaultAlert, want: false},
		{name: "vault alert, other vault", sub: sub("v2", SecurityAlert), ev: vaultAlert, want: false},
		{name: "server alert, no filter", sub: sub("v1"), ev: serverAlert, want: false},
		{name: "server alert, named, any vault", sub: sub("v2", SecretNewVersionCreated, SecurityAlert), ev: serverAlert, want: true},
		{name: "server alert before the subscription", sub: sub("v1", SecurityAlert),
			ev: &Event{Type: SecurityAlert, Time: created.Add(-time.Second)}, want: false},
	}
	for _, tt := range tests {
		if got := tt.sub.matches(tt.ev); got != tt.want {
			t.Errorf("%s: matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSecurityAlertElement(t *testing.T) {
	e := &Event{ID: "0123456789abcdef0123456789abcdef", Type: SecurityAlert, Time: time.Unix(1_700_000_000, 0),
		Data: Data{Alert: &Alert{Rule: "settings-change", Severity: "High", Principal: "oid", AppID: "app", Address: "10.0.0.1",
			Operation: "CreateRoleAssignment", Description: "d"}}}
	topic := ServerTopic("sub")
	if topic != "/subscriptions/sub/resourceGroups/keyhaven/providers/Keyhaven/servers/keyhaven" {
		t.Fatalf("server topic: %s", topic)
	}
	raw, err := body(SchemaEventGrid, element(SchemaEventGrid, topic, e, VaultRef{}))
	if err != nil {
		t.Fatal(err)
	}
	var evs []struct {
		Topic, Subject, EventType string
		Data                      map[string]any
	}
	if err := json.Unmarshal(raw, &evs); err != nil || len(evs) != 1 {
		t.Fatalf("body: %s", raw)
	}
	want := map[string]any{"VaultName": "", "Rule": "settings-change", "Severity": "High", "Principal": "oid", "AppId": "app",
		"Address": "10.0.0.1", "Operation": "CreateRoleAssignment", "Count": 0.0, "WindowSeconds": 0.0, "Description": "d"}
	ev := evs[0]
	if ev.Topic != topic || ev.Subject != "settings-change" || ev.EventType != SecurityAlert || len(ev.Data) != len(want) {
		t.Fatalf("event: %s", raw)
	}
	for k, v := range want {
		if ev.Data[k] != v {
			t.Errorf("data.%s = %v, want %v", k, ev.Data[k], v)
		}
	}
}
