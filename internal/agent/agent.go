// Package agent is keyhaven's managed-identity endpoint for workloads. It
// runs beside a workload on loopback, holds the identity's credential, and
// answers the token requests of Azure's managed identity shapes, so the
// workload's ManagedIdentityCredential gets keyhaven tokens with no secret
// in the workload:
//
//   - App Service: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R
//     with the X-IDENTITY-HEADER secret;
//   - Cloud Shell: POST {MSI_ENDPOINT} with the form resource=R and
//     Metadata: true;
//   - IMDS: GET /metadata/identity/oauth2/token?api-version=...&resource=R
//     with Metadata: true.
//
// Requests that came through a proxy (X-Forwarded-For) are refused, as
// IMDS does, so a server-side request forgery in the workload cannot
// fetch tokens.
package agent

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// Paths the agent serves.
const (
	AppServicePath = "/msi/token"
	IMDSPath       = "/metadata/identity/oauth2/token"
)

// Agent answers managed-identity token requests with tokens of one
// identity.
type Agent struct {
	cred     client.TokenCredential
	clientID string
	header   string // the X-IDENTITY-HEADER secret
	log      *slog.Logger
}

// New returns an agent that gets tokens with cred for the identity
// clientID. header is the App Service secret; empty means a random one
// (read it with Header).
func New(cred client.TokenCredential, clientID, header string, log *slog.Logger) *Agent {
	if header == "" {
		var b [24]byte
		_, _ = rand.Read(b[:])
		header = base64.RawURLEncoding.EncodeToString(b[:])
	}
	if log == nil {
		log = slog.Default()
	}
	return &Agent{cred: cred, clientID: strings.ToLower(clientID), header: header, log: log}
}

// Header is the value workloads send as X-IDENTITY-HEADER (IDENTITY_HEADER).
func (a *Agent) Header() string { return a.header }

type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresOn   string `json:"expires_on"`
	ExpiresIn   string `json:"expires_in"`
	NotBefore   string `json:"not_before"`
	Resource    string `json:"resource"`
	TokenType   string `json:"token_type"`
	ClientID    string `json:"client_id"`
}

type errorReply struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// ServeHTTP implements http.Handler.
func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := direct(r); err != nil {
		reply(w, http.StatusForbidden, errorReply{"invalid_request", err.Error()})
		return
	}
	resource, err := a.authorize(r)
	if err != nil {
		reply(w, http.StatusBadRequest, errorReply{"invalid_request", err.Error()})
		return
	}
	if err := a.checkIdentity(r); err != nil {
		reply(w, http.StatusBadRequest, errorReply{"invalid_request", err.Error()})
		return
	}
	tok, err := a.cred.GetToken(r.Context(), client.TokenRequest{Scope: strings.TrimSuffix(resource, "/") + "/.default"})
	if err != nil {
		a.log.Warn("managed identity token request failed", "resource", resource, "err", err)
		reply(w, http.StatusBadGateway, errorReply{"service_unavailable", "The token authority did not issue a token for this identity."})
		return
	}
	now := time.Now()
	reply(w, http.StatusOK, tokenReply{AccessToken: tok.Token, ExpiresOn: strconv.FormatInt(tok.ExpiresOn.Unix(), 10),
		ExpiresIn: strconv.FormatInt(int64(tok.ExpiresOn.Sub(now).Seconds()), 10), NotBefore: strconv.FormatInt(now.Unix(), 10),
		Resource: resource, TokenType: "Bearer", ClientID: a.clientID})
}

// authorize checks the request's shape and its anti-forgery header, and
// returns the resource it asks for.
func (a *Agent) authorize(r *http.Request) (string, error) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == AppServicePath:
		got := r.Header.Get("X-Identity-Header")
		if subtle.ConstantTimeCompare([]byte(got), []byte(a.header)) != 1 {
			return "", errors.New("The X-IDENTITY-HEADER is missing or wrong.")
		}
		return need(r.URL.Query().Get("resource"))
	case r.Method == http.MethodPost && r.URL.Path == AppServicePath:
		if !strings.EqualFold(r.Header.Get("Metadata"), "true") {
			return "", errors.New("The Metadata: true header is required.")
		}
		if err := r.ParseForm(); err != nil {
			return "", errors.New("The body must be a form with resource.")
		}
		return need(r.PostForm.Get("resource"))
	case r.Method == http.MethodGet && (r.URL.Path == IMDSPath || r.URL.Path == IMDSPath+"/"):
		if !strings.EqualFold(r.Header.Get("Metadata"), "true") {
			return "", errors.New("The Metadata: true header is required.")
		}
		return need(r.URL.Query().Get("resource"))
	}
	return "", errors.New("Unknown request: use GET " + AppServicePath + " (App Service), POST " + AppServicePath + " (Cloud Shell) or GET " + IMDSPath + " (IMDS).")
}

// direct refuses requests that did not come straight from a local
// process: through a proxy (X-Forwarded-For, as IMDS does), from a browser
// (Origin, Sec-Fetch-*), or addressed to another host name (DNS rebinding).
func direct(r *http.Request) error {
	switch {
	case r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "":
		return errors.New("Requests through a proxy are refused.")
	case r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Mode") != "" || r.Header.Get("Sec-Fetch-Site") != "":
		return errors.New("Requests from a browser are refused.")
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("Address the agent by a loopback address or localhost.")
	}
	return nil
}

// need checks the resource: an https origin (the service's app id URI;
// keyhaven's names the port clients use), without path, query or user. It
// returns it in canonical form, so a caller cannot make the agent fetch
// many tokens for one service.
func need(resource string) (string, error) {
	if resource == "" || len(resource) > 1024 {
		return "", errors.New("The resource parameter is required.")
	}
	u, err := url.Parse(strings.TrimSuffix(resource, "/.default"))
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		(u.Path != "" && u.Path != "/") || u.Hostname() == "" {
		return "", errors.New("The resource must be an https origin such as https://vault.azure.net.")
	}
	return "https://" + strings.ToLower(u.Host), nil
}

// checkIdentity refuses requests for a user-assigned identity the agent
// does not hold.
func (a *Agent) checkIdentity(r *http.Request) error {
	_ = r.ParseForm() // the query, and the body of a Cloud Shell POST
	q := r.Form
	for _, k := range []string{"client_id", "clientid"} {
		if v := q.Get(k); v != "" && !strings.EqualFold(v, a.clientID) {
			return errors.New("This agent holds only the identity " + a.clientID + ".")
		}
	}
	if q.Get("object_id") != "" || q.Get("principal_id") != "" || q.Get("mi_res_id") != "" || q.Get("msi_res_id") != "" {
		return errors.New("Select the identity by client_id; this agent holds only " + a.clientID + ".")
	}
	return nil
}

func reply(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Serve serves the agent on ln until ctx ends.
func (a *Agent) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Listen opens addr, which must be a loopback address: the agent hands out
// tokens to whoever can reach it.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, errors.New("agent: listen on a loopback address (127.0.0.1:PORT), not " + addr)
	}
	return net.Listen("tcp", addr)
}
