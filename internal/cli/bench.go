package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/internal/bench"
)

func newBenchCmd(s streams) *cobra.Command {
	cfg := bench.Config{}
	var ops, jsonFile, cpuProfile string
	var clientProcs int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure keyhaven's throughput, latency and CPU per request against a bare HTTPS baseline",
		Long: `Start a keyhaven server (bbolt storage, TLS, token authentication, sealed root key) as a
separate process, seed it through the public API, drive each operation with keep-alive
connections, and report requests/s, latency percentiles, errors and the server's CPU time per
request, beside a baseline: a bare Go HTTPS server answering a body of the same size.

Operations: ` + strings.Join(bench.OperationNames(), ", "),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Connections < 1 || cfg.Secrets < 1 || cfg.Duration <= 0 {
				return usageError{fmt.Errorf("--connections, --secrets and --duration must be positive")}
			}
			if cfg.ReferenceSecrets < 0 || cfg.ReferenceSecrets > 0 && cfg.Target != "" {
				return usageError{fmt.Errorf("--reference-secrets must not be negative, and needs a server the benchmark starts (not --url)")}
			}
			if cfg.StallProbe < 0 {
				return usageError{fmt.Errorf("--stall-probe must not be negative")}
			}
			if ops != "" {
				cfg.Operations = strings.Split(ops, ",")
			}
			cfg.Out = s.err
			if clientProcs > 0 {
				runtime.GOMAXPROCS(clientProcs)
			}
			if cpuProfile != "" {
				stopProfile, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stopProfile()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := bench.Run(ctx, cfg)
			if err != nil {
				return err
			}
			rep.Print(s.out)
			if jsonFile == "" {
				return nil
			}
			raw, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				return err
			}
			return os.WriteFile(jsonFile, append(raw, '\n'), 0o644)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Secrets, "secrets", 1000, "secrets to seed before measuring")
	f.DurationVar(&cfg.Duration, "duration", 5*time.Second, "measured time per operation")
	f.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured warm-up before each operation")
	f.IntVar(&cfg.Connections, "connections", 32, "keep-alive connections (and concurrent requests)")
	f.StringVar(&ops, "ops", "", "comma-separated operations to run (default: all)")
	f.StringVar(&jsonFile, "json", "", "also write the report as JSON to this file")
	f.StringVar(&cfg.Target, "url", "", "benchmark this existing vault (https://{vault}.{suffix}:port) instead of starting a server; credentials from AZURE_* variables, CA from SSL_CERT_FILE; it must have room for the seeded secrets")
	f.IntVar(&cfg.ServerPID, "server-pid", 0, "with --url: the server's process id, to read its CPU time and memory")
	f.StringVar(&cfg.ServerProfile, "server-cpu-profile", "", "make the server write a Go CPU profile of the run to this file")
	f.StringVar(&cpuProfile, "cpu-profile", "", "write a Go CPU profile of the load generator itself to this file")
	_ = f.MarkHidden("cpu-profile")
	f.StringVar(&cfg.BaselineRequest, "baseline-request", bench.BaselineSame, "what the baseline server is sent: "+bench.BaselineSame+" (GetSecret's requests byte for byte, bearer token included) or "+bench.BaselineMinimal+" (a bare GET without a token)")
	f.StringVar(&cfg.Driver, "driver", bench.DriverWire, "how requests are sent: "+bench.DriverWire+" (one goroutine per connection writes each request and reads its response) or "+bench.DriverNetHTTP+" (Go's http.Client)")
	f.IntVar(&clientProcs, "client-procs", 0, "GOMAXPROCS of the load generator (default: every core)")
	f.IntVar(&cfg.ReferenceSecrets, "reference-secrets", 0, "also start a second server seeded with this many secrets and measure the secret operations on it in slices alternating with the first's: the rate's change with the vault's size, in the same minutes (0: none)")
	f.DurationVar(&cfg.StallProbe, "stall-probe", 2*time.Second, "before the operations, spin a thread per core this long and report the time they did not run: the machine's own stalls, the floor under tail latencies (0 skips it)")
	return cmd
}

// newBenchBaselineCmd is the baseline server `keyhaven bench` starts; it
// is hidden because it is only useful to the benchmark.
func newBenchBaselineCmd(s streams) *cobra.Command {
	var listen, dir string
	var size int
	cmd := &cobra.Command{
		Use:    "bench-baseline",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The same runtime settings as the server it stands beside, so
			// that the two differ only in what they do with a request.
			tuneRuntime()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return bench.ServeBaseline(ctx, listen, size, dir, slog.New(slog.NewJSONHandler(s.err, nil)))
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address")
	cmd.Flags().IntVar(&size, "size", 300, "response body size in bytes")
	cmd.Flags().StringVar(&dir, "dir", os.TempDir(), "directory for the generated CA")
	return cmd
}
