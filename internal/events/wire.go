package events

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Delivery schemas a subscription can ask for.
const (
	SchemaEventGrid   = "EventGridSchema"
	SchemaCloudEvents = "CloudEventSchemaV1_0"
)

// SignatureHeader carries the HMAC-SHA256 of the request body under a
// subscription's secret, as "sha256=" and 64 lower-case hex digits, on
// every POST to a subscription that has a secret (validation events
// included). Receivers compute the same over the raw body and compare in
// constant time.
const SignatureHeader = "X-Keyhaven-Signature"

// Sign returns the SignatureHeader value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Event Grid's fixed versions and the validation event's type.
const (
	validationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent"
	dataVersion         = "1"
	metadataVersion     = "1"
	cloudEventsVersion  = "1.0"
)

// VaultRef is what delivery needs of a vault: its name, ARM resource group
// and public URL (https://{vault}.{dns-suffix}[:port]).
type VaultRef struct {
	Name          string
	ResourceGroup string
	URL           string
}

// SubscriptionID is the id of the server's one Azure subscription, derived
// from the tenant id as a version 8 UUID from SHA-256 (RFC 9562): the same
// value the management plane shows at /subscriptions.
func SubscriptionID(tenantID string) string {
	sum := sha256.Sum256([]byte("keyhaven subscription\x00" + tenantID))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return uuidString(b)
}

// Topic is a vault's Event Grid topic: its ARM resource id.
func Topic(subscriptionID, resourceGroup, vaultName string) string {
	return "/subscriptions/" + subscriptionID + "/resourceGroups/" + resourceGroup +
		"/providers/Microsoft.KeyVault/vaults/" + vaultName
}

// ServerTopic is the topic of events that concern the server rather than
// one vault (SecurityAlert events of the authority host).
func ServerTopic(subscriptionID string) string {
	return "/subscriptions/" + subscriptionID + "/resourceGroups/keyhaven/providers/Keyhaven/servers/keyhaven"
}

func uuidString(b []byte) string {
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuidString(b[:])
}

// wireID shows an outbox id (32 hex digits) in Event Grid's GUID form.
func wireID(id string) string {
	if len(id) == 32 {
		if b, err := hex.DecodeString(id); err == nil {
			return uuidString(b)
		}
	}
	return id
}

// egEvent is one event of the Event Grid schema.
type egEvent struct {
	ID              string `json:"id"`
	Topic           string `json:"topic"`
	Subject         string `json:"subject"`
	EventType       string `json:"eventType"`
	EventTime       string `json:"eventTime"`
	Data            any    `json:"data"`
	DataVersion     string `json:"dataVersion"`
	MetadataVersion string `json:"metadataVersion"`
}

// cloudEvent is one event of the CloudEvents 1.0 JSON format.
type cloudEvent struct {
	SpecVersion     string `json:"specversion"`
	Type            string `json:"type"`
	Source          string `json:"source"`
	ID              string `json:"id"`
	Time            string `json:"time"`
	Subject         string `json:"subject"`
	DataContentType string `json:"datacontenttype"`
	Data            any    `json:"data"`
}

// keyVaultData is the data of every Microsoft.KeyVault event (Event Grid's
// KeyVault*EventData: PascalCase, NBF and EXP in Unix seconds or null).
type keyVaultData struct {
	ID         string `json:"Id"`
	VaultName  string `json:"VaultName"`
	ObjectType string `json:"ObjectType"`
	ObjectName string `json:"ObjectName"`
	Version    string `json:"Version"`
	NBF        *int64 `json:"NBF"`
	EXP        *int64 `json:"EXP"`
}

// alertData is the data of a Keyhaven.SecurityAlert event: the vault ("" for
// the server), the rule and what matched it. No secret value or token.
type alertData struct {
	VaultName     string `json:"VaultName"`
	Rule          string `json:"Rule"`
	Severity      string `json:"Severity"`
	Principal     string `json:"Principal"`
	AppID         string `json:"AppId"`
	Address       string `json:"Address"`
	Operation     string `json:"Operation"`
	Count         int    `json:"Count"`
	WindowSeconds int64  `json:"WindowSeconds"`
	Description   string `json:"Description"`
}

type validationData struct {
	ValidationCode string `json:"validationCode"`
	ValidationURL  string `json:"validationUrl,omitempty"`
}

// collections maps ObjectType to the path segment of its URL.
var collections = map[string]string{"Secret": "secrets", "Key": "keys", "Certificate": "certificates"}

// dataOf builds the data of e; the object's URL is its version's id, as
// the vault's API shows it (the vault's URL for vault events). Alerts have
// their own shape, alertData.
func dataOf(e *Event, v VaultRef) any {
	if a := e.Data.Alert; a != nil {
		return alertData{VaultName: e.VaultName, Rule: a.Rule, Severity: a.Severity, Principal: a.Principal, AppID: a.AppID,
			Address: a.Address, Operation: a.Operation, Count: a.Count, WindowSeconds: a.WindowSeconds, Description: a.Description}
	}
	id := v.URL
	if coll, ok := collections[e.Data.ObjectType]; ok {
		id += "/" + coll + "/" + e.Data.ObjectName
		if e.Data.Version != "" {
			id += "/" + e.Data.Version
		}
	}
	return keyVaultData{ID: id, VaultName: e.VaultName, ObjectType: e.Data.ObjectType, ObjectName: e.Data.ObjectName,
		Version: e.Data.Version, NBF: e.Data.NBF, EXP: e.Data.EXP}
}

// wireTime formats an event time as Event Grid does: UTC, RFC 3339 with
// fractional seconds.
func wireTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// element is e as one event of schema: what a delivery's body holds (in an
// array for the Event Grid schema) and what a dead letter keeps.
func element(schema, topic string, e *Event, v VaultRef) any {
	data, subject := dataOf(e, v), e.Data.ObjectName
	if e.Data.Alert != nil {
		subject = e.Data.Alert.Rule
	}
	if schema == SchemaCloudEvents {
		return cloudEvent{SpecVersion: cloudEventsVersion, Type: e.Type, Source: topic, ID: wireID(e.ID), Time: wireTime(e.Time),
			Subject: subject, DataContentType: "application/json", Data: data}
	}
	return egEvent{ID: wireID(e.ID), Topic: topic, Subject: subject, EventType: e.Type, EventTime: wireTime(e.Time),
		Data: data, DataVersion: dataVersion, MetadataVersion: metadataVersion}
}

// body is the request body that delivers element el in schema.
func body(schema string, el any) ([]byte, error) {
	if schema == SchemaCloudEvents {
		return json.Marshal(el)
	}
	return json.Marshal([]any{el})
}

// headers sets what Event Grid sends with a delivery: content type, the
// aeg-* headers and, for CloudEvents, WebHook-Request-Origin.
func headers(h http.Header, sub *Subscription, kind, eventID string, attempts int, origin string) {
	h.Set("aeg-event-type", kind)
	h.Set("aeg-subscription-name", strings.ToUpper(sub.Name))
	h.Set("aeg-delivery-count", strconv.Itoa(attempts))
	if eventID != "" {
		h.Set("aeg-output-event-id", eventID)
	}
	if sub.Schema == SchemaCloudEvents {
		h.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
		h.Set("aeg-metadata-version", cloudEventsVersion)
		h.Set("WebHook-Request-Origin", origin)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("aeg-data-version", dataVersion)
	h.Set("aeg-metadata-version", metadataVersion)
}
