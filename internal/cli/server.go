package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/internal/app"
	"github.com/keyhaven/keyhaven/internal/config"
)

func newServerCmd(s streams) *cobra.Command {
	var dev bool
	var devInfo, cpuProfile string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the keyhaven server",
		Long: `Run the keyhaven server.

  keyhaven server --dev                 in memory, ready in well under a second, for development and tests
  keyhaven server --config FILE         production: encrypted bbolt storage, sealed root key, TLS

Every setting can also be given as a KEYHAVEN_* environment variable or a flag.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Environ())
			if err != nil {
				return usageError{err}
			}
			log := newLogger(s, cfg.Log)
			tuneRuntime()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if cpuProfile != "" {
				stopProfile, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stopProfile()
			}
			if dev {
				return runDev(ctx, s, cfg, devInfo, log)
			}
			return runProd(ctx, cfg, log)
		},
	}
	config.RegisterFlags(cmd.Flags())
	cmd.Flags().BoolVar(&dev, "dev", false, "run in dev mode: in-memory storage, dev seal, generated TLS, vault \"dev\" and a client application")
	cmd.Flags().StringVar(&devInfo, "dev-info", "", "dev mode: also write the connection details as JSON to this file")
	cmd.Flags().StringVar(&cpuProfile, "cpu-profile", "", "write a Go CPU profile of the whole run to this file (for profiling)")
	_ = cmd.Flags().MarkHidden("cpu-profile")
	return cmd
}

func newLogger(s streams, c config.LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(s.err, opts))
	}
	return slog.New(slog.NewTextHandler(s.err, opts))
}

func runDev(ctx context.Context, s streams, cfg config.Config, infoFile string, log *slog.Logger) error {
	a, info, err := app.NewDev(ctx, app.DevOptions{Listen: cfg.Listen, DNSSuffix: cfg.DNSSuffix, Logger: log,
		TrustedProxies: cfg.TrustedProxies, Throttle: cfg.Throttle})
	if err != nil {
		return err
	}
	if infoFile != "" {
		raw, _ := json.MarshalIndent(info, "", "  ")
		if err := os.WriteFile(infoFile, append(raw, '\n'), 0o600); err != nil {
			return fmt.Errorf("write --dev-info file: %w", err)
		}
	}
	fmt.Fprint(s.out, info.Banner())
	return serve(ctx, a, 5*time.Second, log)
}

func runProd(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("keyhaven is listening", "addr", a.Addr().String(), "dnsSuffix", cfg.DNSSuffix, "caFile", a.CAFile())
	return serve(ctx, a, cfg.ShutdownTimeout, log)
}

// serve runs the server until ctx ends (SIGINT, SIGTERM), then shuts down
// gracefully within timeout.
func serve(ctx context.Context, a *app.App, timeout time.Duration, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- a.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return a.Shutdown(sctx)
}

// serverGCPercent is the garbage collector's target for the server when
// GOGC is not set. A request allocates a few kilobytes that die with it and
// the live heap is small (tens of MiB), so Go's default of 100 collects
// thousands of times a second under load; 400 cuts the collector's share
// of CPU about fourfold for a heap that stays well under a few hundred MiB.
// GOGC and GOMEMLIMIT still override it.
const serverGCPercent = 400

// serverProcsPerCore is how many Go processors (Ps) the server runs per
// core it may use, when GOMAXPROCS is not set and no CPU limit is in force.
// Go's default of one per core assumes the process has its cores to itself;
// a server rarely does (its clients on the same host, sidecars, the
// kernel's network work). With one P per core, a P whose thread the OS
// preempts holds its queued goroutines until the thread runs again, and
// connections that became readable wait until a busy P runs out of work to
// poll the network. With two per core, the OS interleaves the server's
// threads with everyone else's and a spare P waits on the network. Measured
// with `keyhaven bench` on two cores shared with the load generator:
// GetSecret's p99 at 32 connections fell from about 5 ms to about 2 ms and
// its requests/s rose by a quarter, at the same CPU per request
// (docs/PERFORMANCE.md, "Go processors per core").
const serverProcsPerCore = 2

// tuneRuntime applies the server's garbage collector target and processor
// count unless GOGC and GOMAXPROCS set them. Under a CPU quota (a
// container's limit) Go's default already follows the quota, below the
// cores the process may run on, and is kept: more runnable threads than the
// quota allows would only be throttled. (An affinity mask is not a quota:
// Go counts only the cores it allows, and those are shared like any
// others.) Setting the count stops Go from following later changes of the
// quota, so it is set only when none is in force.
func tuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		if procs := runtime.GOMAXPROCS(0); procs >= runtime.NumCPU() {
			runtime.GOMAXPROCS(serverProcsPerCore * procs)
		}
	}
}

// startCPUProfile profiles the process until the returned function runs.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
