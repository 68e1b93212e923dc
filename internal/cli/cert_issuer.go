package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// isNotFound reports a 404 answer of the service.
func isNotFound(err error) bool {
	var re *client.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// issuerFlags are the flags of the issuer commands.
type issuerFlags struct {
	name, provider, accountID, password, orgID string
	enabled, disabled                          boolValue
}

// bind adds --issuer-name and, for create and update, the issuer's members.
func (f *issuerFlags) bind(cmd *cobra.Command, use string) {
	fs := cmd.Flags()
	fs.StringVar(&f.name, "issuer-name", "", "issuer name")
	if use != "create" && use != "update" {
		return
	}
	fs.StringVar(&f.provider, "provider-name", "", "the issuer's provider, e.g. PrivateCA (a CA certificate of the vault, named by --account-id)")
	fs.StringVar(&f.accountID, "account-id", "", "account at the provider")
	fs.StringVar(&f.password, "password", "", "password of the account; stored, never shown")
	fs.StringVar(&f.orgID, "organization-id", "", "organization id at the provider")
	if use == "create" {
		fs.Var(&f.disabled, "disabled", "create the issuer disabled")
	} else {
		fs.Var(&f.enabled, "enabled", "whether the issuer is enabled")
	}
}

// body checks the flags of use and builds the request body (create and
// update) or nothing.
func (f *issuerFlags) body(use string) (client.IssuerBundle, error) {
	var b client.IssuerBundle
	if err := requireFlag("--issuer-name", f.name); err != nil {
		return b, err
	}
	if !objectNamePattern.MatchString(f.name) {
		return b, usageError{fmt.Errorf("invalid --issuer-name %q: use 1-127 letters, digits and dashes", f.name)}
	}
	if use == "create" {
		if err := requireFlag("--provider-name", f.provider); err != nil {
			return b, err
		}
	}
	b.Provider = f.provider
	if f.accountID != "" || f.password != "" {
		b.Credentials = &client.IssuerCredentials{AccountID: f.accountID, Password: f.password}
	}
	if f.orgID != "" {
		b.OrgDetails = &client.OrganizationDetails{ID: f.orgID}
	}
	enabled, err := resolveEnabled(f.enabled, f.disabled)
	if enabled != nil {
		b.Attributes = &client.IssuerAttributes{Enabled: enabled}
	}
	return b, err
}

var issuerShort = map[string]string{
	"create": "Create or replace a certificate issuer",
	"update": "Change the members of an issuer that are given",
	"show":   "Show an issuer (never its password)",
	"delete": "Delete an issuer",
}

// newCertIssuerCmd is `certificate issuer`.
func newCertIssuerCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "issuer", Short: "Manage the vault's certificate issuers", RunE: groupRunE}
	for _, use := range []string{"create", "update", "show", "delete"} {
		cmd.AddCommand(newIssuerCmd(s, use))
	}
	m := &maxResultsFlag{}
	cmd.AddCommand(newCertOpCmd(s, secretOp{
		use: "list", short: "List the vault's issuers", target: vaultOnly, flags: m.bind, prepare: m.check,
		runCerts: func(ctx context.Context, c *client.CertificatesClient, _ secretTarget) (any, error) {
			return collect(c.ListCertificateIssuers(ctx, m.options()), m.n, issuerItemView)
		},
	}))
	return cmd
}

func newIssuerCmd(s streams, use string) *cobra.Command {
	var (
		f    issuerFlags
		body client.IssuerBundle
	)
	return newCertOpCmd(s, secretOp{
		use: use, short: issuerShort[use], target: vaultOnly,
		flags: func(cmd *cobra.Command) { f.bind(cmd, use) },
		prepare: func(*cobra.Command) (err error) {
			body, err = f.body(use)
			return err
		},
		runCerts: func(ctx context.Context, c *client.CertificatesClient, _ secretTarget) (any, error) {
			switch use {
			case "create":
				return issuerResult(c.SetCertificateIssuer(ctx, f.name, body))
			case "update":
				return issuerResult(c.UpdateCertificateIssuer(ctx, f.name, body))
			case "delete":
				return issuerResult(c.DeleteCertificateIssuer(ctx, f.name))
			}
			return issuerResult(c.GetCertificateIssuer(ctx, f.name))
		},
	})
}

// newCertContactCmd is `certificate contact`. As in az, add and delete edit
// the vault's list: get it, change it, set it; deleting the last contact
// deletes the contacts.
func newCertContactCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "contact", Short: "Manage the vault's certificate contacts", RunE: groupRunE}
	var add client.Contact
	cmd.AddCommand(newCertOpCmd(s, secretOp{
		use: "add", short: "Add a contact", target: vaultOnly,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&add.Email, "email", "", "the contact's email address")
			cmd.Flags().StringVar(&add.Name, "name", "", "the contact's name")
			cmd.Flags().StringVar(&add.Phone, "phone", "", "the contact's phone number")
		},
		prepare: func(*cobra.Command) error { return requireFlag("--email", add.Email) },
		runCerts: func(ctx context.Context, c *client.CertificatesClient, _ secretTarget) (any, error) {
			return contactsResult(addContact(ctx, c, add))
		},
	}))
	cmd.AddCommand(newCertOpCmd(s, secretOp{
		use: "list", short: "List the contacts", target: vaultOnly,
		runCerts: func(ctx context.Context, c *client.CertificatesClient, _ secretTarget) (any, error) {
			return contactsResult(c.GetCertificateContacts(ctx))
		},
	}))
	var email string
	cmd.AddCommand(newCertOpCmd(s, secretOp{
		use: "delete", short: "Remove a contact", target: vaultOnly,
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&email, "email", "", "the email address of the contact to remove")
		},
		prepare: func(*cobra.Command) error { return requireFlag("--email", email) },
		runCerts: func(ctx context.Context, c *client.CertificatesClient, _ secretTarget) (any, error) {
			return contactsResult(deleteContact(ctx, c, email))
		},
	}))
	return cmd
}

func sameEmail(email string) func(client.Contact) bool {
	return func(c client.Contact) bool { return strings.EqualFold(c.Email, email) }
}

// addContact appends a contact to the vault's list; an address already in
// it is an error, as in az.
func addContact(ctx context.Context, c *client.CertificatesClient, add client.Contact) (client.Contacts, error) {
	cur, err := c.GetCertificateContacts(ctx)
	if err != nil && !isNotFound(err) {
		return cur, err
	}
	if slices.ContainsFunc(cur.Contacts, sameEmail(add.Email)) {
		return cur, fmt.Errorf("contact %q already exists", add.Email)
	}
	return c.SetCertificateContacts(ctx, append(cur.Contacts, add))
}

// deleteContact removes a contact from the vault's list, deleting the
// contacts when it was the last one.
func deleteContact(ctx context.Context, c *client.CertificatesClient, email string) (client.Contacts, error) {
	cur, err := c.GetCertificateContacts(ctx)
	if err != nil {
		return cur, err
	}
	rest := slices.DeleteFunc(slices.Clone(cur.Contacts), sameEmail(email))
	switch {
	case len(rest) == len(cur.Contacts):
		return cur, fmt.Errorf("contact %q not found in the vault", email)
	case len(rest) == 0:
		return c.DeleteCertificateContacts(ctx)
	}
	return c.SetCertificateContacts(ctx, rest)
}
