package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// alertEvent is a Keyhaven.SecurityAlert as a receiver got it, in either
// schema; parseAlerts groups them by rule and skips other event types.
type alertEvent struct {
	topic, subject, eventType string
	data                      map[string]any
	raw                       string
}

func parseAlerts(t *testing.T, notes []received, cloudEvents bool) map[string][]alertEvent {
	t.Helper()
	out := map[string][]alertEvent{}
	for _, n := range notes {
		var ev struct {
			Topic, Subject, EventType, Source, Type string
			Data                                    map[string]any
		}
		body := n.body
		if !cloudEvents {
			var list []json.RawMessage
			if err := json.Unmarshal(n.body, &list); err != nil || len(list) != 1 {
				t.Fatalf("not an Event Grid array of one: %s", n.body)
			}
			body = list[0]
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("notification: %s", n.body)
		}
		if ev.EventType+ev.Type != "Keyhaven.SecurityAlert" {
			continue
		}
		a := alertEvent{topic: ev.Topic + ev.Source, subject: ev.Subject, eventType: ev.EventType + ev.Type, data: ev.Data, raw: string(n.body)}
		rule, _ := ev.Data["Rule"].(string)
		if ev.Data["Operation"] == "CreateOrUpdateEventSubscription" {
			rule = "subscription-change" // the test's own subscriptions, reported apart
		}
		out[rule] = append(out[rule], a)
	}
	return out
}

func flushAlerts(t *testing.T, srv *testenv.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.App.FlushAlerts(ctx); err != nil {
		t.Fatalf("flush alerts: %v", err)
	}
}

// Security alerts end to end: 25 failed GetSecret calls by one application
// raise one failed-reads alert (the SDKs' unauthenticated challenge probes
// none), a purge and a backup raise purge-or-backup, a role assignment
// (server scope) raises settings-change; all arrive as
// Keyhaven.SecurityAlert at a subscription that names the type, the
// vault's at a subscription without a filter too, none carrying a secret
// value, credential or token.
func TestSecurityAlertsDelivered(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	admin := newRaw(t, srv)
	code, app := mgmt(t, srv, admin.token, "POST", "/identity/applications", `{"displayName":"prober"}`)
	if code != 201 {
		t.Fatalf("create application: %d %v", code, app)
	}
	objectID, appID, appSecret := app["objectId"].(string), app["appId"].(string), app["secret"].(string)
	flushAlerts(t, srv)
	clock.Advance(time.Second) // the application's creation alerted before the subscriptions exist

	named := newReceiver(t, false)
	if code, sub := putSubscription(t, srv, admin.token, "alerts-hook", map[string]any{"vault": "dev", "endpointUrl": named.ts.URL + "/alerts",
		"includedEventTypes": []string{"Keyhaven.SecurityAlert"}}); code != 201 {
		t.Fatalf("subscribe to alerts: %d %v", code, sub)
	}
	every := newReceiver(t, false)
	if code, sub := putSubscription(t, srv, admin.token, "all-hook", map[string]any{"vault": "dev", "endpointUrl": every.ts.URL,
		"eventDeliverySchema": "CloudEventSchemaV1_0"}); code != 201 {
		t.Fatalf("subscribe to everything: %d %v", code, sub)
	}

	prober := &raw{t: t, srv: srv}
	prober.token = prober.fetchToken(appID, appSecret, "https://vault.localhost/.default")
	for range 25 {
		if r := prober.do("GET", "/secrets/db-password?api-version=7.6", "", false); r.status != 401 {
			t.Fatalf("challenge probe: %d", r.status)
		}
	}
	for range 25 {
		if r := prober.do("GET", "/secrets/db-password?api-version=7.6", "", true); r.status != 403 {
			t.Fatalf("read without a role: %d %s", r.status, r.text)
		}
	}
	for _, step := range []struct{ method, path, body string }{
		{"PUT", "/secrets/doomed", `{"value":"purge-me-value"}`},
		{"DELETE", "/secrets/doomed", ""},
		{"DELETE", "/deletedsecrets/doomed", ""},
		{"PUT", "/secrets/kept", `{"value":"kept-secret-value"}`},
		{"POST", "/secrets/kept/backup", ""},
	} {
		if r := admin.do(step.method, step.path+"?api-version=7.6", step.body, true); r.status >= 300 {
			t.Fatalf("%s %s: %d %s", step.method, step.path, r.status, r.text)
		}
	}
	assignment := `{"principalId":"` + objectID + `","roleName":"Key Vault Secrets User","scope":"/vaults/dev"}`
	if code, m := mgmt(t, srv, admin.token, "POST", "/authorization/roleAssignments", assignment); code != 201 {
		t.Fatalf("assign a role: %d %v", code, m)
	}
	flushAlerts(t, srv)
	deliver(t, srv)

	_, notes := named.got()
	got := parseAlerts(t, notes, false)
	if len(notes) != 4+len(got["subscription-change"]) || len(got["failed-reads"]) != 1 || len(got["purge-or-backup"]) != 2 ||
		len(got["settings-change"]) != 1 || len(got["subscription-change"]) == 0 {
		t.Fatalf("alerts delivered: %d %v", len(notes), got)
	}
	subID := subscriptionIDOf(t, srv, admin.token)
	vaultTopic := "/subscriptions/" + subID + "/resourceGroups/keyhaven/providers/Microsoft.KeyVault/vaults/dev"
	serverTopic := "/subscriptions/" + subID + "/resourceGroups/keyhaven/providers/Keyhaven/servers/keyhaven"

	fr := got["failed-reads"][0]
	wantData := map[string]any{"VaultName": "dev", "Rule": "failed-reads", "Severity": "High", "Principal": objectID, "AppId": appID,
		"Address": "127.0.0.1", "Operation": "GetSecret", "Count": 20.0, "WindowSeconds": 300.0}
	for k, want := range wantData {
		if fr.data[k] != want {
			t.Errorf("failed-reads data.%s = %v, want %v", k, fr.data[k], want)
		}
	}
	if len(fr.data) != 10 || fr.data["Description"] == "" || fr.topic != vaultTopic || fr.subject != "failed-reads" || fr.eventType != "Keyhaven.SecurityAlert" {
		t.Errorf("failed-reads event: %s", fr.raw)
	}

	severities := map[string]string{}
	for _, a := range got["purge-or-backup"] {
		severities[a.data["Operation"].(string)] = a.data["Severity"].(string)
		if a.topic != vaultTopic || a.data["VaultName"] != "dev" || a.data["AppId"] != srv.Info.ClientID {
			t.Errorf("purge-or-backup event: %s", a.raw)
		}
	}
	if severities["PurgeDeletedSecret"] != "High" || severities["BackupSecret"] != "Medium" {
		t.Errorf("purge-or-backup severities: %v", severities)
	}

	sc := got["settings-change"][0]
	if sc.topic != serverTopic || sc.subject != "settings-change" || sc.data["VaultName"] != "" || sc.data["Severity"] != "High" ||
		sc.data["Operation"] != "CreateRoleAssignment" || sc.data["AppId"] != srv.Info.ClientID {
		t.Errorf("settings-change event: %s", sc.raw)
	}

	// Without a filter, a vault's subscription gets the vault's alerts (and
	// its other events) but not the server's.
	_, all := every.got()
	allGot := parseAlerts(t, all, true)
	if len(allGot) != 2 || len(allGot["failed-reads"]) != 1 || len(allGot["purge-or-backup"]) != 2 {
		t.Fatalf("alerts delivered without a filter: %v", allGot)
	}
	if ce := allGot["failed-reads"][0]; ce.topic != vaultTopic || ce.subject != "failed-reads" || ce.eventType != "Keyhaven.SecurityAlert" {
		t.Errorf("failed-reads CloudEvent: %s", ce.raw)
	}

	for _, n := range append(notes, all...) {
		for _, secret := range []string{"purge-me-value", "kept-secret-value", appSecret, prober.token, admin.token, srv.Info.ClientSecret} {
			if strings.Contains(string(n.body), secret) {
				t.Fatalf("an alert carries a secret value, credential or token: %s", n.body)
			}
		}
	}
}
