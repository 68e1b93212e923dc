package e2e

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyhaven/keyhaven/internal/bench"
)

// keyhaven bench runs end to end: it starts its own server and baseline,
// seeds, drives every operation and writes the JSON report.
func TestBenchTool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmark")
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	cmd := exec.Command(keyhavenBinary(t), "bench", "--secrets", "40", "--duration", "300ms", "--warmup", "100ms",
		"--connections", "4", "--stall-probe", "100ms", "--reference-secrets", "30", "--json", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("keyhaven bench: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Baseline struct {
			RPS        float64 `json:"rps"`
			CPUusPerOp float64 `json:"cpu_us_per_op"`
			Request    string  `json:"request"`
			Errors     *int    `json:"errors"`
		} `json:"baseline"`
		Results []struct {
			Operation    string  `json:"operation"`
			RPS          float64 `json:"rps"`
			P50          float64 `json:"p50_ms"`
			P99          float64 `json:"p99_ms"`
			Errors       *int    `json:"errors"`
			CPUusPerOp   float64 `json:"cpu_us_per_op"`
			ReferenceRPS float64 `json:"reference_rps"`
			ReferenceErr int     `json:"reference_errors"`
		} `json:"results"`
		Reference *struct {
			Secrets int `json:"secrets"`
		} `json:"reference"`
		LocalRSASign float64 `json:"local_rsa_sign_per_s"`
		Driver       string  `json:"driver"`
		Stalls       *struct {
			Seconds float64 `json:"seconds"`
			LostPct float64 `json:"lost_pct"`
		} `json:"machine_stalls"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Baseline.RPS <= 0 || rep.Driver != "wire" || rep.Baseline.Request != "getsecret" || rep.Baseline.Errors == nil || *rep.Baseline.Errors != 0 {
		t.Fatalf("baseline: %s", raw)
	}
	want := map[string]bool{}
	for _, op := range bench.OperationNames() {
		want[op] = true
	}
	if rep.Stalls == nil || rep.Stalls.Seconds < 0.1 || rep.Stalls.LostPct < 0 || rep.Stalls.LostPct > 100 {
		t.Fatalf("machine stalls: %s", raw)
	}
	if len(want) < 10 || rep.LocalRSASign <= 0 {
		t.Fatalf("operations %v, local RSA %v", want, rep.LocalRSASign)
	}
	if rep.Reference == nil || rep.Reference.Secrets != 30 {
		t.Fatalf("reference server: %s", raw)
	}
	keyOps := map[string]bool{"SignRS256": true, "SignES256": true, "EncryptRSAOAEP256": true, "DecryptRSAOAEP256": true,
		"WrapKeyA256KW": true, "UnwrapKeyA256KW": true, "EncryptA256GCM": true}
	for _, r := range rep.Results {
		if !want[r.Operation] || r.RPS <= 0 || r.Errors == nil || *r.Errors != 0 || r.P99 < r.P50 || r.CPUusPerOp <= 0 {
			t.Errorf("result %+v", r)
		}
		// The secret operations run on the reference server too (the wire
		// driver here, net/http below); the key operations do not.
		if keyOps[r.Operation] != (r.ReferenceRPS == 0) || r.ReferenceErr != 0 {
			t.Errorf("reference numbers of %s: %+v", r.Operation, r)
		}
		delete(want, r.Operation)
	}
	if len(want) != 0 {
		t.Fatalf("operations missing from the report: %v", want)
	}
	// The other driver, Go's http.Client, drives the same server shape,
	// beside a reference server with fewer secrets.
	cmd = exec.Command(keyhavenBinary(t), "bench", "--secrets", "10", "--duration", "200ms", "--warmup", "50ms",
		"--connections", "2", "--driver", "net/http", "--ops", "GetSecret,SetSecret", "--stall-probe", "0",
		"--reference-secrets", "5", "--json", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("keyhaven bench --driver net/http: %v\n%s", err, b)
	}
	if raw, err = os.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	var again struct {
		Driver   string
		Stalls   *struct{} `json:"machine_stalls"`
		Baseline struct {
			RPS    float64
			Errors int
		}
		Results []struct {
			RPS           float64
			Errors        int
			ReferenceRPS  float64 `json:"reference_rps"`
			ReferenceErrs int     `json:"reference_errors"`
			ReferenceCPU  float64 `json:"reference_cpu_us_per_op"`
			VsReference   float64 `json:"vs_reference"`
		}
		Reference *struct {
			Secrets int     `json:"secrets"`
			RSS     float64 `json:"server_rss_mb"`
		}
	}
	if err := json.Unmarshal(raw, &again); err != nil || again.Driver != "net/http" || len(again.Results) != 2 || again.Stalls != nil ||
		again.Baseline.RPS <= 0 || again.Baseline.Errors != 0 {
		t.Fatalf("net/http driver report: %v %s", err, raw)
	}
	if again.Reference == nil || again.Reference.Secrets != 5 || again.Reference.RSS <= 0 {
		t.Fatalf("reference server: %s", raw)
	}
	for _, r := range again.Results {
		if r.RPS <= 0 || r.Errors != 0 || r.ReferenceRPS <= 0 || r.ReferenceErrs != 0 || r.ReferenceCPU <= 0 ||
			math.Abs(r.VsReference-r.RPS/r.ReferenceRPS) > 1e-9 {
			t.Fatalf("net/http driver report beside a reference server: %s", raw)
		}
	}
}
