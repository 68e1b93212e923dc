package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// OperatorClient talks to a keyhaven server's own endpoints on its bare
// host (not a vault host): seal status and unseal.
type OperatorClient struct {
	base *url.URL
	http *http.Client
}

// SealStatus is the answer of GET /sys/seal-status.
type SealStatus struct {
	Sealed bool   `json:"sealed"`
	Type   string `json:"type"`
}

// NewOperatorClient returns a client for the server at serverURL
// (https://host:port).
func NewOperatorClient(serverURL string, opts *ClientOptions) (*OperatorClient, error) {
	u, err := url.Parse(strings.TrimSuffix(serverURL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: invalid server URL %q: want https://host[:port]", serverURL)
	}
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient(o.RootCAs)
	}
	return &OperatorClient{base: u, http: hc}, nil
}

// SealStatus reports whether the server is sealed.
func (c *OperatorClient) SealStatus(ctx context.Context) (*SealStatus, error) {
	var st SealStatus
	return &st, c.call(ctx, http.MethodGet, "/sys/seal-status", nil, &st)
}

// Unseal sends the seal passphrase. The server answers 400 UnsealFailed
// when it is wrong.
func (c *OperatorClient) Unseal(ctx context.Context, passphrase []byte) (*SealStatus, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("client: empty passphrase")
	}
	body, err := json.Marshal(map[string]string{"passphrase": string(passphrase)})
	if err != nil {
		return nil, err
	}
	var st SealStatus
	return &st, c.call(ctx, http.MethodPost, "/sys/unseal", body, &st)
}

func (c *OperatorClient) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp, err = checkStatus(resp); err != nil {
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
