package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// Reading a secret with credentials from AZURE_CLIENT_ID,
// AZURE_CLIENT_SECRET, AZURE_TENANT_ID and AZURE_AUTHORITY_HOST.
func ExampleSecretsClient_GetSecret() {
	cred, err := client.CredentialFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.NewSecretsClient("https://dev.vault.localhost:8443", cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	secret, err := c.GetSecret(context.Background(), "db-password", "") // "" = latest version
	var re *client.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
		fmt.Println("no such secret")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(secret.Value), "bytes")
}

func ExampleSecretsClient_SetSecret() {
	cred := &client.ClientSecretCredential{
		AuthorityHost: "https://localhost:8443", TenantID: "my-tenant",
		ClientID: "my-app", ClientSecret: "app-secret",
	}
	c, err := client.NewSecretsClient("https://dev.vault.localhost:8443", cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	enabled := true
	b, err := c.SetSecret(context.Background(), "db-password", client.SecretSetParameters{
		Value:       "correct horse battery staple",
		ContentType: "text/plain",
		Tags:        map[string]string{"env": "dev"},
		Attributes:  &client.SecretAttributes{Enabled: &enabled},
	})
	if err != nil {
		log.Fatal(err)
	}
	_, name, version, _ := client.ParseSecretID(b.ID)
	fmt.Println("stored", name, "version", version)
}

func ExampleSecretsClient_ListSecrets() {
	cred, err := client.CredentialFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.NewSecretsClient("https://dev.vault.localhost:8443", cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	for item, err := range c.ListSecrets(context.Background(), &client.ListOptions{MaxResults: 25}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(item.ID)
	}
}

func ExampleParseChallenge() {
	ch, err := client.ParseChallenge(`Bearer authorization="https://localhost:8443/my-tenant", resource="https://vault.localhost:8443"`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ch.TenantID, ch.TokenScope(), ch.VerifyResource("dev.vault.localhost:8443") == nil)
}
