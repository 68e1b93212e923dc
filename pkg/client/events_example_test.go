package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// Subscribing a webhook to a vault's secret events, signed with an HMAC
// key the receiver shares, with an Owner's credentials from the AZURE_*
// variables. The call returns once the endpoint answered the Event Grid
// validation event.
func ExampleIdentityClient_PutEventSubscription() {
	cred, err := client.CredentialFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.NewIdentityClient("https://localhost:8443", "vault.localhost", cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	key := "shared-with-the-receiver"
	sub, err := c.PutEventSubscription(context.Background(), "secrets-hook", client.EventSubscriptionParams{
		Vault:       "payments",
		EndpointURL: "https://hooks.example.com/keyvault",
		IncludedEventTypes: []string{"Microsoft.KeyVault.SecretNewVersionCreated", "Microsoft.KeyVault.SecretNearExpiry",
			"Microsoft.KeyVault.SecretExpired"},
		HMACSecret: &key,
		DeadLetter: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sub.ID)
}
