package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyhaven/keyhaven/internal/events"
)

// The event subscription routes are in the authority table, each with an
// Event Grid action but the anonymous validationUrl, and none shadows
// another.
func TestEventSubscriptionRoutes(t *testing.T) {
	tbl := newTable(assignmentRoutes())
	cases := []struct{ method, path, op string }{
		{"GET", "/eventSubscriptions", "ListEventSubscriptions"},
		{"PUT", "/eventSubscriptions/hook-1", "CreateOrUpdateEventSubscription"},
		{"GET", "/eventSubscriptions/hook-1", "GetEventSubscription"},
		{"DELETE", "/eventSubscriptions/hook-1", "DeleteEventSubscription"},
		{"GET", "/eventSubscriptions/hook-1/deadLetters", "ListEventSubscriptionDeadLetters"},
		{"GET", "/eventsubscriptions/hook-1/DEADLETTERS", "ListEventSubscriptionDeadLetters"},
		{"GET", "/eventSubscriptions/deadLetters/validate", "ValidateEventSubscription"},
		{"GET", "/eventSubscriptions/validate", "GetEventSubscription"},
	}
	for _, c := range cases {
		r, _, _ := tbl.match(c.method, splitPath(c.path))
		if r == nil || r.op != c.op {
			t.Errorf("%s %s: %v, want %s", c.method, c.path, r, c.op)
		}
	}
	for _, r := range eventSubscriptionRoutes() {
		anonymous := r.op == "ValidateEventSubscription"
		if anonymous != (r.action == "") || !anonymous && !strings.HasPrefix(r.action, "Microsoft.EventGrid/eventSubscriptions/") {
			t.Errorf("%s %s: action %q", r.method, r.pattern, r.action)
		}
	}
}

// provider is a Sealer whose composition root has event subscriptions.
type provider struct {
	openSeal
	es EventSubscriptions
}

func (p provider) EventSubscriptions() EventSubscriptions { return p.es }

// confirmOnly answers ConfirmValidation; the test calls nothing else.
type confirmOnly struct {
	EventSubscriptions
	name, code string
}

func (c confirmOnly) ConfirmValidation(name, code string) bool {
	return name == c.name && code == c.code
}

func (c confirmOnly) List(context.Context, string) ([]events.Subscription, error) { return nil, nil }

// Without event subscriptions in the composition root the routes answer
// 503; the validation URL needs no token but the code of a handshake in
// progress.
func TestEventSubscriptionsAvailabilityAndValidationURL(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	get := func(s *Server, path string) (int, string) {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "https://localhost:8443"+path, nil))
		var body struct{ Error struct{ Code string } }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, body.Error.Code
	}
	without := New(Deps{Seal: openSeal{}, DNSSuffix: "vault.localhost", Logger: log})
	if code, ec := get(without, "/eventSubscriptions/hook-1/validate?id=abc"); code != 503 || ec != "ServiceUnavailable" {
		t.Errorf("without event subscriptions: %d %s", code, ec)
	}
	with := New(Deps{Seal: provider{es: confirmOnly{name: "hook-1", code: "abc"}}, DNSSuffix: "vault.localhost", Logger: log})
	if code, _ := get(with, "/eventSubscriptions/hook-1/validate?id=abc"); code != 200 {
		t.Errorf("validation URL with the code: %d", code)
	}
	for _, path := range []string{"/eventSubscriptions/hook-1/validate?id=abd", "/eventSubscriptions/hook-1/validate", "/eventSubscriptions/hook-2/validate?id=abc"} {
		if code, _ := get(with, path); code != 404 {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
	if code, _ := get(with, "/eventSubscriptions"); code != 401 {
		t.Errorf("list without a token: %d, want 401", code)
	}
}
