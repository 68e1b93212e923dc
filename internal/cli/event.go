package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// newEventCmd is `keyhaven event`: webhook subscriptions to vault events,
// shaped like `az eventgrid event-subscription`.
func newEventCmd(s streams) *cobra.Command {
	serverURL := new(string)
	cmd := newMgmtGroup("event", "Manage webhook subscriptions to vault events (like az eventgrid event-subscription)",
		"Subscribe webhooks to a vault's events (Microsoft.KeyVault.SecretNewVersionCreated, ...NearExpiry,\n"+
			"...Expired and their Key and Certificate twins, VaultAccessPolicyChanged, and Keyhaven.SecurityAlert),\n"+
			"delivered in Event Grid's\n"+
			"schema or as CloudEvents 1.0 with Event Grid's retries, and read the events a subscription gave up on.\n"+
			"Creating a subscription runs the endpoint's validation handshake first (the Event Grid validation\n"+
			"event, or the CloudEvents OPTIONS request); an endpoint that fails it is refused.\n\n"+mgmtLong, serverURL)
	sub := &cobra.Command{Use: "subscription", Short: "Manage event subscriptions (like az eventgrid event-subscription)", RunE: groupRunE}
	sub.AddCommand(newEventSubscriptionCreateCmd(s, serverURL), newEventSubscriptionListCmd(s, serverURL),
		newEventSubscriptionShowCmd(s, serverURL), newEventSubscriptionDeleteCmd(s, serverURL))
	dl := &cobra.Command{Use: "dead-letter", Short: "Read the events a subscription gave up on", RunE: groupRunE}
	dl.AddCommand(newEventDeadLetterListCmd(s, serverURL))
	cmd.AddCommand(sub, dl)
	return cmd
}

// eventSchemas maps --event-delivery-schema values, case-insensitively as
// az takes them.
var eventSchemas = map[string]string{"eventgridschema": client.EventGridSchema, "cloudeventschemav1_0": client.CloudEventSchemaV1_0}

// subscriptionNameFlag binds the required --name of a subscription.
func subscriptionNameFlag(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "event subscription name (3-64 letters, digits and hyphens)")
}

func newEventSubscriptionCreateCmd(s streams, serverURL *string) *cobra.Command {
	var (
		name, vault, endpoint, schema, secretFile string
		types                                     []string
		attempts, ttl                             int
		deadLetter                                bool
		p                                         client.EventSubscriptionParams
	)
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "create", short: "Create or replace a subscription once its endpoint passed the validation handshake",
		flags: func(cmd *cobra.Command) {
			subscriptionNameFlag(cmd, &name)
			cmd.Flags().StringVar(&vault, "vault-name", "", "vault whose events the subscription receives")
			cmd.Flags().StringVar(&endpoint, "endpoint", "", "webhook URL: https, or http to a loopback address")
			cmd.Flags().StringSliceVar(&types, "included-event-types", nil, "event types to deliver (comma-separated or repeated); default: all")
			cmd.Flags().StringVar(&schema, "event-delivery-schema", "eventgridschema", "eventgridschema or cloudeventschemav1_0")
			cmd.Flags().StringVar(&secretFile, "hmac-secret-file", "", "file (- for standard input) whose content (trimmed) keys the X-Keyhaven-Signature of every POST")
			cmd.Flags().IntVar(&attempts, "max-delivery-attempts", 30, "attempts per event, 1-30")
			cmd.Flags().IntVar(&ttl, "event-ttl", 1440, "minutes an event is retried, 1-1440")
			cmd.Flags().BoolVar(&deadLetter, "deadletter", false, "keep events given up on (keyhaven event dead-letter list) instead of dropping them")
		},
		prepare: func(cmd *cobra.Command) error {
			for _, f := range []struct{ flag, v string }{{"--name", name}, {"--vault-name", vault}, {"--endpoint", endpoint}} {
				if err := requireFlag(f.flag, f.v); err != nil {
					return err
				}
			}
			sch, ok := eventSchemas[strings.ToLower(schema)]
			if !ok {
				return usageError{fmt.Errorf("--event-delivery-schema must be eventgridschema or cloudeventschemav1_0")}
			}
			p = client.EventSubscriptionParams{Vault: vault, EndpointURL: endpoint, IncludedEventTypes: types, EventDeliverySchema: sch,
				RetryPolicy: client.EventRetryPolicy{MaxDeliveryAttempts: attempts, EventTimeToLiveInMinutes: ttl}, DeadLetter: deadLetter}
			if secretFile != "" {
				secret, err := readHMACSecret(cmd.InOrStdin(), secretFile)
				if err != nil {
					return err
				}
				p.HMACSecret = &secret
			}
			return nil
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			return c.PutEventSubscription(ctx, name, p)
		},
	})
}

// readHMACSecret reads an HMAC secret from a file or, for "-", standard
// input; the secret itself never appears in a message.
func readHMACSecret(stdin io.Reader, path string) (string, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 4096))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("--hmac-secret-file: cannot read %s", path)
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return "", usageError{errors.New("--hmac-secret-file is empty")}
	}
	return secret, nil
}

func newEventSubscriptionListCmd(s streams, serverURL *string) *cobra.Command {
	var vault string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List event subscriptions",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&vault, "vault-name", "", "only this vault's subscriptions")
		},
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			return c.ListEventSubscriptions(ctx, vault)
		},
	})
}

func newEventSubscriptionShowCmd(s streams, serverURL *string) *cobra.Command {
	var name string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "show", short: "Show an event subscription (never its HMAC secret or endpoint query)",
		flags:   func(cmd *cobra.Command) { subscriptionNameFlag(cmd, &name) },
		prepare: func(*cobra.Command) error { return requireFlag("--name", name) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			return c.GetEventSubscription(ctx, name)
		},
	})
}

func newEventSubscriptionDeleteCmd(s streams, serverURL *string) *cobra.Command {
	var name string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "delete", short: "Delete an event subscription and its dead letters",
		flags:   func(cmd *cobra.Command) { subscriptionNameFlag(cmd, &name) },
		prepare: func(*cobra.Command) error { return requireFlag("--name", name) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			return nil, c.DeleteEventSubscription(ctx, name)
		},
	})
}

func newEventDeadLetterListCmd(s streams, serverURL *string) *cobra.Command {
	var name string
	return newMgmtCmd(s, serverURL, mgmtOp{
		use: "list", short: "List the events a subscription dead-lettered, oldest first",
		flags: func(cmd *cobra.Command) {
			cmd.Flags().StringVarP(&name, "subscription", "n", "", "event subscription name")
		},
		prepare: func(*cobra.Command) error { return requireFlag("--subscription", name) },
		run: func(ctx context.Context, c *client.IdentityClient) (any, error) {
			return c.ListDeadLetteredEvents(ctx, name)
		},
	})
}
