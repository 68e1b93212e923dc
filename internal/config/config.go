// Package config builds keyhaven's typed server configuration from a YAML
// file, the KEYHAVEN_* environment and command-line flags.
//
// Guarantees:
//   - Precedence is defaults < file < environment < flags given on the
//     command line; a flag left at its default never overrides anything, and
//     an empty environment variable counts as unset.
//   - Every setting has one YAML path, from which one rule derives its
//     environment variable and its flag: storage.backend is
//     KEYHAVEN_STORAGE_BACKEND and --storage-backend; camelCase words are
//     split (tls.extraSANs is KEYHAVEN_TLS_EXTRA_SANS and --tls-extra-sans).
//     The one exception is vaults, whose flag is --vault (repeatable).
//   - Unknown keys in the file are errors.
//   - Validate reports every problem at once; each message names the setting
//     by YAML path, environment variable and flag.
//   - Secret values (seal.passphrase) never appear in errors, warnings or the
//     printed form of a Config.
//   - Each setting's description lives once, in the desc tag of its field;
//     flag usage and Reference (the README's table) are generated from it.
package config

import (
	"fmt"
	"time"
)

// Config is the whole server configuration. Fields carry their YAML name,
// description (desc), allowed values (enum) and secrecy (secret) in tags.
type Config struct {
	Listen          string         `yaml:"listen" desc:"TCP address (host:port) of the HTTPS listener."`
	DNSSuffix       string         `yaml:"dnsSuffix" desc:"DNS suffix of the vault hosts: a vault answers at {vault}.{dnsSuffix} on the listener's port. Lower-cased."`
	TrustedProxies  []string       `yaml:"trustedProxies" desc:"Reverse proxies (IP addresses or CIDR prefixes) whose X-Forwarded-For header names the client: for a request from one of them, the client is the right-most X-Forwarded-For entry that is not itself a trusted proxy. Everyone else's X-Forwarded-For is ignored. The client address is what vault firewall rules (networkAcls.ipRules) and the audit log see."`
	DataDir         string         `yaml:"dataDir" desc:"Directory holding the database, the generated TLS files and the bootstrap credentials. Required in production; made absolute."`
	Storage         StorageConfig  `yaml:"storage"`
	TLS             TLSConfig      `yaml:"tls"`
	Seal            SealConfig     `yaml:"seal"`
	Identity        IdentityConfig `yaml:"identity"`
	Log             LogConfig      `yaml:"log"`
	Audit           AuditConfig    `yaml:"audit"`
	Throttle        ThrottleConfig `yaml:"throttle"`
	Events          EventsConfig   `yaml:"events"`
	Alerts          AlertsConfig   `yaml:"alerts"`
	Metrics         MetricsConfig  `yaml:"metrics"`
	ShutdownTimeout time.Duration  `yaml:"shutdownTimeout" desc:"How long a graceful shutdown waits for requests in flight."`
	Vaults          []VaultConfig  `yaml:"vaults" flag:"vault" desc:"Vaults the server makes sure exist at start. The environment variable takes comma-separated names and the flag may be repeated; vaults named that way get the default settings and replace the file's list."`

	// Warnings are problems that do not stop the server, such as a secret
	// written in the configuration file; the caller prints them.
	Warnings []string `yaml:"-"`
}

// StorageConfig chooses where keyhaven keeps its (encrypted) data.
type StorageConfig struct {
	Backend string `yaml:"backend" enum:"bolt,memory" desc:"Storage backend: bolt (one file) or memory (lost at exit)."`
	Path    string `yaml:"path" desc:"Database file of the bolt backend. Empty means {dataDir}/keyhaven.db."`
}

// TLSConfig configures the HTTPS listener's certificate.
type TLSConfig struct {
	CertFile  string   `yaml:"certFile" desc:"PEM certificate (chain) of the listener. Give both files or neither; with neither, the server generates a CA and a certificate and keeps them in {dataDir}/tls."`
	KeyFile   string   `yaml:"keyFile" desc:"PEM private key matching tls.certFile."`
	ExtraSANs []string `yaml:"extraSANs" desc:"Extra DNS names and IP addresses for the generated certificate."`
}

// SealConfig chooses how the root key is released at start.
type SealConfig struct {
	Type           string `yaml:"type" enum:"passphrase,keyfile" desc:"How the root key is sealed: with a passphrase or with a key file."`
	Passphrase     string `yaml:"passphrase" secret:"true" desc:"Seal passphrase. Secret: prefer the environment variable or seal.passphraseFile; in the file or on the command line it causes a warning."`
	PassphraseFile string `yaml:"passphraseFile" desc:"File holding the seal passphrase."`
	KeyFile        string `yaml:"keyFile" desc:"Key file of the keyfile seal. Required when seal.type is keyfile."`
}

// String formats s with the passphrase redacted, so that printing a Config
// (fmt, log/slog text) never shows it.
func (s SealConfig) String() string {
	p := ""
	if s.Passphrase != "" {
		p = "[redacted]"
	}
	return fmt.Sprintf("{Type:%s Passphrase:%s PassphraseFile:%s KeyFile:%s}",
		s.Type, p, s.PassphraseFile, s.KeyFile)
}

// IdentityConfig configures keyhaven's own token authority.
type IdentityConfig struct {
	TenantID      string        `yaml:"tenantId" desc:"Tenant GUID of the token authority. Empty: the server generates one on first start and keeps it."`
	TokenLifetime time.Duration `yaml:"tokenLifetime" desc:"Lifetime of the access tokens the server issues, from 1m to 24h."`
	// SigningKeyRotation is how often the token signing key is replaced.
	SigningKeyRotation time.Duration `yaml:"signingKeyRotation" desc:"How often a new token signing key replaces the current one (the previous key stays published until its tokens expire); at least 24h, or 0 to never rotate."`
	// ChallengeTenant picks the tenant the 401 challenge names. The Azure
	// SDKs refuse a challenge whose tenant differs from their credential's
	// (an "adfs" credential accepts only "adfs" or none), so "any" names
	// none and every credential shape works; the Go SDK then repeats its
	// unauthenticated probe before each request.
	ChallengeTenant string `yaml:"challengeTenant" enum:"any,tenant,adfs" desc:"Tenant named in the 401 challenge: any (none, so credentials for the tenant GUID and for adfs both work; the Go SDK then sends one extra unauthenticated round trip per request), tenant (the tenant GUID: no extra round trip, GUID credentials only) or adfs (ADFS-shaped credentials only)."`
}

// LogConfig configures the server's structured log.
type LogConfig struct {
	Level  string `yaml:"level" enum:"debug,info,warn,error" desc:"Least severe level that is logged."`
	Format string `yaml:"format" enum:"text,json" desc:"Log line format."`
}

// AuditConfig configures the audit log: one record per request, hash
// chained, with checkpoints signed by the server's audit key.
type AuditConfig struct {
	File       string `yaml:"file" desc:"Audit log file. Empty means {dataDir}/audit/audit.log; off writes no file (then audit.stdout should be on)."`
	MaxSizeMB  int    `yaml:"maxSizeMB" desc:"Size in MiB at which the audit file is renamed to {file}.{UTC time} and a new one continues the chain; 0 never rotates."`
	Fsync      string `yaml:"fsync" enum:"always,interval,never" desc:"When audit records reach the disk: always (before each response), interval (at least every second) or never (left to the operating system)."`
	Stdout     bool   `yaml:"stdout" desc:"Also write the audit log, with its own chain, to standard output."`
	FailClosed bool   `yaml:"failClosed" desc:"Refuse (503) requests whose audit record cannot be written, and hold each response until its record is written."`
	KeyFile    string `yaml:"keyFile" desc:"Ed25519 private key (PKCS#8 PEM) that signs the audit checkpoints. Empty means {dataDir}/audit/signing-key.pem, generated on first start; its public key is written beside it (.pub) for keyhaven audit verify --key."`
	WebhookURL string `yaml:"webhookUrl" desc:"Also forward the audit log, with its own chain, to this https URL (a SIEM collector): batches of lines POSTed as application/x-ndjson in the background, retried in order with backoff; http is accepted only for loopback. Empty forwards nothing."`
	// WebhookSecretFile holds the key of the webhook's HMAC signature.
	WebhookSecretFile string `yaml:"webhookSecretFile" desc:"File whose content (trimmed) keys the HMAC-SHA256 signature of each webhook POST, sent as X-Keyhaven-Signature: sha256=<hex>. Empty sends unsigned requests."`
}

// ThrottleConfig limits the data plane's request rates with token buckets
// (429 with Retry-After, as Azure throttles). The defaults are far above
// Azure's service limits (4,000 secret reads per 10 s per vault) and above
// what one server serves, so that they only stop runaway clients.
type ThrottleConfig struct {
	VaultRequestsPerSecond     int           `yaml:"vaultRequestsPerSecond" desc:"Data-plane requests per second one vault accepts from all callers together; 0 is unlimited. The default is 500 times Azure's limit for secret reads (4,000 per 10 s) and several times what one server answers (about 50,000 GetSecret/s on two cores), so it does not throttle keyhaven bench or ordinary load; lower it to keep one vault from starving the others."`
	PrincipalRequestsPerSecond int           `yaml:"principalRequestsPerSecond" desc:"Data-plane requests per second one principal (user, application, managed identity) may send, to all vaults together; 0 is unlimited. The default, like the vault limit, only stops runaway clients; lower it to keep one caller from starving the others."`
	Burst                      time.Duration `yaml:"burst" desc:"How much unused allowance a limit keeps, as time at its rate: an idle vault or principal may send rate × burst requests at once. The default matches the 10-second windows Azure counts in. Positive, at most 1h."`
}

// EventsConfig configures event delivery to webhook subscriptions and the
// near-expiry and expired events the scheduler records.
type EventsConfig struct {
	NearExpiryLeadTime time.Duration `yaml:"nearExpiryLeadTime" desc:"How long before a secret's, key's or certificate's expiry (exp) its SecretNearExpiry, KeyNearExpiry or CertificateNearExpiry event is recorded, once per version; Azure uses 30 days. A key rotation policy's Notify action and a certificate policy's EmailContacts action take precedence for their objects. From 1m to 8760h."`
	CAFile             string        `yaml:"caFile" desc:"PEM file of extra CA certificates that webhook endpoints' TLS certificates may chain to (beside the system's), for receivers with a private CA. Empty trusts the system's CAs only."`
	// AllowPrivateEndpoints lets webhooks reach the server's own network.
	AllowPrivateEndpoints bool `yaml:"allowPrivateEndpoints" desc:"Let event webhooks reach loopback, private (RFC 1918, fc00::/7), link-local and carrier-NAT addresses. Off by default, so that whoever may create an event subscription cannot make the server call into its own network; turn it on when receivers live there."`
}

// AlertsConfig configures the security alerts evaluated on the audit
// stream and recorded as Keyhaven.SecurityAlert events.
type AlertsConfig struct {
	Enabled              bool          `yaml:"enabled" desc:"Evaluate security rules (failed-reads, purge-or-backup, settings-change, new-address) on every audit record and record each match as a Keyhaven.SecurityAlert event for event subscriptions. Needs an audit sink (audit.file or audit.stdout)."`
	FailedReadsThreshold int           `yaml:"failedReadsThreshold" desc:"Failed data-plane reads (HTTP 401, 403 or 404) by one caller (object id, else IP address) within alerts.failedReadsWindow that raise a failed-reads alert, at most once per caller per window. From 1 to 1000."`
	FailedReadsWindow    time.Duration `yaml:"failedReadsWindow" desc:"Sliding window of the failed-reads rule. From 1s to 24h."`
}

// MetricsConfig decides who may read GET /metrics.
type MetricsConfig struct {
	TokenFile string `yaml:"tokenFile" desc:"File whose content (trimmed, at least 32 characters) is a bearer token that may read /metrics, for a Prometheus scrape job (authorization: credentials_file); it also works while the server is sealed. Without it, /metrics needs a keyhaven access token whose principal may perform Microsoft.Insights/metrics/read on the server (Owner, Contributor, Reader, or a custom role with that action)."`
	Anonymous bool   `yaml:"anonymous" desc:"Let anyone who can reach the listener read /metrics (its labels name operations and vaults). Off by default; keyhaven server --dev always allows it."`
}

// VaultConfig is a vault the server makes sure exists at start.
type VaultConfig struct {
	Name                    string `yaml:"name" desc:"Vault name: 3-24 letters, digits and single hyphens, starting with a letter, ending with a letter or digit; unique regardless of case."`
	SoftDeleteRetentionDays int    `yaml:"softDeleteRetentionDays" desc:"Days a deleted object stays recoverable, from 7 to 90."`
	PurgeProtection         bool   `yaml:"purgeProtection" desc:"Whether deleted objects can only be purged after the retention period."`
}

// UnmarshalYAML fills the defaults of the fields a vault entry leaves out.
// It uses the older Unmarshaler form because that one keeps the decoder's
// rejection of unknown fields.
func (v *VaultConfig) UnmarshalYAML(unmarshal func(any) error) error {
	type vaultEntry VaultConfig // without this method
	p := vaultEntry(newVault(""))
	err := unmarshal(&p)
	*v = VaultConfig(p)
	return err
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen:          "127.0.0.1:8443",
		DNSSuffix:       "vault.localhost",
		Storage:         StorageConfig{Backend: "bolt"},
		Seal:            SealConfig{Type: "passphrase"},
		Identity:        IdentityConfig{TokenLifetime: time.Hour, ChallengeTenant: "any", SigningKeyRotation: 30 * 24 * time.Hour},
		Log:             LogConfig{Level: "info", Format: "text"},
		Audit:           AuditConfig{MaxSizeMB: 100, Fsync: "interval"},
		Throttle:        ThrottleConfig{VaultRequestsPerSecond: 200_000, PrincipalRequestsPerSecond: 200_000, Burst: 10 * time.Second},
		Events:          EventsConfig{NearExpiryLeadTime: 30 * 24 * time.Hour},
		Alerts:          AlertsConfig{Enabled: true, FailedReadsThreshold: 20, FailedReadsWindow: 5 * time.Minute},
		ShutdownTimeout: 30 * time.Second,
	}
}

// newVault returns a vault entry with the default settings.
func newVault(name string) VaultConfig {
	return VaultConfig{Name: name, SoftDeleteRetentionDays: 90}
}
