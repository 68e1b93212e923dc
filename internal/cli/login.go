package cli

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// envLoginFile overrides where `keyhaven login` keeps the sign-in.
const envLoginFile = "KEYHAVEN_LOGIN_FILE"

// loginFile is $KEYHAVEN_LOGIN_FILE, else {user config dir}/keyhaven/login.json.
func loginFile(getenv func(string) string) (string, error) {
	if f := getenv(envLoginFile); f != "" {
		return f, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no place for the sign-in file (set %s): %w", envLoginFile, err)
	}
	return filepath.Join(dir, "keyhaven", "login.json"), nil
}

// cliCredential is the credential of the data-plane and management
// commands: an application's client secret from the AZURE_* variables when
// one is set, else the person signed in with `keyhaven login`.
func cliCredential() (client.TokenCredential, error) {
	if os.Getenv(client.EnvClientID) != "" || os.Getenv(client.EnvClientSecret) != "" {
		return client.CredentialFromEnv()
	}
	if path, err := loginFile(os.Getenv); err == nil {
		cred, _, err := client.LoadLogin(path, nil)
		if err == nil {
			return cred, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	_, err := client.CredentialFromEnv()
	return nil, fmt.Errorf("%w; or sign in first with `keyhaven login`", err)
}

func newLoginCmd(s streams) *cobra.Command {
	var authority, tenant string
	var deviceCode, noBrowser bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in as a person (password and one-time code) for the other commands",
		Long: `Sign in to a keyhaven server as a person, with a password and, when enrolled, a one-time
code from an authenticator app. The default is the browser flow (authorization code with PKCE:
a page opens, or its address is printed, and the sign-in returns to a port on 127.0.0.1);
--use-device-code prints a code to enter on the server's sign-in page from any device instead.

The sign-in (a refresh token, rotated on every use) is kept in $` + envLoginFile + `, else in the
user's configuration directory (keyhaven/login.json, mode 0600), and is used by the other commands
whenever AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not set. keyhaven logout revokes it.

The authority is --authority-host, else $AZURE_AUTHORITY_HOST; the tenant --tenant, else
$AZURE_TENANT_ID ("adfs" works too).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a := client.Authority{Host: cmp.Or(authority, os.Getenv(client.EnvAuthorityHost)), TenantID: cmp.Or(tenant, os.Getenv(client.EnvTenantID))}
			if a.Host == "" || a.TenantID == "" {
				return usageError{fmt.Errorf("the authority and tenant are needed: --authority-host and --tenant, or %s and %s", client.EnvAuthorityHost, client.EnvTenantID)}
			}
			path, err := loginFile(os.Getenv)
			if err != nil {
				return err
			}
			scope := "https://" + hostOf(cmp.Or(dnsSuffix(lookupEnv), defaultDNSSuffix)) + "/.default"
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var cred *client.UserCredential
			if deviceCode {
				cred, err = client.LoginWithDeviceCode(ctx, a, scope, func(dc client.DeviceCode) {
					fmt.Fprintln(s.err, dc.Message)
				})
			} else {
				cred, err = client.LoginWithBrowser(ctx, a, scope, func(u string) error {
					fmt.Fprintf(s.err, "To sign in, open this page in a browser:\n%s\n", u)
					if !noBrowser {
						openBrowser(u)
					}
					return nil
				})
			}
			if err != nil {
				return err
			}
			tok, err := cred.GetToken(ctx, client.TokenRequest{Scope: scope})
			if err != nil {
				return err
			}
			user := claimOf(tok.Token, "upn")
			if err := client.WithLoginLock(ctx, path, func() error { return client.SaveLogin(path, cred, user) }); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "Signed in as %s (authentication: %s).\n", user, strings.Join(claimList(tok.Token, "amr"), ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&authority, "authority-host", "", "the server's https origin (default $AZURE_AUTHORITY_HOST)")
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant id, or adfs (default $AZURE_TENANT_ID)")
	cmd.Flags().BoolVar(&deviceCode, "use-device-code", false, "sign in with a code on another device instead of a browser on this one")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "only print the sign-in page's address; do not start a browser")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the sign-in")
	return cmd
}

func newLogoutCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Sign out: revoke the sign-in kept by keyhaven login and forget it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := loginFile(os.Getenv)
			if err != nil {
				return err
			}
			cred, user, err := client.LoadLogin(path, nil)
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintln(s.out, "Not signed in.")
				return nil
			}
			if err != nil {
				return err
			}
			var revokeErr error
			err = client.WithLoginLock(cmd.Context(), path, func() error {
				if cur, _, err := client.LoadLogin(path, nil); err == nil {
					cred = cur // the token as the last refresh left it
				}
				revokeErr = cred.SignOut(cmd.Context())
				return os.Remove(path)
			})
			if err != nil {
				return err
			}
			if revokeErr != nil {
				return fmt.Errorf("the local sign-in is removed, but the server could not revoke it: %w", revokeErr)
			}
			fmt.Fprintf(s.out, "Signed out %s.\n", user)
			return nil
		},
	}
}

// hostOf drops a port from host[:port].
func hostOf(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i > 0 && !strings.Contains(hostport[i:], "]") {
		return hostport[:i]
	}
	return hostport
}

// openBrowser starts the desktop's browser on u when there is a desktop.
func openBrowser(u string) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return
	}
	if path, err := exec.LookPath("xdg-open"); err == nil {
		_ = exec.Command(path, u).Start()
	}
}

// claims decodes a JWT's payload without checking it: for display only.
func claims(token string) map[string]any {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func claimOf(token, name string) string {
	s, _ := claims(token)[name].(string)
	return s
}

func claimList(token, name string) []string {
	var out []string
	list, _ := claims(token)[name].([]any)
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
