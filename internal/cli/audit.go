package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/pkg/client"
)

// newAuditCmd is `keyhaven audit`: verify and search audit log files.
func newAuditCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify and search keyhaven audit logs", RunE: groupRunE}
	cmd.AddCommand(newAuditVerifyCmd(s), newAuditQueryCmd(s))
	return cmd
}

func newAuditVerifyCmd(s streams) *cobra.Command {
	var keyFile string
	var partial bool
	cmd := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Check that audit log files (oldest first) are complete, in order and unchanged",
		Long: "verify recomputes the hash chain of the files (give rotated files oldest first, the current file last)\n" +
			"and checks every signed checkpoint. With --key (the server's audit public key, audit/signing-key.pem.pub)\n" +
			"the signatures prove the log was written by that server; without it only that it is self-consistent.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			v, err := newVerifier(keyFile)
			if err != nil {
				return err
			}
			v.Partial = partial
			for _, f := range files {
				if err := readFile(f, func(r io.Reader) error { return v.Read(f, r) }); err != nil {
					return err
				}
			}
			return reportVerify(s.out, v.Report(), keyFile != "")
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "PEM public key of the server's audit signing key")
	cmd.Flags().BoolVar(&partial, "partial", false, "accept a first file that continues an earlier, rotated one (check it alone)")
	return cmd
}

func newVerifier(keyFile string) (*audit.Verifier, error) {
	if keyFile == "" {
		return audit.NewVerifier(nil), nil
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, usageError{err}
	}
	pub, err := audit.ParsePublicKey(data)
	if err != nil {
		return nil, usageError{fmt.Errorf("--key %s: %w", keyFile, err)}
	}
	return audit.NewVerifier(pub), nil
}

func readFile(path string, read func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return usageError{err}
	}
	defer f.Close()
	return read(f)
}

var errNotVerified = errors.New("the audit log does not verify")

func reportVerify(w io.Writer, r audit.Report, pinned bool) error {
	fmt.Fprintf(w, "lines %d (records %d, signed checkpoints %d), seq %d..%d\n", r.Lines, r.Records, r.Checkpoints, r.FirstSeq, r.LastSeq)
	if r.ContinuesChain {
		fmt.Fprintln(w, "the first file continues an earlier one (rotated): lines before it are not checked")
	}
	if !pinned {
		fmt.Fprintln(w, "signatures checked against the key the checkpoints name; pass --key to pin the server's key")
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "PROBLEM:", p)
	}
	if r.Unsigned > 0 {
		fmt.Fprintf(w, "PROBLEM: the last %d lines are not covered by a signed checkpoint (lines were cut, or the server stopped without closing the log)\n", r.Unsigned)
	}
	if !r.OK() {
		return errNotVerified
	}
	fmt.Fprintln(w, "OK: the chain is intact and every line is signed")
	return nil
}

// auditFilter selects records for audit query.
type auditFilter struct {
	since, until                 string
	operation, principal, object string
	result, output               string
	sinceTime, untilTime         time.Time
}

func newAuditQueryCmd(s streams) *cobra.Command {
	var f auditFilter
	var serverURL string
	var top int
	cmd := &cobra.Command{
		Use:   "query [FILE...]",
		Short: "Print the audit records that match filters (JSON lines, or a table)",
		Long: `Print the audit records that match filters, from audit files, or — without files — from the
server's own log over HTTPS (GET /audit/records; needs a management role, and the read is itself
audited as QueryAuditLog). The server is --url, else $` + envServerURL + `, else $AZURE_AUTHORITY_HOST.`,
		RunE: func(cmd *cobra.Command, files []string) error {
			if err := f.parse(); err != nil {
				return err
			}
			if len(files) > 0 {
				return f.run(s.out, files)
			}
			if top < 1 || top > 10_000 {
				return usageError{fmt.Errorf("--top must be between 1 and 10000")}
			}
			c, err := identityClient(serverURL)
			if err != nil {
				return err
			}
			fl := f.filter()
			lines, truncated, err := c.QueryAuditLog(cmd.Context(), client.AuditQuery{Since: fl.Since, Until: fl.Until,
				Operation: fl.Operation, Principal: fl.Principal, Object: fl.Object, Result: fl.Result, Top: top})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			if f.output == "table" {
				fmt.Fprintln(tw, "TIME\tOPERATION\tSTATUS\tCALLER\tADDRESS\tOBJECT")
			}
			for _, line := range lines {
				var rec audit.Record
				if json.Unmarshal(line, &rec) == nil {
					f.print(s.out, tw, line, &rec)
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if truncated {
				fmt.Fprintf(s.err, "more records matched than --top %d; narrow the filter or raise --top\n", top)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "records at or after this time (RFC 3339) or this long ago (24h)")
	fl.StringVar(&f.until, "until", "", "records before this time (RFC 3339) or this long ago")
	fl.StringVar(&f.operation, "operation", "", "operation name, such as GetSecret (case-insensitive)")
	fl.StringVar(&f.principal, "principal", "", "caller object id or application id")
	fl.StringVar(&f.object, "object", "", "text the object URL contains, such as /secrets/db-password")
	fl.StringVar(&f.result, "result", "", "Success, Failure or an HTTP status code")
	fl.StringVarP(&f.output, "output", "o", "json", "json (the records as written) or table")
	fl.StringVar(&serverURL, "url", "", "without files: the server https://host:port (default $"+envServerURL+", else $AZURE_AUTHORITY_HOST)")
	fl.IntVar(&top, "top", 1000, "without files: at most this many records (up to 10000)")
	return cmd
}

func (f *auditFilter) parse() (err error) {
	if f.sinceTime, err = parseWhen(f.since); err != nil {
		return usageError{fmt.Errorf("--since: %w", err)}
	}
	if f.untilTime, err = parseWhen(f.until); err != nil {
		return usageError{fmt.Errorf("--until: %w", err)}
	}
	if f.output != "json" && f.output != "table" {
		return usageError{fmt.Errorf("--output must be json or table, got %q", f.output)}
	}
	return nil
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}

func (f *auditFilter) run(w io.Writer, files []string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if f.output == "table" {
		fmt.Fprintln(tw, "TIME\tOPERATION\tSTATUS\tCALLER\tADDRESS\tOBJECT")
	}
	for _, path := range files {
		if _, err := os.Stat(path); err != nil {
			return usageError{err}
		}
	}
	err := audit.Query(files, f.filter(), func(line []byte, rec *audit.Record) bool {
		f.print(w, tw, line, rec)
		return true
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func (f *auditFilter) filter() audit.Filter {
	return audit.Filter{Since: f.sinceTime, Until: f.untilTime, Operation: f.operation, Principal: f.principal, Object: f.object, Result: f.result}
}

func (f *auditFilter) print(w, tw io.Writer, line []byte, r *audit.Record) {
	if f.output == "json" {
		fmt.Fprintf(w, "%s\n", line)
		return
	}
	caller := "-"
	if r.Identity != nil {
		caller = r.Identity.Claim.AppID
	}
	fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.Time.Format(time.RFC3339), r.OperationName, r.Properties.HTTPStatusCode,
		caller, r.CallerIPAddress, r.Properties.ID)
}
