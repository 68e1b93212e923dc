package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks c for running the server and returns every problem at
// once (errors.Join), each naming the setting as
// "path (KEYHAVEN_ENV, --flag): problem". It reads no files. Secret values
// are never part of a message.
//
// dataDir is always required: in dev mode the caller points it at a
// directory of its own (where the dev CA certificate is written) before
// calling Validate. An empty passphrase is not a problem here: how the
// server obtains it then is the seal's business.
func (c *Config) Validate() error {
	var p problems
	p.checkEnums(c)
	p.checkListen(c.Listen)
	if !isDNSName(c.DNSSuffix) {
		p.addf(label("dnsSuffix"), "must be a lower-case DNS name such as vault.localhost, got %q", c.DNSSuffix)
	}
	if c.DataDir == "" {
		p.addf(label("dataDir"), "is required")
	}
	p.checkTLS(c.TLS)
	p.checkSeal(c.Seal)
	p.checkIdentity(c.Identity)
	if c.ShutdownTimeout <= 0 {
		p.addf(label("shutdownTimeout"), "must be positive, got %v", c.ShutdownTimeout)
	}
	p.checkVaults(c.Vaults)
	p.checkTrustedProxies(c.TrustedProxies)
	p.checkThrottle(c.Throttle)
	if d := c.Events.NearExpiryLeadTime; d < time.Minute || d > 365*24*time.Hour {
		p.addf(label("events.nearExpiryLeadTime"), "must be between 1m and 8760h, got %v", d)
	}
	if n := c.Alerts.FailedReadsThreshold; n < 1 || n > 1000 {
		p.addf(label("alerts.failedReadsThreshold"), "must be between 1 and 1000, got %d", n)
	}
	if d := c.Alerts.FailedReadsWindow; d < time.Second || d > 24*time.Hour {
		p.addf(label("alerts.failedReadsWindow"), "must be between 1s and 24h, got %v", d)
	}
	if c.Audit.MaxSizeMB < 0 {
		p.addf(label("audit.maxSizeMB"), "must not be negative, got %d", c.Audit.MaxSizeMB)
	}
	if u := c.Audit.WebhookURL; u != "" {
		if err := checkWebhookURL(u); err != nil {
			p.addf(label("audit.webhookUrl"), "%v", err)
		}
	}
	if c.Audit.File == "off" && !c.Audit.Stdout {
		c.Warnings = append(c.Warnings, "audit.file is off and audit.stdout is false: no request is audited")
	}
	return errors.Join(p...)
}

// problems collects Validate's findings.
type problems []error

func (p *problems) addf(label, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", label, fmt.Sprintf(format, args...)))
}

// label names the setting at path in a message.
func label(path string) string { return lookup(path).label() }

// checkEnums checks every setting that has an enum tag.
func (p *problems) checkEnums(c *Config) {
	for _, s := range settings {
		if s.enum == nil {
			continue
		}
		if v := *s.ptr(c).(*string); !slices.Contains(s.enum, v) {
			p.addf(s.label(), "must be %s, got %q", alternatives(s.enum), v)
		}
	}
}

// alternatives formats values as `"a", "b" or "c"`.
func alternatives(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	last := len(q) - 1
	return strings.Join(q[:last], ", ") + " or " + q[last]
}

func (p *problems) checkListen(addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		p.addf(label("listen"), "must be host:port with a numeric port (such as 127.0.0.1:8443 or :8443), got %q", addr)
	}
}

func (p *problems) checkTLS(t TLSConfig) {
	if t.CertFile != "" && t.KeyFile == "" {
		p.addf(label("tls.keyFile"), "is required when tls.certFile is set")
	}
	if t.KeyFile != "" && t.CertFile == "" {
		p.addf(label("tls.certFile"), "is required when tls.keyFile is set")
	}
	for _, san := range t.ExtraSANs {
		if net.ParseIP(san) == nil && !isDNSName(strings.ToLower(strings.TrimPrefix(san, "*."))) {
			p.addf(label("tls.extraSANs"), "%q is neither an IP address nor a DNS name", san)
		}
	}
}

// checkSeal never formats the passphrase.
func (p *problems) checkSeal(s SealConfig) {
	switch s.Type {
	case "passphrase":
		if s.Passphrase != "" && s.PassphraseFile != "" {
			p.addf(label("seal.passphrase"), "is set together with seal.passphraseFile; set only one")
		}
		if s.KeyFile != "" {
			p.addf(label("seal.keyFile"), "is only used when seal.type is keyfile")
		}
	case "keyfile":
		if s.KeyFile == "" {
			p.addf(label("seal.keyFile"), "is required when seal.type is keyfile")
		}
		if s.Passphrase != "" {
			p.addf(label("seal.passphrase"), "is only used when seal.type is passphrase")
		}
		if s.PassphraseFile != "" {
			p.addf(label("seal.passphraseFile"), "is only used when seal.type is passphrase")
		}
	}
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (p *problems) checkIdentity(id IdentityConfig) {
	if id.TenantID != "" && !guid.MatchString(id.TenantID) {
		p.addf(label("identity.tenantId"), "must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301, got %q", id.TenantID)
	}
	if d := id.TokenLifetime; d < time.Minute || d > 24*time.Hour {
		p.addf(label("identity.tokenLifetime"), "must be between 1m and 24h, got %v", d)
	}
	if d := id.SigningKeyRotation; d != 0 && d < 24*time.Hour {
		p.addf(label("identity.signingKeyRotation"), "must be 0 (never) or at least 24h, got %v", d)
	}
}

func (p *problems) checkVaults(vaults []VaultConfig) {
	first := map[string]int{} // lower-case name → index of its first entry
	names := lookup("vaults").names()
	for i, v := range vaults {
		at := fmt.Sprintf("vaults[%d]", i)
		if why := vaultNameProblem(v.Name); why != "" {
			p.addf(at+".name"+names, "%q %s", v.Name, why)
		} else if j, dup := first[strings.ToLower(v.Name)]; dup {
			p.addf(at+".name"+names, "%q repeats vaults[%d] (vault names ignore case)", v.Name, j)
		} else {
			first[strings.ToLower(v.Name)] = i
		}
		if d := v.SoftDeleteRetentionDays; d < 7 || d > 90 {
			p.addf(at+".softDeleteRetentionDays", "must be between 7 and 90, got %d", d)
		}
	}
}

func (p *problems) checkTrustedProxies(list []string) {
	for _, s := range list {
		var err error
		if strings.Contains(s, "/") {
			_, err = netip.ParsePrefix(s)
		} else {
			_, err = netip.ParseAddr(s)
		}
		if err != nil {
			p.addf(label("trustedProxies"), "%q is neither an IP address nor a CIDR prefix (such as 10.0.0.0/8)", s)
		}
	}
}

// maxRate keeps a rate's refill interval at least a nanosecond.
const maxRate = 1_000_000_000

func (p *problems) checkThrottle(t ThrottleConfig) {
	for _, r := range []struct {
		path string
		n    int
	}{{"throttle.vaultRequestsPerSecond", t.VaultRequestsPerSecond}, {"throttle.principalRequestsPerSecond", t.PrincipalRequestsPerSecond}} {
		if r.n < 0 || r.n > maxRate {
			p.addf(label(r.path), "must be between 0 (unlimited) and %d, got %d", maxRate, r.n)
		}
	}
	if t.Burst <= 0 || t.Burst > time.Hour {
		p.addf(label("throttle.burst"), "must be positive and at most 1h, got %v", t.Burst)
	}
}

// vaultNameProblem applies Azure's vault name rules; it returns "" for a
// good name.
func vaultNameProblem(name string) string {
	switch {
	case len(name) < 3 || len(name) > 24:
		return "must be 3 to 24 characters long"
	case strings.ContainsFunc(name, func(r rune) bool { return !isAlnum(r) && r != '-' }):
		return "may only contain letters, digits and hyphens"
	case !isLetter(rune(name[0])):
		return "must start with a letter"
	case !isAlnum(rune(name[len(name)-1])):
		return "must end with a letter or digit"
	case strings.Contains(name, "--"):
		return "must not contain consecutive hyphens"
	}
	return ""
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
func isAlnum(r rune) bool  { return isLetter(r) || '0' <= r && r <= '9' }

// isDNSName reports whether name is a lower-case DNS name: dot-separated
// labels of 1-63 letters, digits and hyphens, not starting or ending with a
// hyphen, 253 characters at most.
func isDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for l := range strings.SplitSeq(name, ".") {
		bad := strings.ContainsFunc(l, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
		})
		if bad || l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
	}
	return true
}

// checkWebhookURL accepts https URLs, and http ones to loopback only.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return nil
		}
		return fmt.Errorf("http is accepted only for loopback; use https for %s", u.Host)
	}
	return fmt.Errorf("must be an https URL, got %q", u.Scheme)
}
