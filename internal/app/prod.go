package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/servertls"
	"github.com/keyhaven/keyhaven/internal/storage/bolt"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// BootstrapFile is the name, inside the data directory, of the file that
// receives the first administrator's credentials when a server is
// initialized. It is written once, with mode 0600.
const BootstrapFile = "bootstrap-credentials.json"

// New builds a production server from a validated configuration. It opens
// storage, initializes the seal on first start (which needs the seal
// secret), unseals when the seal secret is configured, and otherwise starts
// sealed: the data plane answers 503 until POST /sys/unseal succeeds.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{log: log, now: time.Now, dnsSuffix: cfg.DNSSuffix, challengeTenant: cfg.Identity.ChallengeTenant, sealType: cfg.Seal.Type,
		keyRotation: cfg.Identity.SigningKeyRotation}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if err := a.openStorage(cfg); err != nil {
		return nil, err
	}
	a.services(cfg.Identity.TokenLifetime)
	if err := a.configureEvents(cfg.Events); err != nil {
		return nil, errors.Join(err, a.store.Close())
	}
	a.onOpen = func(ctx context.Context) error { return a.ensureVaults(ctx, cfg.Vaults) }
	if err := a.setUpTLS(cfg); err != nil {
		return nil, errors.Join(err, a.store.Close())
	}
	if err := a.initOrUnseal(ctx, cfg); err != nil {
		return nil, errors.Join(err, a.store.Close())
	}
	if err := a.setUpAudit(cfg); err != nil {
		return nil, errors.Join(err, a.store.Close())
	}
	if err := a.listen(cfg.Listen); err != nil {
		return nil, errors.Join(err, a.store.Close())
	}
	if err := a.setNetwork(cfg.TrustedProxies, cfg.Throttle); err != nil {
		return nil, errors.Join(err, a.ln.Close(), a.store.Close())
	}
	if err := a.setMetricsAccess(cfg.Metrics); err != nil {
		return nil, errors.Join(err, a.ln.Close(), a.store.Close())
	}
	a.startEvents()
	a.startAlerts(cfg.Alerts)
	return a, nil
}

func (a *App) openStorage(cfg config.Config) error {
	if cfg.Storage.Backend == "memory" {
		a.store = memory.New()
		return nil
	}
	st, err := bolt.Open(cfg.Storage.Path, bolt.Options{})
	if err != nil {
		return fmt.Errorf("open storage: %w", err)
	}
	a.store = st
	if err := a.noteStartGeneration(); err != nil {
		return errors.Join(err, st.Close())
	}
	return nil
}

func (a *App) setUpTLS(cfg config.Config) error {
	var err error
	if cfg.TLS.CertFile != "" {
		a.tls, err = servertls.FromFiles(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	} else {
		names := append(tlsNames(cfg.DNSSuffix), cfg.TLS.ExtraSANs...)
		a.tls, err = servertls.LoadOrCreate(filepath.Join(cfg.DataDir, "tls"), names)
	}
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}

// sealFromConfig returns the configured seal, or nil when its secret is
// not available at start (the server then waits to be unsealed).
func sealFromConfig(cfg config.Config) (barrier.Seal, error) {
	switch cfg.Seal.Type {
	case "keyfile":
		return barrier.NewKeyFileSeal(cfg.Seal.KeyFile)
	default:
		if cfg.Seal.Passphrase != "" {
			return barrier.NewPassphraseSeal([]byte(cfg.Seal.Passphrase)), nil
		}
		if cfg.Seal.PassphraseFile != "" {
			b, err := os.ReadFile(cfg.Seal.PassphraseFile)
			if err != nil {
				return nil, fmt.Errorf("read seal passphrase file: %w", err)
			}
			return barrier.NewPassphraseSeal(trimNewline(b)), nil
		}
		return nil, nil
	}
}

func (a *App) initOrUnseal(ctx context.Context, cfg config.Config) error {
	seal, err := sealFromConfig(cfg)
	if err != nil {
		return err
	}
	initialized, err := a.barrier.Initialized(ctx)
	if err != nil {
		return err
	}
	a.tenantID = cfg.Identity.TenantID
	switch {
	case !initialized && seal == nil:
		return errors.New("first start: the seal needs its secret to initialize (set KEYHAVEN_SEAL_PASSPHRASE, seal.passphraseFile or seal.keyFile)")
	case !initialized:
		return a.initialize(ctx, cfg, seal)
	case seal == nil:
		a.log.Warn("keyhaven is sealed: unseal it with `keyhaven operator unseal` before data can be served")
		return nil
	}
	if err := a.barrier.Unseal(ctx, seal); err != nil {
		return fmt.Errorf("unseal: %w", err)
	}
	return a.open(ctx, a.tenantID)
}

// initialize sets up a new server: root key, identity, the first
// administrator (credentials written to the data directory) and vaults.
func (a *App) initialize(ctx context.Context, cfg config.Config, seal barrier.Seal) error {
	if err := a.barrier.Initialize(ctx, seal); err != nil {
		return fmt.Errorf("initialize seal: %w", err)
	}
	if err := a.open(ctx, a.tenantID); err != nil {
		return err
	}
	app, secret, err := a.bootstrapAdmin(ctx, "keyhaven-admin", 365*24*time.Hour)
	if err != nil {
		return err
	}
	creds := map[string]string{"tenantId": a.identity.TenantID(), "clientId": app.ClientID, "clientSecret": secret}
	raw, _ := json.MarshalIndent(creds, "", "  ")
	path := filepath.Join(cfg.DataDir, BootstrapFile)
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("write bootstrap credentials: %w", err)
	}
	a.log.Info("initialized a new keyhaven server; the first administrator's credentials are in the data directory — store them safely and delete the file", "file", path)
	return nil
}

// ensureVaults creates the configured vaults that do not exist and applies
// the one setting that may change later: purge protection can be turned on
// (never off). Retention is fixed when a vault is created.
func (a *App) ensureVaults(ctx context.Context, list []config.VaultConfig) error {
	for _, vc := range list {
		v, err := a.vaults.Ensure(ctx, vaults.Spec{Name: vc.Name, SoftDeleteRetentionDays: vc.SoftDeleteRetentionDays, PurgeProtection: vc.PurgeProtection})
		if err != nil {
			return fmt.Errorf("vault %s: %w", vc.Name, err)
		}
		switch {
		case vc.PurgeProtection && !v.PurgeProtection:
			if _, err := a.vaults.EnablePurgeProtection(ctx, v.Name); err != nil {
				return fmt.Errorf("vault %s: %w", vc.Name, err)
			}
			a.log.Info("purge protection enabled", "vault", v.Name)
		case !vc.PurgeProtection && v.PurgeProtection:
			a.log.Warn("purge protection cannot be turned off once enabled; the vault keeps it", "vault", v.Name)
		}
		if vc.SoftDeleteRetentionDays != 0 && vc.SoftDeleteRetentionDays != v.SoftDeleteRetentionDays {
			a.log.Warn("soft-delete retention is fixed when a vault is created; the configured value is ignored",
				"vault", v.Name, "retentionDays", v.SoftDeleteRetentionDays, "configured", vc.SoftDeleteRetentionDays)
		}
	}
	return nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// setUpAudit opens the audit log of the configuration, with the signing
// key from audit.keyFile (generated on first start).
func (a *App) setUpAudit(cfg config.Config) error {
	c := cfg.Audit
	path := c.File
	switch path {
	case "":
		path = filepath.Join(cfg.DataDir, "audit", "audit.log")
	case "off":
		path = ""
	}
	keyFile := c.KeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "audit", "signing-key.pem")
	}
	key, err := audit.LoadOrCreateKey(keyFile)
	if err != nil {
		return fmt.Errorf("audit signing key: %w", err)
	}
	a.auditFailClosed = c.FailClosed
	var extra []audit.Sink
	if c.WebhookURL != "" {
		var secret []byte
		if c.WebhookSecretFile != "" {
			raw, err := os.ReadFile(c.WebhookSecretFile)
			if err != nil {
				return fmt.Errorf("audit webhook secret: %w", err)
			}
			secret = bytes.TrimSpace(raw)
		}
		a.auditWebhook = audit.NewWebhookSink(c.WebhookURL, secret, nil)
		extra = append(extra, a.auditWebhook)
	}
	return a.openAudit(path, int64(c.MaxSizeMB)<<20, c.Fsync, c.Stdout, key, extra...)
}
