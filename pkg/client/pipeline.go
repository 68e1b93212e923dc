package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// authPipeline sends requests with Key Vault's challenge-based bearer
// authentication, like the Azure SDKs' challenge policy.
type authPipeline struct {
	hc         *http.Client
	cred       TokenCredential
	skipVerify bool
	// scope, when set, is the fixed token scope of every request: there is
	// no challenge to learn (the management API of the authority host).
	scope string

	mu         sync.Mutex
	challenges map[string]Challenge // by URL host (with port)
}

func newAuthPipeline(cred TokenCredential, opts ClientOptions) *authPipeline {
	hc := opts.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient(opts.RootCAs)
	}
	return &authPipeline{hc: hc, cred: cred, skipVerify: opts.DisableChallengeResourceVerification,
		challenges: map[string]Challenge{}}
}

// newScopedPipeline returns a pipeline that sends a token for scope with
// every request, without a challenge round trip.
func newScopedPipeline(cred TokenCredential, scope string, opts ClientOptions) *authPipeline {
	p := newAuthPipeline(cred, opts)
	p.scope = scope
	return p
}

// do sends method u with body (nil for none) and returns a 2xx response;
// any other status becomes a *ResponseError.
func (p *authPipeline) do(ctx context.Context, method string, u *url.URL, body []byte) (*http.Response, error) {
	if u.Scheme != "https" {
		return nil, fmt.Errorf("refusing to send a bearer token over %s: the vault URL must use https", u.Scheme)
	}
	if p.scope != "" {
		return p.doScoped(ctx, method, u, body)
	}
	ch, ok := p.challenge(u.Host)
	if !ok {
		resp, err := p.probe(ctx, method, u, body)
		if err != nil || resp != nil {
			return resp, err
		}
		ch, _ = p.challenge(u.Host)
	}
	resp, err := p.send(ctx, method, u, body, ch)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		resp, err = p.reauthorize(ctx, method, u, body, resp)
		if err != nil {
			return nil, err
		}
	}
	return checkStatus(resp)
}

// probe sends the request without token and body to learn the host's
// challenge. It returns a response only when the request had no body and
// the server did not ask for authentication.
func (p *authPipeline) probe(ctx context.Context, method string, u *url.URL, body []byte) (*http.Response, error) {
	resp, err := p.roundTrip(ctx, method, u, nil, "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		if body == nil || resp.StatusCode >= 400 {
			return checkStatus(resp) // an error answer (e.g. 404 VaultNotFound) is the server's word
		}
		drain(resp)
		return nil, fmt.Errorf("%s %s: the server answered the unauthenticated probe with HTTP %d instead of a 401 challenge",
			method, u.Redacted(), resp.StatusCode)
	}
	return nil, p.learn(u.Host, resp)
}

// learn parses and verifies the challenge of a 401 response, caches it for
// host and closes the response.
func (p *authPipeline) learn(host string, resp *http.Response) error {
	header := resp.Header.Get("WWW-Authenticate")
	if header == "" {
		return newResponseError(resp)
	}
	drain(resp)
	ch, err := ParseChallenge(header)
	if err != nil {
		return err
	}
	if !p.skipVerify {
		if err := ch.VerifyResource(host); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.challenges[host] = ch
	p.mu.Unlock()
	return nil
}

// reauthorize handles a 401 to an authenticated request: the token was
// rejected or the challenge changed. It learns the new challenge, drops the
// cached token and retries once.
func (p *authPipeline) reauthorize(ctx context.Context, method string, u *url.URL, body []byte, resp *http.Response) (*http.Response, error) {
	old, _ := p.challenge(u.Host)
	if err := p.learn(u.Host, resp); err != nil {
		return nil, err
	}
	if f, ok := p.cred.(interface{ forget(scope string) }); ok {
		f.forget(old.TokenScope())
	}
	ch, _ := p.challenge(u.Host)
	return p.send(ctx, method, u, body, ch)
}

// doScoped sends the request with a token for the fixed scope. A 401 drops
// a caching credential's token and retries once with a new one.
func (p *authPipeline) doScoped(ctx context.Context, method string, u *url.URL, body []byte) (*http.Response, error) {
	ch := Challenge{Scope: p.scope}
	resp, err := p.send(ctx, method, u, body, ch)
	if err != nil {
		return nil, err
	}
	f, caches := p.cred.(interface{ forget(scope string) })
	if resp.StatusCode == http.StatusUnauthorized && caches {
		drain(resp)
		f.forget(p.scope)
		if resp, err = p.send(ctx, method, u, body, ch); err != nil {
			return nil, err
		}
	}
	return checkStatus(resp)
}

func (p *authPipeline) challenge(host string) (Challenge, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.challenges[host]
	return ch, ok
}

// send gets a token for ch and sends the full request.
func (p *authPipeline) send(ctx context.Context, method string, u *url.URL, body []byte, ch Challenge) (*http.Response, error) {
	tok, err := p.cred.GetToken(ctx, TokenRequest{Scope: ch.TokenScope(), TenantID: ch.TenantID})
	if err != nil {
		return nil, err
	}
	return p.roundTrip(ctx, method, u, body, tok.Token)
}

func (p *authPipeline) roundTrip(ctx context.Context, method string, u *url.URL, body []byte, token string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "keyhaven-client")
	req.Header.Set("x-ms-client-request-id", newRequestID())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return p.hc.Do(req)
}

// checkStatus passes 2xx responses and turns others into *ResponseError.
func checkStatus(resp *http.Response) (*http.Response, error) {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	return nil, newResponseError(resp)
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// newRequestID returns a random (version 4) UUID.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
