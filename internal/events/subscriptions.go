package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// Event Grid's retry policy defaults and limits.
const (
	DefaultMaxDeliveryAttempts = 30
	DefaultEventTTLMinutes     = 1440
)

// Types are every event type a vault emits, the values a subscription's
// filter may name.
var Types = []string{
	CertificateNewVersionCreated, CertificateNearExpiry, CertificateExpired,
	KeyNewVersionCreated, KeyNearExpiry, KeyExpired,
	SecretNewVersionCreated, SecretNearExpiry, SecretExpired,
	VaultAccessPolicyChanged, SecurityAlert,
}

// Subscription is a webhook that receives one vault's events. Endpoint
// (which may hold an access token in its query) and Secret never leave the
// server: the API shows EndpointBase and HasSecret.
type Subscription struct {
	Name                string    `json:"name"`
	VaultID             string    `json:"vaultId"`
	VaultName           string    `json:"vaultName"`
	Endpoint            string    `json:"endpoint"`
	EventTypes          []string  `json:"eventTypes,omitempty"` // empty: every type
	Schema              string    `json:"schema"`
	Secret              string    `json:"secret,omitempty"` // HMAC-SHA256 key of SignatureHeader
	MaxDeliveryAttempts int       `json:"maxDeliveryAttempts"`
	EventTTLMinutes     int       `json:"eventTimeToLiveInMinutes"`
	DeadLetter          bool      `json:"deadLetter"`
	Created             time.Time `json:"created"`
	Updated             time.Time `json:"updated"`

	HasSecret bool   `json:"-"` // set on what the Service returns, whose Secret is empty
	Topic     string `json:"-"` // the vault's topic, set on what the Service returns
}

// EndpointBase is the endpoint without its query and fragment.
func (s *Subscription) EndpointBase() string {
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	return u.String()
}

func (s *Subscription) ttl() time.Duration { return time.Duration(s.EventTTLMinutes) * time.Minute }

// matches reports whether e goes to s: same vault, a type s filters for,
// and recorded no earlier than s was created (a subscription gets the
// events that happen after it exists, as in Event Grid). An event of no
// vault (a server-scope SecurityAlert) goes to every subscription whose
// filter names its type explicitly.
func (s *Subscription) matches(e *Event) bool {
	if s.Created.After(e.Time) {
		return false
	}
	if e.VaultID == "" {
		return slices.Contains(s.EventTypes, e.Type)
	}
	return e.VaultID == s.VaultID && (len(s.EventTypes) == 0 || slices.Contains(s.EventTypes, e.Type))
}

// Spec is a subscription to create or replace.
type Spec struct {
	Name                string
	VaultID, VaultName  string
	Endpoint            string
	EventTypes          []string
	Schema              string // "" means SchemaEventGrid
	Secret              *string
	MaxDeliveryAttempts int // 0 means DefaultMaxDeliveryAttempts
	EventTTLMinutes     int // 0 means DefaultEventTTLMinutes
	DeadLetter          bool
	// ValidationURL returns the validationUrl of the Event Grid validation
	// event for a code: a GET on it confirms the handshake (see
	// ConfirmValidation). Nil sends none.
	ValidationURL func(code string) string
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9-]{3,64}$`)

// ValidName reports whether name is an event subscription name: 3-64
// letters, digits and hyphens.
func ValidName(name string) bool { return nameRE.MatchString(name) }

const (
	maxEndpoint = 2048
	maxSecret   = 512
)

// validate checks sp and fills its defaults.
func (sp *Spec) validate() error {
	if !ValidName(sp.Name) {
		return kverr.BadParameterf("The event subscription name must be 3-64 letters, digits and hyphens.")
	}
	if err := checkEndpoint(sp.Endpoint); err != nil {
		return err
	}
	switch sp.Schema {
	case "":
		sp.Schema = SchemaEventGrid
	case SchemaEventGrid, SchemaCloudEvents:
	default:
		return kverr.BadParameterf("eventDeliverySchema must be %s or %s.", SchemaEventGrid, SchemaCloudEvents)
	}
	for _, t := range sp.EventTypes {
		if !slices.Contains(Types, t) {
			return kverr.BadParameterf("includedEventTypes may only name these event types: %s.", strings.Join(Types, ", "))
		}
	}
	sp.EventTypes = slices.Compact(slices.Sorted(slices.Values(sp.EventTypes)))
	if sp.Secret != nil && len(*sp.Secret) > maxSecret {
		return kverr.BadParameterf("The HMAC secret must be at most %d bytes.", maxSecret)
	}
	if sp.MaxDeliveryAttempts == 0 {
		sp.MaxDeliveryAttempts = DefaultMaxDeliveryAttempts
	}
	if sp.EventTTLMinutes == 0 {
		sp.EventTTLMinutes = DefaultEventTTLMinutes
	}
	if sp.MaxDeliveryAttempts < 1 || sp.MaxDeliveryAttempts > DefaultMaxDeliveryAttempts {
		return kverr.BadParameterf("retryPolicy.maxDeliveryAttempts must be between 1 and %d.", DefaultMaxDeliveryAttempts)
	}
	if sp.EventTTLMinutes < 1 || sp.EventTTLMinutes > DefaultEventTTLMinutes {
		return kverr.BadParameterf("retryPolicy.eventTimeToLiveInMinutes must be between 1 and %d.", DefaultEventTTLMinutes)
	}
	return nil
}

// checkEndpoint accepts absolute https URLs, and http ones to loopback
// (tests, local development). The URL itself never appears in a message:
// its query may hold a token.
func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || len(raw) > maxEndpoint || err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return kverr.BadParameterf("endpointUrl must be an absolute https URL of at most %d characters, without user information or fragment.", maxEndpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || strings.EqualFold(u.Hostname(), "localhost") {
			return nil
		}
		return kverr.BadParameterf("endpointUrl must use https; http is accepted only for loopback addresses.")
	}
	return kverr.BadParameterf("endpointUrl must use https.")
}

// Options configure a Service.
type Options struct {
	Barrier *barrier.Barrier
	Now     func() time.Time
	Log     *slog.Logger
	// Client sends handshakes and deliveries; nil means a client on
	// http.DefaultTransport's settings. Redirects are never followed.
	Client *http.Client
	// Origin names this server in WebHook-Request-Origin (a DNS name).
	Origin string
	// TenantID and Vault give what topics and object URLs are made of.
	TenantID func() string
	Vault    func(vaultID, vaultName string) VaultRef
}

// Service keeps event subscriptions and delivers the outbox to them.
type Service struct {
	b      *barrier.Barrier
	now    func() time.Time
	log    *slog.Logger
	origin string
	tenant func() string
	vault  func(vaultID, vaultName string) VaultRef

	cfgMu            sync.Mutex
	client           *http.Client
	backoff          func(attempts int) time.Duration
	handshakeTimeout time.Duration
	deliveryTimeout  time.Duration

	pendingMu sync.Mutex
	pending   map[string]*handshakeWait // by lower-case subscription name

	delivery
}

// New returns a Service; Start runs its delivery worker.
func New(o Options) *Service {
	s := &Service{b: o.Barrier, now: o.Now, log: o.Log, origin: o.Origin, tenant: o.TenantID, vault: o.Vault,
		backoff: Backoff, handshakeTimeout: 30 * time.Second, deliveryTimeout: 30 * time.Second,
		pending: map[string]*handshakeWait{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.SetClient(o.Client)
	s.delivery.init()
	return s
}

// SetClient replaces the HTTP client of handshakes and deliveries (nil:
// the default); redirects are never followed.
func (s *Service) SetClient(c *http.Client) {
	if c == nil {
		c = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	} else {
		cc := *c
		c = &cc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Timeout = 0 // each request has its own deadline
	s.cfgMu.Lock()
	s.client = c
	s.cfgMu.Unlock()
}

// SetBackoff replaces the delay before the retry that follows a failed
// attempt (attempts is how many were made); nil restores Backoff.
func (s *Service) SetBackoff(f func(attempts int) time.Duration) {
	if f == nil {
		f = Backoff
	}
	s.cfgMu.Lock()
	s.backoff = f
	s.cfgMu.Unlock()
}

// SetTimeouts sets how long a handshake (including the wait for a GET on
// the validation URL) and a delivery may take; zero keeps a value. Both
// default to Event Grid's 30 seconds.
func (s *Service) SetTimeouts(handshake, delivery time.Duration) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	if handshake > 0 {
		s.handshakeTimeout = handshake
	}
	if delivery > 0 {
		s.deliveryTimeout = delivery
	}
}

func (s *Service) settings() (*http.Client, func(int) time.Duration, time.Duration, time.Duration) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.client, s.backoff, s.handshakeTimeout, s.deliveryTimeout
}

// Storage layout (inside the barrier, under the root key):
//
//	sys/eventsubs/<lname>                       a subscription
//	sys/eventstate/<outbox suffix>/<lname>      one subscription's delivery state of one outbox event
//	sys/eventdeadletters/<lname>/<outbox suffix> a dead-lettered event
const (
	subsPrefix        = "sys/eventsubs/"
	statePrefix       = "sys/eventstate/"
	deadLettersPrefix = "sys/eventdeadletters/"
)

func subKey(name string) string { return subsPrefix + strings.ToLower(name) }

func notFound(name string) error {
	return kverr.New(kverr.NotFound, "EventSubscriptionNotFound", "The event subscription "+name+" does not exist.")
}

// Put creates the subscription sp names or replaces it. A new subscription,
// or one whose endpoint or schema changes, is only stored after its
// endpoint passed the validation handshake of its schema. created reports
// whether it is new.
func (s *Service) Put(ctx context.Context, sp Spec) (_ Subscription, created bool, err error) {
	if err := sp.validate(); err != nil {
		return Subscription{}, false, err
	}
	old, err := s.read(ctx, sp.Name)
	if err != nil {
		return Subscription{}, false, err
	}
	now := s.now().UTC()
	sub := Subscription{Name: sp.Name, VaultID: sp.VaultID, VaultName: sp.VaultName, Endpoint: sp.Endpoint, EventTypes: sp.EventTypes,
		Schema: sp.Schema, MaxDeliveryAttempts: sp.MaxDeliveryAttempts, EventTTLMinutes: sp.EventTTLMinutes, DeadLetter: sp.DeadLetter,
		Created: now, Updated: now}
	if sp.Secret != nil {
		sub.Secret = *sp.Secret
	}
	if old != nil {
		if old.VaultID != sub.VaultID {
			return Subscription{}, false, kverr.BadParameterf("The event subscription %s belongs to vault %s: its vault cannot change; delete it and create another.", old.Name, old.VaultName)
		}
		sub.Name, sub.Created = old.Name, old.Created
		if sp.Secret == nil {
			sub.Secret = old.Secret
		}
	}
	if old == nil || old.Endpoint != sub.Endpoint || old.Schema != sub.Schema {
		if err := s.handshake(ctx, &sub, sp.ValidationURL); err != nil {
			return Subscription{}, false, err
		}
	}
	raw, err := json.Marshal(&sub)
	if err != nil {
		return Subscription{}, false, err
	}
	if err := s.b.Update(ctx, func(tx *barrier.Tx) error { return tx.Put(subKey(sub.Name), raw) }); err != nil {
		return Subscription{}, false, err
	}
	return s.public(sub), old == nil, nil
}

// Get returns a subscription.
func (s *Service) Get(ctx context.Context, name string) (Subscription, error) {
	sub, err := s.read(ctx, name)
	if err != nil {
		return Subscription{}, err
	}
	if sub == nil {
		return Subscription{}, notFound(name)
	}
	return s.public(*sub), nil
}

// List returns the subscriptions by name, only those of the vault named
// vaultName (case-insensitively) when it is not empty.
func (s *Service) List(ctx context.Context, vaultName string) ([]Subscription, error) {
	all, err := s.all(ctx)
	if err != nil {
		return nil, err
	}
	out := []Subscription{}
	for _, sub := range all {
		if vaultName == "" || strings.EqualFold(sub.VaultName, vaultName) {
			out = append(out, s.public(*sub))
		}
	}
	return out, nil
}

// Delete removes a subscription and its dead letters. Events waiting for
// it no longer do.
func (s *Service) Delete(ctx context.Context, name string) error {
	if !ValidName(name) {
		return notFound(name)
	}
	return s.b.Update(ctx, func(tx *barrier.Tx) error {
		if _, err := tx.Get(subKey(name)); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return notFound(name)
			}
			return err
		}
		if err := deletePrefix(tx, deadLettersPrefix+strings.ToLower(name)+"/"); err != nil {
			return err
		}
		return tx.Delete(subKey(name))
	})
}

// public is sub as the API may show it.
func (s *Service) public(sub Subscription) Subscription {
	sub.HasSecret, sub.Secret = sub.Secret != "", ""
	sub.Topic = s.topic(sub.VaultID, sub.VaultName)
	return sub
}

func (s *Service) topic(vaultID, vaultName string) string {
	v := s.vault(vaultID, vaultName)
	return Topic(SubscriptionID(s.tenant()), v.ResourceGroup, v.Name)
}

// read returns the stored subscription, nil when there is none.
func (s *Service) read(ctx context.Context, name string) (*Subscription, error) {
	if !ValidName(name) {
		return nil, nil
	}
	var sub *Subscription
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		raw, err := tx.Get(subKey(name))
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		sub = new(Subscription)
		return json.Unmarshal(raw, sub)
	})
	return sub, err
}

// all returns every stored subscription, ordered by name.
func (s *Service) all(ctx context.Context) ([]*Subscription, error) {
	var out []*Subscription
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		out = out[:0]
		return tx.Scan(subsPrefix, "", func(_ string, val []byte) (bool, error) {
			sub := new(Subscription)
			if err := json.Unmarshal(val, sub); err != nil {
				return false, err
			}
			out = append(out, sub)
			return true, nil
		})
	})
	return out, err
}

// deletePrefix deletes every key under prefix.
func deletePrefix(tx *barrier.Tx, prefix string) error {
	var keys []string
	err := tx.ScanKeys(prefix, "", func(k string) (bool, error) {
		keys = append(keys, k)
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
