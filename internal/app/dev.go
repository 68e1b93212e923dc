package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/servertls"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// DevOptions configure a dev-mode server.
type DevOptions struct {
	Listen    string // default 127.0.0.1:8443
	DNSSuffix string // default vault.localhost
	Dir       string // where ca.pem is written; default: a new temporary directory
	Logger    *slog.Logger
	Now       func() time.Time
	// TrustedProxies and Throttle are the data plane's network settings,
	// as in production; a zero Throttle (Burst 0) means the defaults.
	TrustedProxies []string
	Throttle       config.ThrottleConfig
}

// DevInfo is what a user needs to talk to a dev server (also written as
// JSON with --dev-info).
type DevInfo struct {
	VaultURL      string `json:"vaultUrl"`
	CAFile        string `json:"caFile"`
	TenantID      string `json:"tenantId"`
	AuthorityHost string `json:"authorityHost"`
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret"`
	AuditFile     string `json:"auditFile"`    // the audit log (removed with the dev directory)
	AuditKeyFile  string `json:"auditKeyFile"` // its public key, for keyhaven audit verify --key
}

// NewDev starts a dev-mode server: in-memory storage, a dev seal, a fresh
// CA and leaf certificate, one vault named "dev" and an application with
// full data-plane rights on it. Nothing survives the process.
func NewDev(ctx context.Context, o DevOptions) (*App, *DevInfo, error) {
	o, tmpDir, err := devDefaults(o)
	if err != nil {
		return nil, nil, err
	}
	a := &App{log: o.Logger, now: o.Now, dnsSuffix: o.DNSSuffix, store: memory.New(), sealType: "dev", tmpDir: tmpDir,
		keyRotation: 30 * 24 * time.Hour}
	a.services(time.Hour)
	if err := a.barrier.Initialize(ctx, barrier.NewDevSeal()); err != nil {
		return nil, nil, err
	}
	if err := a.open(ctx, ""); err != nil {
		return nil, nil, err
	}
	if _, err := a.vaults.Ensure(ctx, vaults.Spec{Name: "dev"}); err != nil {
		return nil, nil, err
	}
	app, secret, err := a.bootstrapAdmin(ctx, "keyhaven-dev", 365*24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	bundle, err := servertls.Ephemeral(o.Dir, tlsNames(o.DNSSuffix))
	if err != nil {
		return nil, nil, err
	}
	a.tls = bundle
	auditFile, auditKey, err := a.devAudit(o.Dir)
	if err != nil {
		return nil, nil, err
	}
	if err := a.listen(o.Listen); err != nil {
		return nil, nil, err
	}
	if err := a.setNetwork(o.TrustedProxies, o.Throttle); err != nil {
		return nil, nil, errors.Join(err, a.ln.Close())
	}
	// A dev server is for one developer's machine: its metrics are open.
	if err := a.setMetricsAccess(config.MetricsConfig{Anonymous: true}); err != nil {
		return nil, nil, errors.Join(err, a.ln.Close())
	}
	a.startEvents()
	a.startAlerts(config.Default().Alerts)
	info := &DevInfo{
		VaultURL:      "https://dev." + o.DNSSuffix + ":" + a.Port(),
		CAFile:        bundle.CAFile,
		TenantID:      a.identity.TenantID(),
		AuthorityHost: "https://localhost:" + a.Port(),
		ClientID:      app.ClientID,
		ClientSecret:  secret,
		AuditFile:     auditFile,
		AuditKeyFile:  auditKey,
	}
	return a, info, nil
}

// devAudit audits to {dir}/audit.log with a fresh signing key whose public
// key is written to {dir}/audit-key.pub.
func (a *App) devAudit(dir string) (file, pubFile string, err error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	file, pubFile = filepath.Join(dir, "audit.log"), filepath.Join(dir, "audit-key.pub")
	if err := os.WriteFile(pubFile, audit.PublicKeyPEM(key.Public().(ed25519.PublicKey)), 0o644); err != nil {
		return "", "", err
	}
	return file, pubFile, a.openAudit(file, 100<<20, audit.FsyncNever, false, key)
}

// devDefaults fills o's defaults; tmpDir is the directory it created for
// ca.pem, if any, which the server removes at shutdown.
func devDefaults(o DevOptions) (_ DevOptions, tmpDir string, err error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8443"
	}
	if o.DNSSuffix == "" {
		o.DNSSuffix = "vault.localhost"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Throttle.Burst == 0 {
		o.Throttle = config.Default().Throttle
	}
	if o.Dir == "" {
		if o.Dir, err = os.MkdirTemp("", "keyhaven-dev-"); err != nil {
			return o, "", err
		}
		tmpDir = o.Dir
	}
	return o, tmpDir, nil
}

// tlsNames are the names the generated leaf certificate covers.
func tlsNames(suffix string) []string {
	return []string{"localhost", "127.0.0.1", "::1", suffix, "*." + suffix}
}

// Banner is the short block dev mode prints at start.
func (d *DevInfo) Banner() string {
	return fmt.Sprintf(`keyhaven dev server is ready — in memory, everything is gone when it stops.

  Vault URL   %[1]s
  Authority   %[2]s   (tenant %[3]s)
  CA file     %[4]s
  Audit log   %[8]s   (keyhaven audit verify --key %[9]s %[8]s)

Trust the CA and use the dev application (Go SDK, JS SDK, keyhaven CLI):

  export SSL_CERT_FILE=%[4]s
  export NODE_EXTRA_CA_CERTS=%[4]s
  export AZURE_AUTHORITY_HOST=%[2]s
  export AZURE_TENANT_ID=adfs
  export AZURE_CLIENT_ID=%[5]s
  export AZURE_CLIENT_SECRET=%[6]s
  export KEYHAVEN_VAULT_URL=%[1]s   # the CLI's default vault; --vault-name picks another on this server

AZURE_TENANT_ID=adfs lets DefaultAzureCredential work unchanged; with
NewClientSecretCredential use tenant %[3]s and DisableInstanceDiscovery.
*.localhost names need a hosts entry for the SDKs (the keyhaven CLI resolves them itself):
  echo "127.0.0.1 %[7]s" | sudo tee -a /etc/hosts
`, d.VaultURL, d.AuthorityHost, d.TenantID, d.CAFile, d.ClientID, d.ClientSecret, hostOf(d.VaultURL), d.AuditFile, d.AuditKeyFile)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Hostname()
}
