package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/keyhaven/keyhaven/pkg/client"
)

// Creating a self-signed certificate and waiting for its operation.
func ExampleCertificatesClient_CreateCertificate() {
	cred, err := client.CredentialFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.NewCertificatesClient("https://dev.vault.localhost:8443", cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	months := int32(12)
	op, err := c.CreateCertificate(ctx, "web", client.CertificateCreateParameters{Policy: &client.CertificatePolicy{
		Issuer:    &client.IssuerParameters{Name: "Self"},
		X509Props: &client.X509CertificateProperties{Subject: "CN=web.example", ValidityMonths: &months},
	}})
	for err == nil && op.Status == "inProgress" {
		time.Sleep(time.Second)
		op, err = c.GetCertificateOperation(ctx, "web")
	}
	if err != nil {
		log.Fatal(err)
	}
	cert, err := c.GetCertificate(ctx, "web", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(op.Status, len(cert.Cer), "bytes of DER")
}
