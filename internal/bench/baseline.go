package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/keyhaven/keyhaven/internal/servertls"
)

// ServeBaseline runs the baseline server: a minimal Go HTTPS server with
// the same TLS setup as keyhaven that answers every request with a fixed
// JSON body of bodySize bytes. It is the limit of the machine the
// benchmark compares keyhaven against. It logs "keyhaven is listening"
// with its address, then serves until ctx ends.
func ServeBaseline(ctx context.Context, listen string, bodySize int, certDir string, log *slog.Logger) error {
	bundle, err := servertls.Ephemeral(certDir, []string{"localhost", "127.0.0.1", "::1"})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	body := fixedBody(bodySize)
	length := strconv.Itoa(len(body))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json; charset=utf-8"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	})}
	log.Info("keyhaven is listening", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	err = srv.Serve(tls.NewListener(ln, servertls.ServerConfig(bundle)))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// fixedBody is a JSON object of exactly n bytes (at least 12).
func fixedBody(n int) []byte {
	const head, tail = `{"value":"`, `"}`
	pad := max(n-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", pad) + tail)
}
