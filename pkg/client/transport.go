package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ClientOptions configure a SecretsClient. The zero value is ready to use.
type ClientOptions struct {
	// HTTPClient sends the requests. Nil means a client with the system's
	// TLS trust (which honours SSL_CERT_FILE), or RootCAs if set, that
	// dials names under ".localhost" on the loopback address.
	HTTPClient *http.Client
	// RootCAs replaces the system trust of the default HTTP client; ignored
	// when HTTPClient is set.
	RootCAs *x509.CertPool
	// DisableChallengeResourceVerification skips the check that the vault
	// host ends with "." plus the challenge resource's host. Only for
	// servers you trust, e.g. a vault addressed as https://localhost:8443.
	DisableChallengeResourceVerification bool
	// APIVersion overrides the api-version query parameter (default "7.6").
	APIVersion string
}

// DefaultAPIVersion is the Key Vault data-plane API version sent.
const DefaultAPIVersion = "7.6"

// defaultHTTPClient returns a client like http.DefaultClient's transport
// that trusts roots (nil: the system pool) and maps ".localhost" names to
// loopback. Proxies from the environment are not used for those names.
func defaultHTTPClient(roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = loopbackDialer(dialer.DialContext)
	t.Proxy = func(r *http.Request) (*url.URL, error) {
		if isLocalhostName(r.URL.Hostname()) {
			return nil, nil
		}
		return http.ProxyFromEnvironment(r)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t}
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// loopbackDialer wraps dial so that hosts equal to or under ".localhost"
// (RFC 6761) connect to 127.0.0.1, then ::1. TLS still uses the original
// name, which the transport takes from the URL, not from the dialled address.
func loopbackDialer(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || !isLocalhostName(host) {
			return dial(ctx, network, addr)
		}
		conn, err4 := dial(ctx, network, net.JoinHostPort("127.0.0.1", port))
		if err4 == nil {
			return conn, nil
		}
		conn, err6 := dial(ctx, network, net.JoinHostPort("::1", port))
		if err6 == nil {
			return conn, nil
		}
		return nil, errors.Join(err4, err6)
	}
}

// isLocalhostName reports whether host is "localhost" or ends in
// ".localhost", ignoring case and a trailing dot.
func isLocalhostName(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}
