package app

import (
	"fmt"

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
