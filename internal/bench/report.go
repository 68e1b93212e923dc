package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\n%d connections (%s driver), %.0fs per operation, %d secrets, %d-byte GetSecret body, server RSS %.0f MiB (%.0f MiB heap and stacks)\n\n",
		r.Connections, r.Driver, r.DurationS, r.Secrets, r.BodyBytes, r.ServerRSSMB, r.ServerAnonMB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\treq/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\terrors\tserver µs/req\tclient µs/req\tbaseline req/s\tvs baseline\t")
	fmt.Fprintf(tw, "Baseline (all slices)\t%.0f\t\t\t%.2f\t\t%d\t%.1f\t%.1f\t\t\t\n", r.Baseline.RPS, r.Baseline.P99ms, r.Baseline.Errors, r.Baseline.CPUusPerOp, r.Baseline.ClientCPUusPerOp)
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%.1f\t%.1f\t%.0f\t%.0f%%\t\n", x.Operation, x.RPS,
			x.P50ms, x.P90ms, x.P99ms, x.P999ms, x.Errors, x.CPUusPerOp, x.ClientCPUusPerOp, x.BaselineRPS, 100*x.VsBaseline)
	}
	_ = tw.Flush()
	if st := r.MachineStalls; st != nil {
		fmt.Fprintf(w, "\nmachine stalls (before the operations): a thread spinning on each core for %s did not run %.2f%% of the time, in %d gaps over %s, the longest %.1f ms\n",
			time.Duration(st.Seconds*float64(time.Second)).Round(time.Millisecond), st.LostPct, st.Gaps, stallThreshold, st.LongestMs)
	}
	if ref := r.Reference; ref != nil {
		fmt.Fprintf(w, "\nbeside a reference server with %d secrets (RSS %.0f MiB, %.0f MiB heap and stacks), measured in slices alternating with the server's:\n", ref.Secrets, ref.ServerRSSMB, ref.ServerAnonMB)
		for _, x := range r.Results {
			if x.ReferenceRPS > 0 || x.ReferenceErrors > 0 {
				fmt.Fprintf(w, "  %s: %.0f/s with %d secrets vs %.0f/s with %d = %.0f%%; p99 %.2f vs %.2f ms; server %.1f vs %.1f µs/req; %d errors there\n",
					x.Operation, x.RPS, r.Secrets, x.ReferenceRPS, ref.Secrets, 100*x.VsReference, x.P99ms, x.ReferenceP99ms, x.CPUusPerOp, x.ReferenceCPUusPerOp, x.ReferenceErrors)
			}
		}
	}
	if r.LocalRSASignPerSec > 0 {
		fmt.Fprintf(w, "\ncrypto/rsa RS256 in-process on every core (interleaved with SignRS256): %.0f signs/s", r.LocalRSASignPerSec)
		for _, x := range r.Results {
			if x.Operation == "SignRS256" {
				fmt.Fprintf(w, "; SignRS256 through the API reaches %.0f%% of it", 100*x.VsLocalRSA)
			}
		}
		fmt.Fprintln(w)
	}
}
