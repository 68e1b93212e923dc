// Package cli implements keyhaven's command line: the server and the client
// commands, shaped like the Azure CLI's `az keyvault` commands.
//
// Exit codes: 0 success, 1 the operation failed (the server answered with an
// error, or a local I/O problem), 2 the command line was wrong.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// exitCodeError ends the program with its own exit code (keyhaven doctor
// --fail-on uses 3).
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }

// usageError marks a problem with the command line itself (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// streams are the standard streams a command writes to; tests replace them.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// Main runs the keyhaven command line with args (without the program name)
// and returns the process exit code.
func Main(args []string) int {
	return run(args, streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
}

func run(args []string, s streams) int {
	root := newRootCmd(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(s.err, "error:", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsageError(err) {
		return exitUsage
	}
	var ce exitCodeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitError
}

func newRootCmd(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "keyhaven",
		Short:         "A self-hosted key vault that speaks the Azure Key Vault REST API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServerCmd(s), newSecretCmd(s), newKeyCmd(s), newCertCmd(s), newOperatorCmd(s), newAppCmd(s), newRoleCmd(s), newAuditCmd(s), newAgentCmd(s), newBenchCmd(s), newBenchBaselineCmd(s), newUserCmd(s), newGroupCmd(s), newIdentityCmd(s), newVaultCmd(s))
	root.AddCommand(newLoginCmd(s), newLogoutCmd(s), newDoctorCmd(s), newEventCmd(s))
	return root
}

// isCobraUsageError recognises cobra's own argument errors (unknown command,
// wrong number of arguments), which it does not type.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
