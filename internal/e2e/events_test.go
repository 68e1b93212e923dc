package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// received is one request a receiver got.
type received struct {
	method string
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint the test controls: it answers the
// validation handshakes as told and records every request.
type receiver struct {
	t  *testing.T
	ts *httptest.Server

	mu sync.Mutex
	// secret is the HMAC key it checks notifications against: a request
	// without the right X-Keyhaven-Signature gets 401.
	secret string
	// validation: "echo" (answer the code), "wrong" (another code),
	// "reject" (400), "url" (200 {}, then GET the validationUrl).
	validation string
	// allowOrigin answers OPTIONS: "echo" grants the request's origin,
	// "" sends no WebHook-Allowed-Origin.
	allowOrigin string
	// status answers the n-th notification (from 0); nil means 200.
	status        func(n int) int
	validations   []received // POSTs of the validation event and OPTIONS requests
	notifications []received
	urlClient     *http.Client // for "url": reaches the server's validationUrl
}

func newReceiver(t *testing.T, tlsOn bool) *receiver {
	r := &receiver{t: t, validation: "echo", allowOrigin: "echo"}
	if tlsOn {
		r.ts = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	} else {
		r.ts = httptest.NewServer(http.HandlerFunc(r.serve))
	}
	t.Cleanup(r.ts.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	rec := received{method: req.Method, header: req.Header.Clone(), body: body}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case req.Method == http.MethodOptions:
		r.validations = append(r.validations, rec)
		if r.allowOrigin == "echo" {
			w.Header().Set("WebHook-Allowed-Origin", req.Header.Get("WebHook-Request-Origin"))
		}
		w.Header().Set("Allow", "POST, OPTIONS")
	case req.Header.Get("aeg-event-type") == "SubscriptionValidation":
		r.validations = append(r.validations, rec)
		r.answerValidation(w, body)
	default:
		if r.secret != "" && !validSignature(r.secret, body, req.Header.Get("X-Keyhaven-Signature")) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		n := len(r.notifications)
		r.notifications = append(r.notifications, rec)
		if r.status != nil {
			w.WriteHeader(r.status(n))
		}
	}
}

func (r *receiver) answerValidation(w http.ResponseWriter, body []byte) {
	var evs []struct {
		Data struct{ ValidationCode, ValidationURL string }
	}
	if json.Unmarshal(body, &evs) != nil || len(evs) != 1 {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	switch r.validation {
	case "echo":
		fmt.Fprintf(w, `{"validationResponse":%q}`, evs[0].Data.ValidationCode)
	case "wrong":
		fmt.Fprint(w, `{"validationResponse":"00000000-0000-0000-0000-000000000000"}`)
	case "reject":
		w.WriteHeader(http.StatusBadRequest)
	case "url":
		u := evs[0].Data.ValidationURL
		go func() { // after this answer, as a person following the link would
			resp, err := r.urlClient.Get(u)
			if err == nil {
				resp.Body.Close()
			}
		}()
		fmt.Fprint(w, `{}`)
	}
}

func validSignature(secret string, body []byte, header string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal([]byte(header), []byte("sha256="+hex.EncodeToString(mac.Sum(nil))))
}

func (r *receiver) set(f func(r *receiver)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *receiver) got() (validations, notifications []received) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.validations), slices.Clone(r.notifications)
}

// waitNotifications waits (for a running server's own worker) until n
// notifications arrived; the deadline only bounds a hung test.
func (r *receiver) waitNotifications(n int, within time.Duration) []received {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, got := r.got()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d notifications arrived, want %d", len(got), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// putSubscription creates or replaces an event subscription.
func putSubscription(t *testing.T, srv *testenv.Server, token, name string, body map[string]any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	return mgmt(t, srv, token, "PUT", "/eventSubscriptions/"+name, string(raw))
}

// deliver runs the server's event delivery until nothing is due.
func deliver(t *testing.T, srv *testenv.Server) {
	t.Helper()
	if err := srv.App.DeliverEvents(context.Background()); err != nil {
		t.Fatalf("deliver events: %v", err)
	}
}

// subscriptionIDOf is the server's one Azure subscription, as /subscriptions lists it.
func subscriptionIDOf(t *testing.T, srv *testenv.Server, token string) string {
	t.Helper()
	code, body := mgmt(t, srv, token, "GET", "/subscriptions?api-version=2022-12-01", "")
	list, _ := body["value"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("/subscriptions: %d %v", code, body)
	}
	return list[0].(map[string]any)["subscriptionId"].(string)
}

func keysOf(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// wantHeaders checks exact header values.
func wantHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: header %s = %q, want %q", what, k, got, v)
		}
	}
}

// The Event Grid schema end to end: the validation event (signed) on
// creation, then SecretNewVersionCreated delivered in Event Grid's exact
// shape to an HTTPS receiver that verifies the HMAC signature; the key
// event the subscription does not filter for is not delivered.
func TestEventGridSchemaHandshakeAndDelivery(t *testing.T) {
	srv, _ := testenv.StartDevWithClock(t)
	admin := newRaw(t, srv)
	rcv := newReceiver(t, true)
	rcv.secret = "receiver-hmac-key-1"
	srv.App.Events().SetClient(rcv.ts.Client())

	code, sub := putSubscription(t, srv, admin.token, "secrets-hook", map[string]any{
		"vault": "dev", "endpointUrl": rcv.ts.URL + "/hook?code=query-token", "hmacSecret": rcv.secret,
		"includedEventTypes": []string{"Microsoft.KeyVault.SecretNewVersionCreated"}})
	if code != 201 {
		t.Fatalf("create subscription: %d %v", code, sub)
	}
	subID := subscriptionIDOf(t, srv, admin.token)
	topic := "/subscriptions/" + subID + "/resourceGroups/keyhaven/providers/Microsoft.KeyVault/vaults/dev"
	rp, _ := sub["retryPolicy"].(map[string]any)
	if sub["id"] != topic+"/providers/Microsoft.EventGrid/eventSubscriptions/secrets-hook" || sub["topic"] != topic ||
		sub["endpointBaseUrl"] != rcv.ts.URL+"/hook" || sub["hmacSecretSet"] != true || sub["eventDeliverySchema"] != "EventGridSchema" ||
		rp["maxDeliveryAttempts"] != 30.0 || rp["eventTimeToLiveInMinutes"] != 1440.0 {
		t.Fatalf("subscription shape: %v", sub)
	}
	if raw, _ := json.Marshal(sub); strings.Contains(string(raw), rcv.secret) || strings.Contains(string(raw), "query-token") {
		t.Fatalf("the subscription shows its secret or endpoint query: %s", raw)
	}

	validations, _ := rcv.got()
	if len(validations) != 1 {
		t.Fatalf("validation requests: %d", len(validations))
	}
	v := validations[0]
	wantHeaders(t, "validation", v.header, map[string]string{"aeg-event-type": "SubscriptionValidation", "Content-Type": "application/json",
		"aeg-subscription-name": "SECRETS-HOOK", "aeg-data-version": "1", "aeg-metadata-version": "1"})
	if !validSignature(rcv.secret, v.body, v.header.Get("X-Keyhaven-Signature")) {
		t.Errorf("the validation event is not signed with the subscription's secret")
	}
	var vevs []map[string]json.RawMessage
	if err := json.Unmarshal(v.body, &vevs); err != nil || len(vevs) != 1 {
		t.Fatalf("validation body: %s", v.body)
	}
	var vdata struct{ ValidationCode, ValidationURL string }
	_ = json.Unmarshal(vevs[0]["data"], &vdata)
	if string(vevs[0]["eventType"]) != `"Microsoft.EventGrid.SubscriptionValidationEvent"` || !uuidRE.MatchString(vdata.ValidationCode) ||
		!strings.HasPrefix(vdata.ValidationURL, srv.Info.AuthorityHost+"/eventSubscriptions/secrets-hook/validate?id=") ||
		strings.Join(keysOf(vevs[0]), ",") != "data,dataVersion,eventTime,eventType,id,metadataVersion,subject,topic" {
		t.Fatalf("validation event: %s", v.body)
	}

	exp := time.Now().Add(400 * 24 * time.Hour).Unix()
	set := admin.do("PUT", "/secrets/db-password?api-version=7.6", fmt.Sprintf(`{"value":"s3cret-value","attributes":{"exp":%d}}`, exp), true)
	if set.status != 200 {
		t.Fatalf("set secret: %d %s", set.status, set.text)
	}
	if r := admin.do("POST", "/keys/signer/create?api-version=7.6", `{"kty":"EC","crv":"P-256"}`, true); r.status != 200 {
		t.Fatalf("create key: %d %s", r.status, r.text)
	}
	deliver(t, srv)
	_, notes := rcv.got()
	if len(notes) != 1 {
		t.Fatalf("notifications: %d, want 1 (the key event is filtered out)", len(notes))
	}
	n := notes[0]
	var evs []map[string]json.RawMessage
	if err := json.Unmarshal(n.body, &evs); err != nil || len(evs) != 1 {
		t.Fatalf("notification body: %s", n.body)
	}
	ev := evs[0]
	if got := strings.Join(keysOf(ev), ","); got != "data,dataVersion,eventTime,eventType,id,metadataVersion,subject,topic" {
		t.Fatalf("event members: %s", got)
	}
	var e struct {
		ID, Topic, Subject, EventType, EventTime, DataVersion, MetadataVersion string
	}
	_ = json.Unmarshal(n.body[1:len(n.body)-1], &e)
	var data map[string]json.RawMessage
	_ = json.Unmarshal(ev["data"], &data)
	secretID := set.body["id"].(string)
	version := secretID[strings.LastIndex(secretID, "/")+1:]
	eventTime, err := time.Parse(time.RFC3339Nano, e.EventTime)
	if err != nil || !uuidRE.MatchString(e.ID) || e.Topic != topic || e.Subject != "db-password" ||
		e.EventType != "Microsoft.KeyVault.SecretNewVersionCreated" || e.DataVersion != "1" || e.MetadataVersion != "1" {
		t.Fatalf("event: %s", n.body)
	}
	if eventTime.Location() != time.UTC {
		t.Errorf("eventTime is not UTC: %s", e.EventTime)
	}
	wantData := map[string]string{"Id": `"` + secretID + `"`, "VaultName": `"dev"`, "ObjectType": `"Secret"`, "ObjectName": `"db-password"`,
		"Version": `"` + version + `"`, "NBF": "null", "EXP": fmt.Sprint(exp)}
	if len(data) != len(wantData) {
		t.Errorf("data members: %v", keysOf(data))
	}
	for k, want := range wantData {
		if string(data[k]) != want {
			t.Errorf("data.%s = %s, want %s", k, data[k], want)
		}
	}
	wantHeaders(t, "notification", n.header, map[string]string{"aeg-event-type": "Notification", "Content-Type": "application/json",
		"aeg-subscription-name": "SECRETS-HOOK", "aeg-delivery-count": "0", "aeg-data-version": "1", "aeg-metadata-version": "1",
		"aeg-output-event-id": e.ID})
	if strings.Contains(string(n.body), "s3cret-value") {
		t.Fatal("the event carries the secret's value")
	}

	deliver(t, srv)
	if _, again := rcv.got(); len(again) != 1 {
		t.Fatalf("delivered again: %d notifications", len(again))
	}
	if m := metricsText(t, srv); !strings.Contains(m, "keyhaven_events_delivered_total 1\n") {
		t.Errorf("metrics lack the delivery:\n%s", m)
	}
}

// metricsText reads GET /metrics.
func metricsText(t *testing.T, srv *testenv.Server) string {
	t.Helper()
	resp, err := srv.Client.Get(srv.Info.AuthorityHost + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The CloudEvents 1.0 schema: the abuse-protection OPTIONS handshake, then
// the event as one structured CloudEvent with Event Grid's headers.
func TestEventCloudEventsHandshakeAndDelivery(t *testing.T) {
	srv, _ := testenv.StartDevWithClock(t)
	admin := newRaw(t, srv)
	rcv := newReceiver(t, false)
	code, sub := putSubscription(t, srv, admin.token, "ce-hook", map[string]any{
		"vault": "dev", "endpointUrl": rcv.ts.URL + "/ce", "eventDeliverySchema": "CloudEventSchemaV1_0"})
	if code != 201 || sub["eventDeliverySchema"] != "CloudEventSchemaV1_0" || sub["hmacSecretSet"] != false {
		t.Fatalf("create subscription: %d %v", code, sub)
	}
	validations, _ := rcv.got()
	if len(validations) != 1 || validations[0].method != "OPTIONS" || validations[0].header.Get("WebHook-Request-Origin") != "vault.localhost" {
		t.Fatalf("abuse-protection request: %+v", validations)
	}

	set := admin.do("PUT", "/secrets/api-token?api-version=7.6", `{"value":"v1"}`, true)
	if set.status != 200 {
		t.Fatalf("set secret: %d", set.status)
	}
	deliver(t, srv)
	_, notes := rcv.got()
	if len(notes) != 1 {
		t.Fatalf("notifications: %d", len(notes))
	}
	n := notes[0]
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(n.body, &ev); err != nil {
		t.Fatalf("not one structured CloudEvent: %s", n.body)
	}
	if got := strings.Join(keysOf(ev), ","); got != "data,datacontenttype,id,source,specversion,subject,time,type" {
		t.Fatalf("CloudEvent members: %s", got)
	}
	var ce struct{ SpecVersion, Type, Source, ID, Time, Subject, DataContentType string }
	_ = json.Unmarshal(n.body, &ce)
	var data struct{ ID, VaultName, ObjectType, ObjectName, Version string }
	_ = json.Unmarshal(ev["data"], &data)
	secretID := set.body["id"].(string)
	topic := "/subscriptions/" + subscriptionIDOf(t, srv, admin.token) + "/resourceGroups/keyhaven/providers/Microsoft.KeyVault/vaults/dev"
	if ce.SpecVersion != "1.0" || ce.Type != "Microsoft.KeyVault.SecretNewVersionCreated" || ce.Source != topic || !uuidRE.MatchString(ce.ID) ||
		ce.Subject != "api-token" || ce.DataContentType != "application/json" || data.ID != secretID || data.ObjectType != "Secret" || data.VaultName != "dev" {
		t.Fatalf("CloudEvent: %s", n.body)
	}
	if _, err := time.Parse(time.RFC3339Nano, ce.Time); err != nil {
		t.Errorf("time: %q", ce.Time)
	}
	wantHeaders(t, "notification", n.header, map[string]string{"Content-Type": "application/cloudevents+json; charset=utf-8",
		"aeg-event-type": "Notification", "aeg-metadata-version": "1.0", "aeg-delivery-count": "0", "aeg-subscription-name": "CE-HOOK",
		"WebHook-Request-Origin": "vault.localhost", "X-Keyhaven-Signature": ""})
}

// A failed handshake refuses the subscription with 400 and stores nothing;
// the Event Grid validationUrl completes a handshake the endpoint did not
// answer with the code.
func TestEventHandshakeRefusedOrValidatedByURL(t *testing.T) {
	srv, _ := testenv.StartDevWithClock(t)
	admin := newRaw(t, srv)
	rcv := newReceiver(t, false)
	rcv.urlClient = srv.Client
	cases := []struct {
		name, schema, validation, allowOrigin, want string
	}{
		{name: "eg-rejects", schema: "EventGridSchema", validation: "reject", want: "HTTP 400"},
		{name: "eg-wrong-code", schema: "EventGridSchema", validation: "wrong", want: "not the validation code"},
		{name: "ce-no-origin", schema: "CloudEventSchemaV1_0", allowOrigin: "", want: "no WebHook-Allowed-Origin"},
	}
	for _, tc := range cases {
		rcv.set(func(r *receiver) { r.validation, r.allowOrigin = tc.validation, tc.allowOrigin })
		code, body := putSubscription(t, srv, admin.token, tc.name, map[string]any{"vault": "dev", "endpointUrl": rcv.ts.URL, "eventDeliverySchema": tc.schema})
		e, _ := body["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != 400 || e["code"] != "SubscriptionValidationFailed" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v", tc.name, code, body)
		}
		if code, _ := mgmt(t, srv, admin.token, "GET", "/eventSubscriptions/"+tc.name, ""); code != 404 {
			t.Errorf("%s: a refused subscription exists: %d", tc.name, code)
		}
	}
	if code, body := mgmt(t, srv, admin.token, "GET", "/eventSubscriptions", ""); code != 200 || len(body["value"].([]any)) != 0 {
		t.Fatalf("list after refusals: %d %v", code, body)
	}
	if code, _ := putSubscription(t, srv, admin.token, "plain-http", map[string]any{"vault": "dev", "endpointUrl": "http://example.com/hook"}); code != 400 {
		t.Errorf("http to a non-loopback host: %d", code)
	}

	rcv.set(func(r *receiver) { r.validation = "url" })
	if code, body := putSubscription(t, srv, admin.token, "by-url", map[string]any{"vault": "dev", "endpointUrl": rcv.ts.URL}); code != 201 {
		t.Fatalf("validation by URL: %d %v", code, body)
	}
	if code, _ := mgmt(t, srv, "", "GET", "/eventSubscriptions/by-url/validate?id=00000000-0000-0000-0000-000000000000", ""); code != 404 {
		t.Errorf("a validation URL outside a handshake: %d", code)
	}
	if code, body := mgmt(t, srv, admin.token, "GET", "/eventSubscriptions?vault=dev", ""); code != 200 || len(body["value"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, body)
	}
	if code, _ := mgmt(t, srv, "", "GET", "/eventSubscriptions", ""); code != 401 {
		t.Errorf("list without a token: %d", code)
	}
	if code, _ := mgmt(t, srv, admin.token, "DELETE", "/eventSubscriptions/by-url", ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := mgmt(t, srv, admin.token, "GET", "/eventSubscriptions/by-url", ""); code != 404 {
		t.Errorf("get after delete: %d", code)
	}
}

// A receiver outage: the first attempt fails (500), nothing is retried
// before the backoff, and once the clock passes it the same event is
// delivered with aeg-delivery-count 1.
func TestEventRetriesAcrossReceiverOutage(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	admin := newRaw(t, srv)
	rcv := newReceiver(t, false)
	rcv.status = func(n int) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	if code, body := putSubscription(t, srv, admin.token, "flaky", map[string]any{"vault": "dev", "endpointUrl": rcv.ts.URL}); code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	if r := admin.do("PUT", "/secrets/s1?api-version=7.6", `{"value":"x"}`, true); r.status != 200 {
		t.Fatalf("set: %d", r.status)
	}
	deliver(t, srv)
	deliver(t, srv) // the backoff has not passed: no attempt
	if _, notes := rcv.got(); len(notes) != 1 {
		t.Fatalf("attempts before the backoff passed: %d, want 1", len(notes))
	}
	clock.Advance(time.Minute)
	deliver(t, srv)
	_, notes := rcv.got()
	if len(notes) != 2 {
		t.Fatalf("attempts after the backoff: %d, want 2", len(notes))
	}
	if notes[1].header.Get("aeg-delivery-count") != "1" || notes[1].header.Get("aeg-output-event-id") != notes[0].header.Get("aeg-output-event-id") {
		t.Fatalf("retry headers: %v / %v", notes[0].header, notes[1].header)
	}
	clock.Advance(time.Hour)
	deliver(t, srv)
	if _, notes := rcv.got(); len(notes) != 2 {
		t.Fatalf("delivered again after success: %d", len(notes))
	}
	c := srv.App.Events().Counters()
	if c.Delivered != 1 || c.FailedAttempts != 1 {
		t.Fatalf("counters: %+v", c)
	}
}

// After maxDeliveryAttempts failures an event is dead-lettered (kept with
// the last error) when the subscription says so, and dropped otherwise; a
// 400 answer is never retried.
func TestEventDeadLetterAfterMaxAttempts(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	admin := newRaw(t, srv)
	down := newReceiver(t, false)
	down.status = func(int) int { return http.StatusServiceUnavailable }
	refuses := newReceiver(t, false)
	refuses.status = func(int) int { return http.StatusBadRequest }
	if code, body := putSubscription(t, srv, admin.token, "keeps", map[string]any{"vault": "dev", "endpointUrl": down.ts.URL,
		"retryPolicy": map[string]any{"maxDeliveryAttempts": 2}, "deadLetter": true}); code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	if code, body := putSubscription(t, srv, admin.token, "drops", map[string]any{"vault": "dev", "endpointUrl": refuses.ts.URL}); code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	set := admin.do("PUT", "/secrets/doomed?api-version=7.6", `{"value":"x"}`, true)
	deliver(t, srv)
	clock.Advance(time.Minute)
	deliver(t, srv)
	clock.Advance(2 * time.Hour)
	deliver(t, srv)
	if _, notes := down.got(); len(notes) != 2 {
		t.Fatalf("attempts on the failing endpoint: %d, want 2", len(notes))
	}
	if _, notes := refuses.got(); len(notes) != 1 {
		t.Fatalf("attempts on the endpoint that answers 400: %d, want 1", len(notes))
	}
	admin = newRaw(t, srv) // the clock moved past the token's lifetime
	code, body := mgmt(t, srv, admin.token, "GET", "/eventSubscriptions/keeps/deadLetters", "")
	list, _ := body["value"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("dead letters: %d %v", code, body)
	}
	dl := list[0].(map[string]any)
	ev := dl["event"].(map[string]any)
	data := ev["data"].(map[string]any)
	if dl["deadLetterReason"] != "MaxDeliveryAttemptsExceeded" || dl["deliveryAttempts"] != 2.0 || dl["lastHttpStatusCode"] != 503.0 ||
		dl["lastDeliveryOutcome"] != "ServiceUnavailable" || !strings.Contains(dl["lastError"].(string), "503") ||
		ev["eventType"] != "Microsoft.KeyVault.SecretNewVersionCreated" || data["Id"] != set.body["id"] {
		t.Fatalf("dead letter: %v", dl)
	}
	if code, body := mgmt(t, srv, admin.token, "GET", "/eventSubscriptions/drops/deadLetters", ""); code != 200 || len(body["value"].([]any)) != 0 {
		t.Fatalf("a subscription without dead-lettering kept: %d %v", code, body)
	}
	if c := srv.App.Events().Counters(); c.DeadLettered != 1 || c.Dropped != 1 || c.FailedAttempts != 3 || c.Delivered != 0 {
		t.Fatalf("counters: %+v", c)
	}
	m := metricsText(t, srv)
	for _, want := range []string{"keyhaven_events_dead_lettered_total 1\n", "keyhaven_events_dropped_total 1\n", "keyhaven_events_failed_attempts_total 3\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// Near-expiry and expired events come from the scheduler once per version
// as the clock moves: a secret, a key and a certificate.
func TestEventNearExpiryAndExpired(t *testing.T) {
	srv, clock := testenv.StartDevWithClock(t)
	admin := newRaw(t, srv)
	rcv := newReceiver(t, false)
	if code, body := putSubscription(t, srv, admin.token, "expiry", map[string]any{"vault": "dev", "endpointUrl": rcv.ts.URL,
		"includedEventTypes": []string{"Microsoft.KeyVault.SecretNearExpiry", "Microsoft.KeyVault.SecretExpired", "Microsoft.KeyVault.KeyNearExpiry",
			"Microsoft.KeyVault.KeyExpired", "Microsoft.KeyVault.CertificateNearExpiry", "Microsoft.KeyVault.CertificateExpired"}}); code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	now := clock.Now()
	secretExp := now.Add(40 * 24 * time.Hour).Unix()
	if r := admin.do("PUT", "/secrets/expiring?api-version=7.6", fmt.Sprintf(`{"value":"x","attributes":{"exp":%d}}`, secretExp), true); r.status != 200 {
		t.Fatalf("set: %d %s", r.status, r.text)
	}
	keyExp := now.Add(50 * 24 * time.Hour).Unix()
	if r := admin.do("POST", "/keys/expiring-key/create?api-version=7.6", fmt.Sprintf(`{"kty":"EC","crv":"P-256","attributes":{"exp":%d}}`, keyExp), true); r.status != 200 {
		t.Fatalf("create key: %d %s", r.status, r.text)
	}
	policy := `{"policy":{"issuer":{"name":"Self"},"key_props":{"kty":"EC","crv":"P-256","exportable":true},
		"x509_props":{"subject":"CN=expiring.example","validity_months":3},"lifetime_actions":[]}}`
	if r := admin.do("POST", "/certificates/expiring-cert/create?api-version=7.6", policy, true); r.status != 202 {
		t.Fatalf("create certificate: %d %s", r.status, r.text)
	}
	cert := admin.do("GET", "/certificates/expiring-cert?api-version=7.6", "", true)
	certExp := int64(cert.body["attributes"].(map[string]any)["exp"].(float64))

	types := func() []string {
		_, notes := rcv.got()
		var out []string
		for _, n := range notes {
			var evs []struct{ EventType, Subject string }
			_ = json.Unmarshal(n.body, &evs)
			for _, e := range evs {
				out = append(out, e.EventType+" "+e.Subject)
			}
		}
		slices.Sort(out)
		return out
	}
	step := func(advance time.Duration, want ...string) {
		t.Helper()
		clock.Advance(advance)
		for range 2 { // twice: nothing fires a second time
			if err := srv.App.RunScheduledJobs(context.Background()); err != nil {
				t.Fatalf("scheduled jobs: %v", err)
			}
			deliver(t, srv)
		}
		slices.Sort(want)
		if got := types(); !slices.Equal(got, want) {
			t.Fatalf("after %v: events %q, want %q", advance, got, want)
		}
	}
	step(0)
	step(11*24*time.Hour, "Microsoft.KeyVault.SecretNearExpiry expiring")
	step(10*24*time.Hour, "Microsoft.KeyVault.SecretNearExpiry expiring", "Microsoft.KeyVault.KeyNearExpiry expiring-key")
	untilCertNear := time.Unix(certExp, 0).Add(-30*24*time.Hour + time.Hour).Sub(clock.Now())
	step(untilCertNear, "Microsoft.KeyVault.SecretNearExpiry expiring", "Microsoft.KeyVault.KeyNearExpiry expiring-key",
		"Microsoft.KeyVault.SecretExpired expiring", "Microsoft.KeyVault.KeyExpired expiring-key", "Microsoft.KeyVault.CertificateNearExpiry expiring-cert")
	step(31*24*time.Hour, "Microsoft.KeyVault.SecretNearExpiry expiring", "Microsoft.KeyVault.KeyNearExpiry expiring-key",
		"Microsoft.KeyVault.SecretExpired expiring", "Microsoft.KeyVault.KeyExpired expiring-key", "Microsoft.KeyVault.CertificateNearExpiry expiring-cert",
		"Microsoft.KeyVault.CertificateExpired expiring-cert")
	if secretExp > keyExp || keyExp > certExp-30*24*3600 {
		t.Fatalf("test setup: the certificate (exp %d) must come near expiry after the key and secret expired", certExp)
	}
}

// Delivery resumes after a restart of a production server: the attempt
// count survives (aeg-delivery-count 1 on the retry after the restart) and
// the event is delivered once the receiver is back.
func TestEventDeliveryResumesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	rcv := newReceiver(t, false)
	rcv.status = func(n int) int {
		if n == 0 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	}
	dir := t.TempDir()
	p := startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase, "KEYHAVEN_EVENTS_ALLOW_PRIVATE_ENDPOINTS=true")
	p.login()
	req, _ := http.NewRequest("PUT", "https://localhost:"+p.port()+"/eventSubscriptions/durable",
		strings.NewReader(`{"vault":"prod","endpointUrl":"`+rcv.ts.URL+`/in"}`))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create subscription: %v %v", resp, err)
	}
	resp.Body.Close()
	if st, _, err := p.request(context.Background(), "PUT", "/secrets/resumed?api-version=7.6", `{"value":"x"}`); err != nil || st != 200 {
		t.Fatalf("set: %d %v", st, err)
	}
	first := rcv.waitNotifications(1, 30*time.Second)[0]
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()

	startProcess(t, dir, "KEYHAVEN_SEAL_PASSPHRASE="+passphrase, "KEYHAVEN_EVENTS_ALLOW_PRIVATE_ENDPOINTS=true")
	second := rcv.waitNotifications(2, 60*time.Second)[1]
	if second.header.Get("aeg-delivery-count") != "1" || second.header.Get("aeg-output-event-id") != first.header.Get("aeg-output-event-id") {
		t.Fatalf("the retry after the restart: count %q, id %q (first %q)", second.header.Get("aeg-delivery-count"),
			second.header.Get("aeg-output-event-id"), first.header.Get("aeg-output-event-id"))
	}
	var evs []struct{ EventType, Subject string }
	if json.Unmarshal(second.body, &evs) != nil || len(evs) != 1 || evs[0].EventType != "Microsoft.KeyVault.SecretNewVersionCreated" || evs[0].Subject != "resumed" {
		t.Fatalf("event: %s", second.body)
	}
}

// keyhaven event subscription create|list|show|delete and event
// dead-letter list, through the CLI binary.
func TestEventCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the CLI binary")
	}
	c := startCLI(t, cliGUIDTenant)
	rcv := newReceiver(t, false)
	rcv.status = func(int) int { return http.StatusInternalServerError }
	secretFile := c.dir + "/hmac.key"
	if err := os.WriteFile(secretFile, []byte("cli-hmac-secret-7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rcv.secret = "cli-hmac-secret-7"
	res := c.ok(t, "event", "subscription", "create", "-n", "cli-hook", "--vault-name", "dev", "--endpoint", rcv.ts.URL+"/cli?sig=query-secret",
		"--included-event-types", "Microsoft.KeyVault.SecretNewVersionCreated", "--hmac-secret-file", secretFile,
		"--max-delivery-attempts", "1", "--deadletter")
	sub := cliObject(t, res)
	if sub["name"] != "cli-hook" || sub["vault"] != "dev" || sub["hmacSecretSet"] != true || sub["deadLetter"] != true ||
		sub["endpointBaseUrl"] != rcv.ts.URL+"/cli" || strings.Contains(res.stdout, "cli-hmac-secret-7") || strings.Contains(res.stdout, "query-secret") {
		t.Fatalf("create: %s", res.stdout)
	}
	if list := cliArray(t, c.ok(t, "event", "subscription", "list", "--vault-name", "dev")); len(list) != 1 || list[0]["name"] != "cli-hook" {
		t.Fatalf("list: %v", list)
	}
	if got := strings.TrimSpace(c.ok(t, "event", "subscription", "show", "-n", "cli-hook", "--query", "retryPolicy.maxDeliveryAttempts", "-o", "tsv").stdout); got != "1" {
		t.Fatalf("show: %q", got)
	}
	c.ok(t, "secret", "set", "-n", "watched", "--value", c.newValue("watched"), "-o", "none")
	deliver(t, c.srv)
	dls := cliArray(t, c.ok(t, "event", "dead-letter", "list", "-n", "cli-hook"))
	if len(dls) != 1 || dls[0]["deadLetterReason"] != "MaxDeliveryAttemptsExceeded" || dls[0]["lastHttpStatusCode"] != 500.0 {
		t.Fatalf("dead letters: %v", dls)
	}
	if _, notes := rcv.got(); len(notes) != 1 {
		t.Fatalf("notifications (signed with the file's secret): %d", len(notes))
	}
	c.fails(t, 2, []string{"--event-delivery-schema"}, "event", "subscription", "create", "-n", "x-hook", "--vault-name", "dev",
		"--endpoint", rcv.ts.URL, "--event-delivery-schema", "custominputschema")
	c.ok(t, "event", "subscription", "delete", "-n", "cli-hook")
	c.fails(t, 1, []string{"EventSubscriptionNotFound"}, "event", "subscription", "show", "-n", "cli-hook")
}
