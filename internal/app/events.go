package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/httpapi"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// eventWiring is the server's event delivery: webhook subscriptions and
// their worker, and the settings of the near-expiry notifications.
type eventWiring struct {
	svc    *events.Service // nil until startEvents
	lead   time.Duration   // events.nearExpiryLeadTime; 0 means the default
	client *http.Client    // of deliveries, trusting events.caFile; nil: the default
}

// defaultResourceGroup is the resource group of vaults created without
// one, as the management plane shows them.
const defaultResourceGroup = "keyhaven"

// configureEvents takes the events settings; it runs before the scheduler
// first starts.
func (a *App) configureEvents(c config.EventsConfig) error {
	client, err := eventClient(c.CAFile, c.AllowPrivateEndpoints)
	a.events.lead, a.events.client = c.NearExpiryLeadTime, client
	return err
}

// notifyExpiring is the scheduler job that records near-expiry and expired
// events of secrets, keys and certificates from their expiry indexes.
func (a *App) notifyExpiring(ctx context.Context, now time.Time) (int, error) {
	lead := cmp.Or(a.events.lead, config.Default().Events.NearExpiryLeadTime)
	vs := a.vaults.List()
	n := 0
	var errs []error
	for _, notify := range []func(context.Context, time.Time, time.Duration, []*vaults.Vault) (int, error){
		a.secrets.NotifyExpiring, a.keys.NotifyExpiring, a.certs.NotifyExpiring,
	} {
		k, err := notify(ctx, now, lead, vs)
		n += k
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// startEvents starts event delivery once the listener is up (object URLs
// in events carry its port): the subscriptions' service, answered by the
// management API, its /metrics counters and its delivery worker.
func (a *App) startEvents() {
	svc := events.New(events.Options{Barrier: a.barrier, Now: a.now, Log: a.log, Client: a.events.client, Origin: a.dnsSuffix,
		TenantID: a.identity.TenantID, Vault: a.eventVault})
	if s, ok := a.srv.Handler.(*httpapi.Server); ok {
		prev := s.Gauges
		s.Gauges = func() map[string]float64 {
			m := map[string]float64{}
			if prev != nil {
				maps.Copy(m, prev())
			}
			c := svc.Counters()
			m["keyhaven_events_delivered_total"] = float64(c.Delivered)
			m["keyhaven_events_failed_attempts_total"] = float64(c.FailedAttempts)
			m["keyhaven_events_dead_lettered_total"] = float64(c.DeadLettered)
			m["keyhaven_events_dropped_total"] = float64(c.Dropped)
			return m
		}
	}
	a.events.svc = svc
	svc.Start()
}

// stopEvents stops the delivery worker.
func (a *App) stopEvents() {
	if a.events.svc != nil {
		a.events.svc.Stop()
	}
}

// eventVault is what an event's topic and object URL are made of.
func (a *App) eventVault(id, name string) events.VaultRef {
	ref := events.VaultRef{Name: name, ResourceGroup: defaultResourceGroup, URL: "https://" + name + "." + a.dnsSuffix}
	if v, ok := a.vaults.Lookup(name); ok && v.ID == id {
		ref.Name = v.Name
		ref.ResourceGroup = cmp.Or(v.ResourceGroup, defaultResourceGroup)
		ref.URL = "https://" + v.Name + "." + a.dnsSuffix
	}
	if p := a.Port(); p != "443" {
		ref.URL += ":" + p
	}
	return ref
}

// eventClient is the HTTP client of webhook handshakes and deliveries:
// the system's CAs and those in caFile, no proxy, and — unless
// allowPrivate — no connection to loopback, private, link-local,
// multicast or unspecified addresses, checked on the address actually
// dialled (so a name that resolves elsewhere later cannot reach inside):
// whoever may create a subscription must not be able to make the server
// call its own network.
func eventClient(caFile string, allowPrivate bool) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("events.caFile: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("events.caFile: %s holds no PEM certificate", caFile)
		}
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip, err := netip.ParseAddr(host); err != nil || !publicAddr(ip.Unmap()) {
				return fmt.Errorf("the endpoint's address %s is not public (events.allowPrivateEndpoints is off)", host)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

// carrierNAT is 100.64.0.0/10 (RFC 6598), private in practice.
var carrierNAT = netip.MustParsePrefix("100.64.0.0/10")

func publicAddr(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() &&
		!ip.IsInterfaceLocalMulticast() && !ip.IsMulticast() && !ip.IsUnspecified() && !carrierNAT.Contains(ip)
}

// EventSubscriptions implements httpapi.EventSubscriptionsProvider.
func (a *App) EventSubscriptions() httpapi.EventSubscriptions {
	if a.events.svc == nil {
		return nil
	}
	return a.events.svc
}

// Events is the event delivery service, for tests that give it an HTTP
// client trusting their receiver, a shorter backoff, or read its counters.
func (a *App) Events() *events.Service { return a.events.svc }

// DeliverEvents runs event delivery once now, until nothing is due (tests
// move the clock and call it instead of waiting for the worker's poll).
func (a *App) DeliverEvents(ctx context.Context) error { return a.events.svc.RunOnce(ctx) }
