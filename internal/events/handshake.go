package events

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// handshakeWait is a validation in progress: a GET on its validation URL
// closes done.
type handshakeWait struct {
	code string
	done chan struct{}
	once bool
}

func handshakeFailed(reason string) error {
	return kverr.New(kverr.BadParameter, "SubscriptionValidationFailed",
		"The webhook validation handshake failed: "+reason+". The subscription was not created or changed.")
}

// handshake proves that sub's endpoint wants events, as Event Grid does
// for its schema: the subscription validation event for the Event Grid
// schema, the CloudEvents abuse-protection OPTIONS request otherwise.
func (s *Service) handshake(ctx context.Context, sub *Subscription, validationURL func(string) string) error {
	_, _, timeout, _ := s.settings()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if sub.Schema == SchemaCloudEvents {
		return s.abuseProtection(ctx, sub)
	}
	return s.validationEvent(ctx, sub, validationURL, timeout.String())
}

// validationEvent POSTs Microsoft.EventGrid.SubscriptionValidationEvent.
// The endpoint passes by answering 200 with {"validationResponse": code},
// or by answering 200 without one and sending a GET to the validationUrl
// before the handshake's time is up.
func (s *Service) validationEvent(ctx context.Context, sub *Subscription, validationURL func(string) string, timeout string) error {
	code := newUUID()
	wait, err := s.startWait(sub.Name, code)
	if err != nil {
		return err
	}
	defer s.endWait(sub.Name)
	data := validationData{ValidationCode: code}
	if validationURL != nil {
		data.ValidationURL = validationURL(code)
	}
	raw, err := json.Marshal([]egEvent{{ID: newUUID(), Topic: s.topic(sub.VaultID, sub.VaultName), Subject: "", EventType: validationEventType,
		EventTime: wireTime(s.now()), Data: data, DataVersion: dataVersion, MetadataVersion: metadataVersion}})
	if err != nil {
		return err
	}
	resp, err := s.send(ctx, http.MethodPost, sub, raw, func(h http.Header) { headers(h, sub, "SubscriptionValidation", "", 0, s.origin) })
	if err != nil {
		return handshakeFailed(transportReason(err, timeout))
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return handshakeFailed(fmt.Sprintf("the endpoint answered the validation event with HTTP %d (200 with {\"validationResponse\": code} is required)", resp.StatusCode))
	}
	var got struct {
		ValidationResponse *string `json:"validationResponse"`
	}
	_ = json.Unmarshal(answer, &got)
	switch {
	case got.ValidationResponse != nil && strings.EqualFold(*got.ValidationResponse, code):
		return nil
	case got.ValidationResponse != nil:
		return handshakeFailed("the endpoint answered a validationResponse that is not the validation code it was sent")
	}
	select {
	case <-wait.done:
		return nil
	case <-ctx.Done():
		return handshakeFailed("the endpoint answered 200 without {\"validationResponse\": code} and did not GET the validationUrl within " + timeout)
	}
}

// abuseProtection sends the CloudEvents webhook validation request: OPTIONS
// with WebHook-Request-Origin, which the endpoint must grant with
// WebHook-Allowed-Origin (this origin or "*").
func (s *Service) abuseProtection(ctx context.Context, sub *Subscription) error {
	resp, err := s.send(ctx, http.MethodOptions, sub, nil, func(h http.Header) { h.Set("WebHook-Request-Origin", s.origin) })
	if err != nil {
		_, _, timeout, _ := s.settings()
		return handshakeFailed(transportReason(err, timeout.String()))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	allowed := strings.TrimSpace(resp.Header.Get("WebHook-Allowed-Origin"))
	switch {
	case resp.StatusCode/100 != 2:
		return handshakeFailed(fmt.Sprintf("the endpoint answered the CloudEvents validation request (OPTIONS) with HTTP %d", resp.StatusCode))
	case allowed == "":
		return handshakeFailed("the endpoint's answer to the CloudEvents validation request (OPTIONS) has no WebHook-Allowed-Origin header")
	case allowed != "*" && !strings.EqualFold(allowed, s.origin):
		return handshakeFailed("the endpoint's WebHook-Allowed-Origin does not grant this server's origin " + s.origin)
	}
	return nil
}

// send makes one request to sub's endpoint, signing a body when sub has a
// secret.
func (s *Service) send(ctx context.Context, method string, sub *Subscription, body []byte, set func(http.Header)) (*http.Response, error) {
	client, _, _, _ := s.settings()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, sub.Endpoint, r)
	if err != nil {
		return nil, err
	}
	set(req.Header)
	req.Header.Set("User-Agent", "keyhaven-events/1")
	if body != nil && sub.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(sub.Secret, body))
	}
	return client.Do(req)
}

// transportReason words a failed request without its URL (whose query may
// hold a token).
func transportReason(err error, timeout string) string {
	var cv *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "the endpoint did not answer within " + timeout
	case errors.As(err, &cv):
		return "the endpoint's TLS certificate is not trusted by this server"
	}
	return "the endpoint could not be reached"
}

func (s *Service) startWait(name, code string) (*handshakeWait, error) {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	k := strings.ToLower(name)
	if s.pending[k] != nil {
		return nil, kverr.New(kverr.Conflict, "Conflict", "A validation handshake of the event subscription "+name+" is in progress.")
	}
	w := &handshakeWait{code: code, done: make(chan struct{})}
	s.pending[k] = w
	return w, nil
}

func (s *Service) endWait(name string) {
	s.pendingMu.Lock()
	delete(s.pending, strings.ToLower(name))
	s.pendingMu.Unlock()
}

// ConfirmValidation completes the handshake in progress of subscription
// name when code is its validation code (a GET on the validationUrl). It
// reports whether it did.
func (s *Service) ConfirmValidation(name, code string) bool {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	w := s.pending[strings.ToLower(name)]
	if w == nil || subtle.ConstantTimeCompare([]byte(strings.ToLower(code)), []byte(w.code)) != 1 {
		return false
	}
	if !w.once {
		w.once = true
		close(w.done)
	}
	return true
}
