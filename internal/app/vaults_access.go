package app

import (
	"fmt"
	"os"
	"strings"

	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/httpapi"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Vaults is the server's vault registry, for tests and tools that change
// vault settings (network rules, access policies) directly.
func (a *App) Vaults() *vaults.Service { return a.vaults }

// setNetwork gives the HTTP API its firewall and throttle settings; it
// runs after listen built the handler and before Serve.
func (a *App) setNetwork(proxies []string, t config.ThrottleConfig) error {
	trusted, err := httpapi.ParseIPRules(proxies)
	if err != nil {
		return fmt.Errorf("trusted proxies: %w", err)
	}
	s, ok := a.srv.Handler.(*httpapi.Server)
	if !ok {
		return fmt.Errorf("the HTTP handler is a %T, not the keyhaven API", a.srv.Handler)
	}
	s.Network = httpapi.Network{TrustedProxies: trusted, Throttle: httpapi.ThrottleLimits{
		VaultPerSecond: t.VaultRequestsPerSecond, PrincipalPerSecond: t.PrincipalRequestsPerSecond, Burst: t.Burst}}
	return nil
}

// setMetricsAccess decides who may read GET /metrics: anyone, the holder
// of the token in c.TokenFile, or callers allowed the metrics read action.
func (a *App) setMetricsAccess(c config.MetricsConfig) error {
	s, ok := a.srv.Handler.(*httpapi.Server)
	if !ok {
		return fmt.Errorf("the HTTP handler is a %T, not the keyhaven API", a.srv.Handler)
	}
	m := httpapi.MetricsAccess{Anonymous: c.Anonymous}
	if c.TokenFile != "" {
		raw, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("metrics.tokenFile: %w", err)
		}
		if err := m.SetToken(strings.TrimSpace(string(raw))); err != nil {
			return fmt.Errorf("metrics.tokenFile %s: %w", c.TokenFile, err)
		}
	}
	s.MetricsAccess = m
	return nil
}
