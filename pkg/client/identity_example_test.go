package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// Registering an application and letting it read the secrets of one vault,
// with an Owner's credentials from the AZURE_* variables.
func ExampleIdentityClient_CreateApplication() {
	cred, err := client.CredentialFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.NewIdentityClient("https://localhost:8443", "vault.localhost", cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	app, err := c.CreateApplication(ctx, "billing")
	if err != nil {
		log.Fatal(err)
	}
	// app.Secret is shown only now: hand it to the workload's secret store.
	if _, err := c.CreateRoleAssignment(ctx, app.ObjectID, "Key Vault Secrets User", "/vaults/payments"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("AZURE_CLIENT_ID=" + app.AppID + " AZURE_TENANT_ID=" + app.TenantID)
}
