package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Event delivery schemas of a subscription.
const (
	EventGridSchema      = "EventGridSchema"
	CloudEventSchemaV1_0 = "CloudEventSchemaV1_0"
)

// EventSubscription is a webhook subscribed to a vault's events, shown as
// the server stores it: never its HMAC secret, and its endpoint without
// the query string (EndpointBaseURL), as Event Grid shows endpointBaseUrl.
type EventSubscription struct {
	ID                  string           `json:"id"`
	Name                string           `json:"name"`
	Type                string           `json:"type"`
	Vault               string           `json:"vault"`
	Topic               string           `json:"topic"` // the vault's ARM resource id, the events' topic
	ProvisioningState   string           `json:"provisioningState"`
	EndpointBaseURL     string           `json:"endpointBaseUrl"`
	IncludedEventTypes  []string         `json:"includedEventTypes"` // empty: every type
	EventDeliverySchema string           `json:"eventDeliverySchema"`
	RetryPolicy         EventRetryPolicy `json:"retryPolicy"`
	DeadLetter          bool             `json:"deadLetter"`
	HMACSecretSet       bool             `json:"hmacSecretSet"`
	CreatedOn           time.Time        `json:"createdOn"`
	UpdatedOn           time.Time        `json:"updatedOn"`
}

// EventRetryPolicy bounds the retries of one event: attempts 1-30 (default
// 30) and time to live 1-1440 minutes (default 1440), as Event Grid's.
type EventRetryPolicy struct {
	MaxDeliveryAttempts      int `json:"maxDeliveryAttempts,omitempty"`
	EventTimeToLiveInMinutes int `json:"eventTimeToLiveInMinutes,omitempty"`
}

// EventSubscriptionParams create or replace a subscription. EndpointURL is
// https (http only to loopback); the server sends it the validation
// handshake of Schema before it stores the subscription. HMACSecret, when
// set, keys the X-Keyhaven-Signature header (sha256=<hex HMAC-SHA256 of
// the body>) of every POST; nil keeps the current secret, "" removes it.
type EventSubscriptionParams struct {
	Vault               string           `json:"vault,omitempty"`
	EndpointURL         string           `json:"endpointUrl"`
	IncludedEventTypes  []string         `json:"includedEventTypes,omitempty"`
	EventDeliverySchema string           `json:"eventDeliverySchema,omitempty"`
	HMACSecret          *string          `json:"hmacSecret,omitempty"`
	RetryPolicy         EventRetryPolicy `json:"retryPolicy"`
	DeadLetter          bool             `json:"deadLetter"`
}

// DeadLetteredEvent is an event a subscription gave up on, with Event
// Grid's dead-letter properties. Event is the event as delivered: an Event
// Grid event or a CloudEvent, per the subscription's schema.
type DeadLetteredEvent struct {
	Event                   json.RawMessage `json:"event"`
	DeadLetterReason        string          `json:"deadLetterReason"` // MaxDeliveryAttemptsExceeded, TimeToLiveExceeded, UndeliverableDueToHttp...
	DeliveryAttempts        int             `json:"deliveryAttempts"`
	LastDeliveryOutcome     string          `json:"lastDeliveryOutcome,omitempty"`
	LastHTTPStatusCode      int             `json:"lastHttpStatusCode,omitempty"`
	LastError               string          `json:"lastError,omitempty"`
	PublishTime             time.Time       `json:"publishTime"`
	LastDeliveryAttemptTime *time.Time      `json:"lastDeliveryAttemptTime,omitempty"`
	DeadLetteredOn          time.Time       `json:"deadLetteredOn"`
}

// PutEventSubscription creates the subscription name (3-64 letters, digits
// and hyphens) or replaces it. The server answers once the endpoint passed
// the validation handshake (up to 30 seconds), or refuses with
// SubscriptionValidationFailed.
func (c *IdentityClient) PutEventSubscription(ctx context.Context, name string, p EventSubscriptionParams) (EventSubscription, error) {
	var out EventSubscription
	if err := checkID("event subscription name", name); err != nil {
		return out, err
	}
	err := c.send(ctx, http.MethodPut, c.path("eventSubscriptions", name), p, &out)
	return out, err
}

// GetEventSubscription returns a subscription.
func (c *IdentityClient) GetEventSubscription(ctx context.Context, name string) (EventSubscription, error) {
	var out EventSubscription
	if err := checkID("event subscription name", name); err != nil {
		return out, err
	}
	err := c.send(ctx, http.MethodGet, c.path("eventSubscriptions", name), nil, &out)
	return out, err
}

// ListEventSubscriptions returns the subscriptions, only vault's when it
// is not empty.
func (c *IdentityClient) ListEventSubscriptions(ctx context.Context, vault string) ([]EventSubscription, error) {
	var out struct {
		Value []EventSubscription `json:"value"`
	}
	u := c.path("eventSubscriptions")
	if vault != "" {
		u.RawQuery = url.Values{"vault": {vault}}.Encode()
	}
	err := c.send(ctx, http.MethodGet, u, nil, &out)
	return out.Value, err
}

// DeleteEventSubscription removes a subscription and its dead letters;
// events waiting for it are no longer kept for it.
func (c *IdentityClient) DeleteEventSubscription(ctx context.Context, name string) error {
	if err := checkID("event subscription name", name); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("eventSubscriptions", name), nil, nil)
}

// ListDeadLetteredEvents returns the events subscription name gave up on,
// oldest first.
func (c *IdentityClient) ListDeadLetteredEvents(ctx context.Context, name string) ([]DeadLetteredEvent, error) {
	var out struct {
		Value []DeadLetteredEvent `json:"value"`
	}
	if err := checkID("event subscription name", name); err != nil {
		return nil, err
	}
	err := c.send(ctx, http.MethodGet, c.path("eventSubscriptions", name, "deadLetters"), nil, &out)
	return out.Value, err
}
