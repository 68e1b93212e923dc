package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite testdata/reference.golden")

// load runs Load the way the server does: flags registered and parsed from
// args, the YAML text file (if any) passed with --config.
func load(t *testing.T, file string, env []string, args ...string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	if file != "" {
		path := filepath.Join(t.TempDir(), "keyhaven.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", path}, args...)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return Load(fs, env)
}

func mustLoad(t *testing.T, file string, env []string, args ...string) Config {
	t.Helper()
	c, err := load(t, file, env, args...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	d := Default()
	tests := []struct {
		name      string
		got, want any
	}{
		{name: "listen", got: d.Listen, want: "127.0.0.1:8443"},
		{name: "dnsSuffix", got: d.DNSSuffix, want: "vault.localhost"},
		{name: "dataDir", got: d.DataDir, want: ""},
		{name: "storage.backend", got: d.Storage.Backend, want: "bolt"},
		{name: "storage.path", got: d.Storage.Path, want: ""},
		{name: "tls", got: d.TLS, want: TLSConfig{}},
		{name: "seal.type", got: d.Seal.Type, want: "passphrase"},
		{name: "identity.tenantId", got: d.Identity.TenantID, want: ""},
		{name: "identity.tokenLifetime", got: d.Identity.TokenLifetime, want: time.Hour},
		{name: "log.level", got: d.Log.Level, want: "info"},
		{name: "log.format", got: d.Log.Format, want: "text"},
		{name: "shutdownTimeout", got: d.ShutdownTimeout, want: 30 * time.Second},
		{name: "vaults", got: len(d.Vaults), want: 0},
		{name: "trustedProxies", got: len(d.TrustedProxies), want: 0},
		{name: "throttle", got: d.Throttle, want: ThrottleConfig{VaultRequestsPerSecond: 200_000, PrincipalRequestsPerSecond: 200_000, Burst: 10 * time.Second}},
		{name: "events", got: d.Events, want: EventsConfig{NearExpiryLeadTime: 30 * 24 * time.Hour}},
		{name: "alerts", got: d.Alerts, want: AlertsConfig{Enabled: true, FailedReadsThreshold: 20, FailedReadsWindow: 5 * time.Minute}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
	if got := mustLoad(t, "", nil); !reflect.DeepEqual(got, d) {
		t.Errorf("Load with nothing set = %+v, want Default() %+v", got, d)
	}
	if got, err := Load(nil, nil); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("Load(nil, nil) = %+v, %v; want Default()", got, err)
	}
}

const fullFile = `
listen: 0.0.0.0:9443
dnsSuffix: Vault.Example.COM
dataDir: /var/lib/keyhaven
storage:
  backend: bolt
  path: /srv/kh.db
tls:
  certFile: /etc/kh/cert.pem
  keyFile: /etc/kh/key.pem
  extraSANs: [kh.example.com, 10.0.0.5]
seal:
  type: keyfile
  keyFile: /etc/kh/seal.key
identity:
  tenantId: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
  tokenLifetime: 90m
log:
  level: debug
  format: json
shutdownTimeout: 45s
trustedProxies: [10.0.0.0/8, "2001:db8::1"]
throttle:
  vaultRequestsPerSecond: 400
  principalRequestsPerSecond: 0
  burst: 10s
events:
  nearExpiryLeadTime: 168h
  caFile: /etc/kh/webhook-ca.pem
alerts:
  enabled: false
  failedReadsThreshold: 50
  failedReadsWindow: 10m
vaults:
  - name: payments
    softDeleteRetentionDays: 30
    purgeProtection: true
  - name: ci-tests
`

func TestLoadFile(t *testing.T) {
	want := Config{
		Listen:    "0.0.0.0:9443",
		DNSSuffix: "vault.example.com",
		DataDir:   "/var/lib/keyhaven",
		Storage:   StorageConfig{Backend: "bolt", Path: "/srv/kh.db"},
		TLS: TLSConfig{CertFile: "/etc/kh/cert.pem", KeyFile: "/etc/kh/key.pem",
			ExtraSANs: []string{"kh.example.com", "10.0.0.5"}},
		Seal:            SealConfig{Type: "keyfile", KeyFile: "/etc/kh/seal.key"},
		Identity:        IdentityConfig{TenantID: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", TokenLifetime: 90 * time.Minute, ChallengeTenant: "any", SigningKeyRotation: 30 * 24 * time.Hour},
		Log:             LogConfig{Level: "debug", Format: "json"},
		Audit:           AuditConfig{MaxSizeMB: 100, Fsync: "interval"},
		ShutdownTimeout: 45 * time.Second,
		TrustedProxies:  []string{"10.0.0.0/8", "2001:db8::1"},
		Throttle:        ThrottleConfig{VaultRequestsPerSecond: 400, PrincipalRequestsPerSecond: 0, Burst: 10 * time.Second},
		Events:          EventsConfig{NearExpiryLeadTime: 7 * 24 * time.Hour, CAFile: "/etc/kh/webhook-ca.pem"},
		Alerts:          AlertsConfig{Enabled: false, FailedReadsThreshold: 50, FailedReadsWindow: 10 * time.Minute},
		Vaults: []VaultConfig{
			{Name: "payments", SoftDeleteRetentionDays: 30, PurgeProtection: true},
			{Name: "ci-tests", SoftDeleteRetentionDays: 90},
		},
	}
	got := mustLoad(t, fullFile, nil)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLoadPrecedence(t *testing.T) {
	abs, err := filepath.Abs("rel/data")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		env  []string
		args []string
		pick func(Config) any
		want any
	}{
		{name: "file over default", file: "listen: :1",
			pick: func(c Config) any { return c.Listen }, want: ":1"},
		{name: "env over file", file: "listen: :1", env: []string{"KEYHAVEN_LISTEN=:2"},
			pick: func(c Config) any { return c.Listen }, want: ":2"},
		{name: "flag over env", env: []string{"KEYHAVEN_LISTEN=:2"}, args: []string{"--listen", ":3"},
			pick: func(c Config) any { return c.Listen }, want: ":3"},
		{name: "flag not given keeps env", env: []string{"KEYHAVEN_LISTEN=:2"}, args: []string{"--log-level", "warn"},
			pick: func(c Config) any { return c.Listen }, want: ":2"},
		{name: "empty env counts as unset", file: "listen: :1", env: []string{"KEYHAVEN_LISTEN="},
			pick: func(c Config) any { return c.Listen }, want: ":1"},
		{name: "nested setting from env", env: []string{"KEYHAVEN_STORAGE_BACKEND=memory"},
			pick: func(c Config) any { return c.Storage.Backend }, want: "memory"},
		{name: "duration from env", env: []string{"KEYHAVEN_SHUTDOWN_TIMEOUT=90s"},
			pick: func(c Config) any { return c.ShutdownTimeout }, want: 90 * time.Second},
		{name: "duration flag over file", file: "identity: {tokenLifetime: 2h}", args: []string{"--identity-token-lifetime", "5m"},
			pick: func(c Config) any { return c.Identity.TokenLifetime }, want: 5 * time.Minute},
		{name: "list from env", env: []string{"KEYHAVEN_TLS_EXTRA_SANS=a.example, 10.0.0.1 ,"},
			pick: func(c Config) any { return c.TLS.ExtraSANs }, want: []string{"a.example", "10.0.0.1"}},
		{name: "list flag repeated and comma-separated", env: []string{"KEYHAVEN_TLS_EXTRA_SANS=x.example"},
			args: []string{"--tls-extra-sans", "a.example", "--tls-extra-sans", "b.example,::1"},
			pick: func(c Config) any { return c.TLS.ExtraSANs }, want: []string{"a.example", "b.example", "::1"}},
		{name: "vault entry defaults in file", file: "vaults: [{name: a1b, purgeProtection: true}]",
			pick: func(c Config) any { return c.Vaults },
			want: []VaultConfig{{Name: "a1b", SoftDeleteRetentionDays: 90, PurgeProtection: true}}},
		{name: "vaults from env replace the file's", file: "vaults: [{name: old, softDeleteRetentionDays: 7}]",
			env:  []string{"KEYHAVEN_VAULTS=one,two"},
			pick: func(c Config) any { return c.Vaults },
			want: []VaultConfig{{Name: "one", SoftDeleteRetentionDays: 90}, {Name: "two", SoftDeleteRetentionDays: 90}}},
		{name: "repeated vault flag", env: []string{"KEYHAVEN_VAULTS=one"}, args: []string{"--vault", "two", "--vault", "six"},
			pick: func(c Config) any { return c.Vaults },
			want: []VaultConfig{{Name: "two", SoftDeleteRetentionDays: 90}, {Name: "six", SoftDeleteRetentionDays: 90}}},
		{name: "dataDir made absolute, storage.path derived", args: []string{"--data-dir", "rel/data"},
			pick: func(c Config) any { return []string{c.DataDir, c.Storage.Path} },
			want: []string{abs, filepath.Join(abs, "keyhaven.db")}},
		{name: "explicit storage.path kept", file: "dataDir: /d\nstorage: {path: /elsewhere.db}",
			pick: func(c Config) any { return c.Storage.Path }, want: "/elsewhere.db"},
		{name: "dnsSuffix lower-cased", env: []string{"KEYHAVEN_DNS_SUFFIX=Vault.Example"},
			pick: func(c Config) any { return c.DNSSuffix }, want: "vault.example"},
		{name: "trusted proxies from env", env: []string{"KEYHAVEN_TRUSTED_PROXIES=10.0.0.1, 192.168.0.0/16"},
			pick: func(c Config) any { return c.TrustedProxies }, want: []string{"10.0.0.1", "192.168.0.0/16"}},
		{name: "throttle rate from env, burst from flag", env: []string{"KEYHAVEN_THROTTLE_VAULT_REQUESTS_PER_SECOND=5"},
			args: []string{"--throttle-burst", "2s", "--throttle-principal-requests-per-second", "0"},
			pick: func(c Config) any { return c.Throttle },
			want: ThrottleConfig{VaultRequestsPerSecond: 5, PrincipalRequestsPerSecond: 0, Burst: 2 * time.Second}},
		{name: "events lead time from env, CA file from flag", env: []string{"KEYHAVEN_EVENTS_NEAR_EXPIRY_LEAD_TIME=240h"},
			args: []string{"--events-ca-file", "/etc/ca.pem"},
			pick: func(c Config) any { return c.Events },
			want: EventsConfig{NearExpiryLeadTime: 240 * time.Hour, CAFile: "/etc/ca.pem"}},
		{name: "alerts off from env, threshold from flag", env: []string{"KEYHAVEN_ALERTS_ENABLED=false"},
			args: []string{"--alerts-failed-reads-threshold", "7"},
			pick: func(c Config) any { return c.Alerts },
			want: AlertsConfig{Enabled: false, FailedReadsThreshold: 7, FailedReadsWindow: 5 * time.Minute}},
		{name: "empty file is no settings", file: "# nothing\n",
			pick: func(c Config) any { return c.Listen }, want: "127.0.0.1:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, tt.file, tt.env, tt.args...)
			if got := tt.pick(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		want []string
	}{
		{name: "unknown top-level key", file: "listen: :1\nlisten_addr: :2\n",
			want: []string{"field listen_addr not found"}},
		{name: "unknown nested key", file: "storage:\n  backnd: memory\n",
			want: []string{"field backnd not found"}},
		{name: "unknown key in a vault entry", file: "vaults:\n  - name: abc\n    retention: 7\n",
			want: []string{"field retention not found"}},
		{name: "bad duration in file", file: "shutdownTimeout: soon\n",
			want: []string{"line 1: cannot unmarshal !!str (value not shown) into time.Duration"}},
		{name: "bad durations in env, all reported", env: []string{"KEYHAVEN_SHUTDOWN_TIMEOUT=soon", "KEYHAVEN_IDENTITY_TOKEN_LIFETIME=long"},
			want: []string{
				`shutdownTimeout (KEYHAVEN_SHUTDOWN_TIMEOUT, --shutdown-timeout): "soon" is not a duration`,
				`identity.tokenLifetime (KEYHAVEN_IDENTITY_TOKEN_LIFETIME, --identity-token-lifetime): "long" is not a duration`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.file, tt.env)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		RegisterFlags(fs)
		missing := filepath.Join(t.TempDir(), "absent.yaml")
		if err := fs.Parse([]string{"--config", missing}); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(fs, nil); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load = %v, want an error wrapping os.ErrNotExist", err)
		}
	})
}

// valid returns a configuration that passes Validate.
func valid() Config {
	c := Default()
	c.DataDir = "/var/lib/keyhaven"
	c.Storage.Path = "/var/lib/keyhaven/keyhaven.db"
	return c
}

func TestValidateAcceptsGoodConfigs(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{name: "defaults with dataDir", modify: func(*Config) {}},
		{name: "memory backend", modify: func(c *Config) { c.Storage.Backend = "memory" }},
		{name: "any port", modify: func(c *Config) { c.Listen = ":0" }},
		{name: "IPv6 listener", modify: func(c *Config) { c.Listen = "[::1]:8443" }},
		{name: "user certificate", modify: func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = "c.pem", "k.pem" }},
		{name: "extra SANs", modify: func(c *Config) { c.TLS.ExtraSANs = []string{"Kh.Example.com", "*.kh.example.com", "10.1.2.3", "::1"} }},
		{name: "passphrase file", modify: func(c *Config) { c.Seal.PassphraseFile = "/run/secrets/pass" }},
		{name: "key file seal", modify: func(c *Config) { c.Seal.Type, c.Seal.KeyFile = "keyfile", "/k" }},
		{name: "token lifetime bounds", modify: func(c *Config) { c.Identity.TokenLifetime = time.Minute }},
		{name: "vaults", modify: func(c *Config) {
			c.Vaults = []VaultConfig{{Name: "abc", SoftDeleteRetentionDays: 7}, {Name: "abd", SoftDeleteRetentionDays: 90}}
		}},
		{name: "trusted proxies", modify: func(c *Config) { c.TrustedProxies = []string{"10.0.0.1", "10.1.0.0/16", "::1", "fd00::/8"} }},
		{name: "unlimited throttle", modify: func(c *Config) { c.Throttle = ThrottleConfig{Burst: time.Hour} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{
		Listen:          "8443",
		DNSSuffix:       "-bad-.suffix",
		Storage:         StorageConfig{Backend: "foo"},
		TLS:             TLSConfig{CertFile: "cert.pem", ExtraSANs: []string{"ok.example", "not a name"}},
		Seal:            SealConfig{Type: "keyfile"},
		Identity:        IdentityConfig{TenantID: "contoso", TokenLifetime: 48 * time.Hour, ChallengeTenant: "any"},
		Log:             LogConfig{Level: "trace", Format: "xml"},
		Audit:           AuditConfig{Fsync: "sometimes", MaxSizeMB: -1},
		ShutdownTimeout: -time.Second,
		Vaults:          []VaultConfig{{Name: "a", SoftDeleteRetentionDays: 90}, {Name: "Dup", SoftDeleteRetentionDays: 3}, {Name: "dup", SoftDeleteRetentionDays: 90}},
		TrustedProxies:  []string{"10.0.0.1", "proxy.example", "10.0.0.0/33"},
		Throttle:        ThrottleConfig{VaultRequestsPerSecond: -1, PrincipalRequestsPerSecond: 2_000_000_000},
		Events:          EventsConfig{NearExpiryLeadTime: 9000 * time.Hour},
		Alerts:          AlertsConfig{FailedReadsThreshold: 0, FailedReadsWindow: 48 * time.Hour},
	}
	want := []string{
		`storage.backend (KEYHAVEN_STORAGE_BACKEND, --storage-backend): must be "bolt" or "memory", got "foo"`,
		`log.level (KEYHAVEN_LOG_LEVEL, --log-level): must be "debug", "info", "warn" or "error", got "trace"`,
		`log.format (KEYHAVEN_LOG_FORMAT, --log-format): must be "text" or "json", got "xml"`,
		`audit.fsync (KEYHAVEN_AUDIT_FSYNC, --audit-fsync): must be "always", "interval" or "never", got "sometimes"`,
		`audit.maxSizeMB (KEYHAVEN_AUDIT_MAX_SIZE_MB, --audit-max-size-mb): must not be negative, got -1`,
		`listen (KEYHAVEN_LISTEN, --listen): must be host:port`,
		`dnsSuffix (KEYHAVEN_DNS_SUFFIX, --dns-suffix): must be a lower-case DNS name`,
		`dataDir (KEYHAVEN_DATA_DIR, --data-dir): is required`,
		`tls.keyFile (KEYHAVEN_TLS_KEY_FILE, --tls-key-file): is required when tls.certFile is set`,
		`tls.extraSANs (KEYHAVEN_TLS_EXTRA_SANS, --tls-extra-sans): "not a name" is neither`,
		`seal.keyFile (KEYHAVEN_SEAL_KEY_FILE, --seal-key-file): is required when seal.type is keyfile`,
		`identity.tenantId (KEYHAVEN_IDENTITY_TENANT_ID, --identity-tenant-id): must be a GUID`,
		`identity.tokenLifetime (KEYHAVEN_IDENTITY_TOKEN_LIFETIME, --identity-token-lifetime): must be between 1m and 24h, got 48h0m0s`,
		`shutdownTimeout (KEYHAVEN_SHUTDOWN_TIMEOUT, --shutdown-timeout): must be positive`,
		`vaults[0].name (KEYHAVEN_VAULTS, --vault): "a" must be 3 to 24 characters long`,
		`vaults[1].softDeleteRetentionDays: must be between 7 and 90, got 3`,
		`vaults[2].name (KEYHAVEN_VAULTS, --vault): "dup" repeats vaults[1]`,
		`trustedProxies (KEYHAVEN_TRUSTED_PROXIES, --trusted-proxies): "proxy.example" is neither an IP address nor a CIDR prefix`,
		`trustedProxies (KEYHAVEN_TRUSTED_PROXIES, --trusted-proxies): "10.0.0.0/33" is neither`,
		`throttle.vaultRequestsPerSecond (KEYHAVEN_THROTTLE_VAULT_REQUESTS_PER_SECOND, --throttle-vault-requests-per-second): must be between 0 (unlimited) and 1000000000, got -1`,
		`throttle.principalRequestsPerSecond (KEYHAVEN_THROTTLE_PRINCIPAL_REQUESTS_PER_SECOND, --throttle-principal-requests-per-second): must be between 0 (unlimited) and 1000000000, got 2000000000`,
		`throttle.burst (KEYHAVEN_THROTTLE_BURST, --throttle-burst): must be positive and at most 1h, got 0s`,
		`events.nearExpiryLeadTime (KEYHAVEN_EVENTS_NEAR_EXPIRY_LEAD_TIME, --events-near-expiry-lead-time): must be between 1m and 8760h, got 9000h0m0s`,
		`alerts.failedReadsThreshold (KEYHAVEN_ALERTS_FAILED_READS_THRESHOLD, --alerts-failed-reads-threshold): must be between 1 and 1000, got 0`,
		`alerts.failedReadsWindow (KEYHAVEN_ALERTS_FAILED_READS_WINDOW, --alerts-failed-reads-window): must be between 1s and 24h, got 48h0m0s`,
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing problem %q", w)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != len(want) {
		t.Errorf("Validate reported %d problems, want %d:\n%v", n, len(want), err)
	}
}

func TestVaultNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{name: "abc", ok: true},
		{name: "My-Vault-01", ok: true},
		{name: "a23456789012345678901234", ok: true},
		{name: "ab", ok: false},
		{name: "a234567890123456789012345", ok: false},
		{name: "1abc", ok: false},
		{name: "-abc", ok: false},
		{name: "abc-", ok: false},
		{name: "ab--c", ok: false},
		{name: "ab_c", ok: false},
		{name: "ab.c", ok: false},
		{name: "abé", ok: false},
		{name: "", ok: false},
	}
	for _, tt := range tests {
		c := valid()
		c.Vaults = []VaultConfig{newVault(tt.name)}
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("vault %q: Validate = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestTenantID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{id: "", ok: true},
		{id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", ok: true},
		{id: "3F2504E0-4F89-11D3-9A0C-0305E82C3301", ok: true},
		{id: "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}", ok: false},
		{id: "3f2504e04f8911d39a0c0305e82c3301", ok: false},
		{id: "3f2504e0-4f89-11d3-9a0c-0305e82c330", ok: false},
		{id: "3f2504e0-4f89-11d3-9a0c-0305e82c330g", ok: false},
		{id: "adfs", ok: false},
	}
	for _, tt := range tests {
		c := valid()
		c.Identity.TenantID = tt.id
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("tenant %q: Validate = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	const secret = "correct-horse-battery-staple"
	tests := []struct {
		name     string
		file     string
		env      []string
		args     []string
		warnings int
		wantErr  bool
	}{
		{name: "from the environment", env: []string{"KEYHAVEN_SEAL_PASSPHRASE=" + secret}, warnings: 0},
		{name: "in the file", file: "seal: {passphrase: " + secret + "}", warnings: 1},
		{name: "in the file, in the wrong place", file: "seal: {passphrase: " + secret + "}\nlog: " + secret, wantErr: true},
		{name: "on the command line", args: []string{"--seal-passphrase", secret}, warnings: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.file, tt.env, tt.args...)
			if tt.wantErr {
				if err == nil || strings.Contains(err.Error(), secret) {
					t.Errorf("Load error %v: want one without the passphrase", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Seal.Passphrase != secret {
				t.Fatalf("passphrase not loaded")
			}
			if len(c.Warnings) != tt.warnings {
				t.Errorf("warnings = %q, want %d", c.Warnings, tt.warnings)
			}
			// A bad seal setting: the passphrase with a passphrase file, then with the key file seal.
			c.Seal.PassphraseFile = "/run/pass"
			err1 := c.Validate()
			c.Seal.Type = "keyfile"
			err2 := c.Validate()
			if err1 == nil || err2 == nil || !strings.Contains(err2.Error(), "seal.passphrase (KEYHAVEN_SEAL_PASSPHRASE") {
				t.Fatalf("Validate = %v / %v, want seal.passphrase problems", err1, err2)
			}
			shown := strings.Join(c.Warnings, "\n") + err1.Error() + err2.Error() +
				fmt.Sprint(c) + fmt.Sprintf("%+v", c) + fmt.Sprintf("%v", &c)
			if strings.Contains(shown, secret) {
				t.Errorf("the passphrase appears in:\n%s", shown)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		path, env, flag string
	}{
		{path: "listen", env: "KEYHAVEN_LISTEN", flag: "listen"},
		{path: "dnsSuffix", env: "KEYHAVEN_DNS_SUFFIX", flag: "dns-suffix"},
		{path: "storage.backend", env: "KEYHAVEN_STORAGE_BACKEND", flag: "storage-backend"},
		{path: "tls.extraSANs", env: "KEYHAVEN_TLS_EXTRA_SANS", flag: "tls-extra-sans"},
		{path: "seal.passphraseFile", env: "KEYHAVEN_SEAL_PASSPHRASE_FILE", flag: "seal-passphrase-file"},
		{path: "identity.tenantId", env: "KEYHAVEN_IDENTITY_TENANT_ID", flag: "identity-tenant-id"},
		{path: "shutdownTimeout", env: "KEYHAVEN_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout"},
		{path: "vaults", env: "KEYHAVEN_VAULTS", flag: "vault"},
		{path: "trustedProxies", env: "KEYHAVEN_TRUSTED_PROXIES", flag: "trusted-proxies"},
		{path: "throttle.vaultRequestsPerSecond", env: "KEYHAVEN_THROTTLE_VAULT_REQUESTS_PER_SECOND", flag: "throttle-vault-requests-per-second"},
		{path: "throttle.burst", env: "KEYHAVEN_THROTTLE_BURST", flag: "throttle-burst"},
		{path: "events.nearExpiryLeadTime", env: "KEYHAVEN_EVENTS_NEAR_EXPIRY_LEAD_TIME", flag: "events-near-expiry-lead-time"},
	}
	for _, tt := range tests {
		s := lookup(tt.path)
		if s.env != tt.env || s.flag != tt.flag {
			t.Errorf("%s: env %q flag %q, want %q %q", tt.path, s.env, s.flag, tt.env, tt.flag)
		}
	}
}

// TestEverySetting checks the tags: each setting is described, has a flag,
// keeps backquotes out of its description (pflag reads them as the value's
// name) and has an enum tag only on a string.
func TestEverySetting(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	if fs.Lookup("config") == nil {
		t.Error("no --config flag")
	}
	c := Default()
	for _, s := range settings {
		if fs.Lookup(s.flag) == nil {
			t.Errorf("%s: no flag --%s", s.path, s.flag)
		}
		if _, isString := s.ptr(&c).(*string); s.enum != nil && !isString {
			t.Errorf("%s: enum tag on a non-string", s.path)
		}
	}
	for _, s := range append(settings, vaultSettings...) {
		if s.desc == "" || strings.Contains(s.desc, "`") {
			t.Errorf("%s: description %q is empty or has a backquote", s.path, s.desc)
		}
	}
}

func TestReferenceGolden(t *testing.T) {
	golden := filepath.Join("testdata", "reference.golden")
	got := Reference()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("Reference() differs from %s (run go test -update and review the diff):\n%s", golden, got)
	}
}

// The README's configuration reference is the generated one.
func TestReadmeReference(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), strings.TrimRight(Reference(), "\n")) {
		t.Fatal("README.md's configuration reference is out of date: paste internal/config/testdata/reference.golden between the config-reference markers")
	}
}
