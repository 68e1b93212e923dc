package e2e

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

var promLine = regexp.MustCompile(`^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$`)

func TestMetricsCountRequests(t *testing.T) {
	srv := testenv.StartDev(t)
	ctx := context.Background()
	sc := secretsClient(t, srv, secretCredential(t, srv))
	if _, err := sc.SetSecret(ctx, "m", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := sc.GetSecret(ctx, "m", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = sc.GetSecret(ctx, "missing", "", nil)

	resp, err := srv.Client.Get(srv.Info.AuthorityHost + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`keyhaven_requests_total{operation="GetSecret",vault="dev",code="200"} 3`,
		`keyhaven_requests_total{operation="GetSecret",vault="dev",code="404"} 1`,
		`keyhaven_requests_total{operation="SetSecret",vault="dev",code="200"} 1`,
		`keyhaven_request_duration_seconds_count{operation="GetSecret"} `,
		`keyhaven_request_duration_seconds_bucket{operation="GetSecret",le="+Inf"} `,
		"keyhaven_sealed 0", "keyhaven_audit_failing 0", "keyhaven_audit_dropped_records 0",
		"keyhaven_audit_write_batches_total ", "keyhaven_audit_write_seconds_total ",
		"# TYPE keyhaven_audit_write_batches_total counter", "# TYPE keyhaven_audit_dropped_records gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if !strings.HasPrefix(line, "#") && !promLine.MatchString(line) {
			t.Errorf("not a Prometheus sample line: %q", line)
		}
	}
	if strings.Contains(body, "/secrets/m") || strings.Contains(body, "missing") {
		t.Error("metrics name objects")
	}
}
