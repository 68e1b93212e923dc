package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// EventSubscriptions keeps webhook subscriptions to vault events
// (events.Service). Errors are *kverr.Error for the caller's mistakes
// (EventSubscriptionNotFound, SubscriptionValidationFailed, BadParameter).
type EventSubscriptions interface {
	// Put creates or replaces a subscription after the endpoint's
	// validation handshake; created reports a new one.
	Put(ctx context.Context, sp events.Spec) (sub events.Subscription, created bool, err error)
	Get(ctx context.Context, name string) (events.Subscription, error)
	// List returns every subscription, only vaultName's when not empty.
	List(ctx context.Context, vaultName string) ([]events.Subscription, error)
	Delete(ctx context.Context, name string) error
	DeadLetters(ctx context.Context, name string) ([]events.DeadLetter, error)
	// ConfirmValidation completes a handshake in progress (a GET on the
	// validation URL) and reports whether code was its code.
	ConfirmValidation(name, code string) bool
}

// EventSubscriptionsProvider is an optional capability of Deps.Seal, the
// composition root: the event subscriptions of the server, or nil.
type EventSubscriptionsProvider interface {
	EventSubscriptions() EventSubscriptions
}

const msEventGrid = "Microsoft.EventGrid/eventSubscriptions/"

// eventSubscriptionRoutes manage webhook subscriptions to vault events, in
// Event Grid's shape: the validation handshake, retries, dead letters. The
// validate route is anonymous: its code is the credential.
func eventSubscriptionRoutes() []route {
	return []route{
		{method: "GET", pattern: "/eventSubscriptions", op: "ListEventSubscriptions", action: msEventGrid + "read", handle: (*Server).listEventSubscriptions},
		{method: "GET", pattern: "/eventSubscriptions/{name}", op: "GetEventSubscription", action: msEventGrid + "read", handle: (*Server).getEventSubscription},
		{method: "PUT", pattern: "/eventSubscriptions/{name}", op: "CreateOrUpdateEventSubscription", action: msEventGrid + "write", body: 16 << 10, handle: (*Server).putEventSubscription},
		{method: "DELETE", pattern: "/eventSubscriptions/{name}", op: "DeleteEventSubscription", action: msEventGrid + "delete", handle: (*Server).deleteEventSubscription},
		{method: "GET", pattern: "/eventSubscriptions/{name}/deadLetters", op: "ListEventSubscriptionDeadLetters", action: msEventGrid + "read", handle: (*Server).listDeadLetters},
		{method: "GET", pattern: "/eventSubscriptions/{name}/validate", op: "ValidateEventSubscription", handle: (*Server).validateEventSubscription},
	}
}

func (s *Server) eventSubscriptions() (EventSubscriptions, error) {
	if p, ok := s.Seal.(EventSubscriptionsProvider); ok {
		if es := p.EventSubscriptions(); es != nil {
			return es, nil
		}
	}
	return nil, kverr.New(kverr.Unavailable, "ServiceUnavailable", "Event subscriptions are not available on this server.")
}

type retryPolicyJSON struct {
	MaxDeliveryAttempts      int `json:"maxDeliveryAttempts"`
	EventTimeToLiveInMinutes int `json:"eventTimeToLiveInMinutes"`
}

// eventSubscriptionRequest is the body of PUT /eventSubscriptions/{name}.
// hmacSecret left out keeps the current secret; "" removes it.
type eventSubscriptionRequest struct {
	Vault               string           `json:"vault"`
	EndpointURL         string           `json:"endpointUrl"`
	IncludedEventTypes  []string         `json:"includedEventTypes"`
	EventDeliverySchema string           `json:"eventDeliverySchema"`
	HMACSecret          *string          `json:"hmacSecret"`
	RetryPolicy         *retryPolicyJSON `json:"retryPolicy"`
	DeadLetter          bool             `json:"deadLetter"`
}

// eventSubscriptionJSON shows a subscription: never its secret, and its
// endpoint without the query (which may hold a token), as Event Grid's
// endpointBaseUrl.
type eventSubscriptionJSON struct {
	ID                  string          `json:"id"`
	Name                string          `json:"name"`
	Type                string          `json:"type"`
	Vault               string          `json:"vault"`
	Topic               string          `json:"topic"`
	ProvisioningState   string          `json:"provisioningState"`
	EndpointBaseURL     string          `json:"endpointBaseUrl"`
	IncludedEventTypes  []string        `json:"includedEventTypes"`
	EventDeliverySchema string          `json:"eventDeliverySchema"`
	RetryPolicy         retryPolicyJSON `json:"retryPolicy"`
	DeadLetter          bool            `json:"deadLetter"`
	HMACSecretSet       bool            `json:"hmacSecretSet"`
	CreatedOn           time.Time       `json:"createdOn"`
	UpdatedOn           time.Time       `json:"updatedOn"`
}

func toEventSubscriptionJSON(sub events.Subscription) eventSubscriptionJSON {
	return eventSubscriptionJSON{ID: sub.Topic + "/providers/Microsoft.EventGrid/eventSubscriptions/" + sub.Name, Name: sub.Name,
		Type: "Microsoft.EventGrid/eventSubscriptions", Vault: sub.VaultName, Topic: sub.Topic, ProvisioningState: "Succeeded",
		EndpointBaseURL: sub.EndpointBase(), IncludedEventTypes: nonNil(sub.EventTypes), EventDeliverySchema: sub.Schema,
		RetryPolicy: retryPolicyJSON{MaxDeliveryAttempts: sub.MaxDeliveryAttempts, EventTimeToLiveInMinutes: sub.EventTTLMinutes},
		DeadLetter:  sub.DeadLetter, HMACSecretSet: sub.HasSecret, CreatedOn: sub.Created, UpdatedOn: sub.Updated}
}

func (s *Server) putEventSubscription(c *call) error {
	es, err := s.eventSubscriptions()
	if err != nil {
		return err
	}
	var req eventSubscriptionRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	name := c.param(0)
	if !events.ValidName(name) {
		return kverr.BadParameterf("The event subscription name must be 3-64 letters, digits and hyphens.")
	}
	vaultName := req.Vault
	if vaultName == "" {
		if cur, err := es.Get(c.r.Context(), name); err == nil {
			vaultName = cur.VaultName
		}
	}
	if vaultName == "" {
		return kverr.BadParameterf("The field 'vault' is required: the vault whose events the subscription receives.")
	}
	v, ok := s.Vaults.Lookup(vaultName)
	if !ok {
		return kverr.New(kverr.NotFound, "VaultNotFound", "The vault "+truncate(vaultName, 64)+" does not exist on this server.")
	}
	sp := events.Spec{Name: name, VaultID: v.ID, VaultName: v.Name, Endpoint: req.EndpointURL, EventTypes: req.IncludedEventTypes,
		Schema: req.EventDeliverySchema, Secret: req.HMACSecret, DeadLetter: req.DeadLetter,
		ValidationURL: func(code string) string {
			return c.base() + "/eventSubscriptions/" + url.PathEscape(name) + "/validate?id=" + url.QueryEscape(code)
		}}
	if req.RetryPolicy != nil {
		sp.MaxDeliveryAttempts, sp.EventTTLMinutes = req.RetryPolicy.MaxDeliveryAttempts, req.RetryPolicy.EventTimeToLiveInMinutes
	}
	sub, created, err := es.Put(c.r.Context(), sp)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.reply(status, toEventSubscriptionJSON(sub))
}

func (s *Server) getEventSubscription(c *call) error {
	es, err := s.eventSubscriptions()
	if err != nil {
		return err
	}
	sub, err := es.Get(c.r.Context(), c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, toEventSubscriptionJSON(sub))
}

// listEventSubscriptions answers every subscription, or with ?vault= one
// vault's.
func (s *Server) listEventSubscriptions(c *call) error {
	es, err := s.eventSubscriptions()
	if err != nil {
		return err
	}
	vault, _ := c.queryValue("vault")
	subs, err := es.List(c.r.Context(), strings.TrimSpace(vault))
	if err != nil {
		return err
	}
	out := make([]eventSubscriptionJSON, 0, len(subs))
	for _, sub := range subs {
		out = append(out, toEventSubscriptionJSON(sub))
	}
	return c.reply(http.StatusOK, map[string]any{"value": out})
}

func (s *Server) deleteEventSubscription(c *call) error {
	es, err := s.eventSubscriptions()
	if err != nil {
		return err
	}
	if err := es.Delete(c.r.Context(), c.param(0)); err != nil {
		return err
	}
	return c.noContent()
}

// listDeadLetters answers the events a subscription gave up on, each with
// Event Grid's dead-letter properties.
func (s *Server) listDeadLetters(c *call) error {
	es, err := s.eventSubscriptions()
	if err != nil {
		return err
	}
	dls, err := es.DeadLetters(c.r.Context(), c.param(0))
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"value": dls})
}

// validateEventSubscription is the validationUrl of the Event Grid
// validation event: a GET with the code confirms the handshake in progress.
func (s *Server) validateEventSubscription(c *call) error {
	es, err := s.eventSubscriptions()
	if err != nil {
		return err
	}
	code, _ := c.queryValue("id")
	if code == "" || !es.ConfirmValidation(c.param(0), code) {
		return kverr.New(kverr.NotFound, "NotFound", "No validation handshake with this code is in progress.")
	}
	return c.reply(http.StatusOK, map[string]string{"message": "The webhook endpoint of event subscription " + c.param(0) + " is validated."})
}
