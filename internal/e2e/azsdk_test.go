// Package e2e drives a real keyhaven server over TLS with the official Azure
// SDK for Go (azsecrets + azidentity) and with raw HTTP for wire details.
package e2e

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

func clientOptions(srv *testenv.Server) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.Info.AuthorityHost},
		Transport: srv.Client,
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func secretCredential(t *testing.T, srv *testenv.Server) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(srv.Info.TenantID, srv.Info.ClientID, srv.Info.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(srv), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func secretsClient(t *testing.T, srv *testenv.Server, cred azcore.TokenCredential) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(srv.Info.VaultURL, cred, &azsecrets.ClientOptions{ClientOptions: clientOptions(srv)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func respErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want a %d %s response error, got %v", status, code, err)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("want %d %s, got %d %s: %v", status, code, re.StatusCode, re.ErrorCode, err)
	}
}

func TestAzureSDKSecretLifecycle(t *testing.T) {
	srv := testenv.StartDev(t)
	c := secretsClient(t, srv, secretCredential(t, srv))
	ctx := context.Background()

	var versions []string
	for i, v := range []string{"one", "two", "three"} {
		resp, err := c.SetSecret(ctx, "Db-Password", azsecrets.SetSecretParameters{Value: to.Ptr(v),
			ContentType: to.Ptr("text/plain"), Tags: map[string]*string{"n": to.Ptr(string(rune('0' + i)))}}, nil)
		if err != nil {
			t.Fatalf("SetSecret: %v", err)
		}
		if *resp.Value != v || resp.ID.Name() != "Db-Password" || len(resp.ID.Version()) != 32 {
			t.Fatalf("SetSecret returned %+v", resp.Secret)
		}
		if *resp.Attributes.RecoveryLevel != "Recoverable+Purgeable" || *resp.Attributes.RecoverableDays != 90 {
			t.Fatalf("recovery attributes: %v %v", *resp.Attributes.RecoveryLevel, *resp.Attributes.RecoverableDays)
		}
		versions = append(versions, resp.ID.Version())
	}

	latest, err := c.GetSecret(ctx, "db-password", "", nil) // names are case-insensitive
	if err != nil || *latest.Value != "three" || latest.ID.Version() != versions[2] || latest.ID.Name() != "Db-Password" {
		t.Fatalf("GetSecret latest: %v %+v", err, latest)
	}
	first, err := c.GetSecret(ctx, "Db-Password", versions[0], nil)
	if err != nil || *first.Value != "one" || *first.ContentType != "text/plain" || *first.Tags["n"] != "0" {
		t.Fatalf("GetSecret by version: %v %+v", err, first)
	}

	var got []string
	pager := c.NewListSecretPropertiesVersionsPager("Db-Password", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Value {
			got = append(got, p.ID.Version())
		}
	}
	sort.Strings(got)
	want := append([]string(nil), versions...)
	sort.Strings(want)
	if len(got) != 3 || got[0] != want[0] || got[2] != want[2] {
		t.Fatalf("versions: got %v want %v", got, want)
	}

	// Disable the first version: a get is refused, the others still work.
	upd, err := c.UpdateSecretProperties(ctx, "Db-Password", versions[0], azsecrets.UpdateSecretPropertiesParameters{
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)},
		Tags:             map[string]*string{"env": to.Ptr("test")}}, nil)
	if err != nil || *upd.Attributes.Enabled || *upd.Tags["env"] != "test" || upd.Value != nil {
		t.Fatalf("UpdateSecretProperties: %v %+v", err, upd)
	}
	_, err = c.GetSecret(ctx, "Db-Password", versions[0], nil)
	respErr(t, err, http.StatusForbidden, "Forbidden")

	// Delete, then the deleted views, then recover.
	del, err := c.DeleteSecret(ctx, "Db-Password", nil)
	if err != nil || del.RecoveryID == nil || del.DeletedDate == nil || del.ScheduledPurgeDate == nil {
		t.Fatalf("DeleteSecret: %v %+v", err, del)
	}
	if d := del.ScheduledPurgeDate.Sub(*del.DeletedDate); d != 90*24*time.Hour {
		t.Fatalf("scheduledPurgeDate - deletedDate = %v", d)
	}
	if del.Value != nil {
		t.Fatal("DeleteSecret returned the value")
	}
	_, err = c.GetSecret(ctx, "Db-Password", "", nil)
	respErr(t, err, http.StatusNotFound, "SecretNotFound")
	_, err = c.SetSecret(ctx, "Db-Password", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	respErr(t, err, http.StatusConflict, "Conflict")
	if _, err := c.GetDeletedSecret(ctx, "Db-Password", nil); err != nil {
		t.Fatalf("GetDeletedSecret: %v", err)
	}
	deletedPager := c.NewListDeletedSecretPropertiesPager(nil)
	n := 0
	for deletedPager.More() {
		page, err := deletedPager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Fatalf("deleted secrets listed: %d", n)
	}
	if _, err := c.RecoverDeletedSecret(ctx, "Db-Password", nil); err != nil {
		t.Fatalf("RecoverDeletedSecret: %v", err)
	}
	again, err := c.GetSecret(ctx, "Db-Password", versions[1], nil)
	if err != nil || *again.Value != "two" {
		t.Fatalf("after recover: %v", err)
	}

	// Backup, delete, purge, restore: every version comes back with its id.
	backup, err := c.BackupSecret(ctx, "Db-Password", nil)
	if err != nil || len(backup.Value) == 0 {
		t.Fatalf("BackupSecret: %v", err)
	}
	if _, err := c.DeleteSecret(ctx, "Db-Password", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedSecret(ctx, "Db-Password", nil); err != nil {
		t.Fatalf("PurgeDeletedSecret: %v", err)
	}
	_, err = c.GetDeletedSecret(ctx, "Db-Password", nil)
	respErr(t, err, http.StatusNotFound, "SecretNotFound")
	restored, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: backup.Value}, nil)
	if err != nil || restored.ID.Version() != versions[2] {
		t.Fatalf("RestoreSecret: %v %+v", err, restored)
	}
	old, err := c.GetSecret(ctx, "Db-Password", versions[1], nil)
	if err != nil || *old.Value != "two" {
		t.Fatalf("restored version: %v", err)
	}
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: backup.Value}, nil)
	respErr(t, err, http.StatusConflict, "Conflict")
	tampered := append([]byte(nil), backup.Value...)
	tampered[len(tampered)/2] ^= 1
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: tampered}, nil)
	respErr(t, err, http.StatusBadRequest, "BadParameter")
}

func TestAzureSDKListPaging(t *testing.T) {
	srv := testenv.StartDev(t)
	c := secretsClient(t, srv, secretCredential(t, srv))
	ctx := context.Background()
	const count = 60
	for i := 0; i < count; i++ {
		name := "s-" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		if _, err := c.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	pager := c.NewListSecretPropertiesPager(nil)
	seen, pages := map[string]bool{}, 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range page.Value {
			if p.ID.Version() != "" {
				t.Fatalf("list item id has a version: %s", *p.ID)
			}
			seen[p.ID.Name()] = true
		}
	}
	if len(seen) != count || pages != 3 {
		t.Fatalf("listed %d secrets in %d pages", len(seen), pages)
	}
}

func TestDefaultAzureCredentialADFS(t *testing.T) {
	srv := testenv.StartDev(t)
	t.Setenv("AZURE_TENANT_ID", "adfs")
	t.Setenv("AZURE_CLIENT_ID", srv.Info.ClientID)
	t.Setenv("AZURE_CLIENT_SECRET", srv.Info.ClientSecret)
	t.Setenv("AZURE_AUTHORITY_HOST", srv.Info.AuthorityHost)
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: srv.Client}})
	if err != nil {
		t.Fatal(err)
	}
	c := secretsClient(t, srv, cred)
	ctx := context.Background()
	if _, err := c.SetSecret(ctx, "adfs", azsecrets.SetSecretParameters{Value: to.Ptr("works")}, nil); err != nil {
		t.Fatalf("SetSecret with DefaultAzureCredential (adfs): %v", err)
	}
	got, err := c.GetSecret(ctx, "adfs", "", nil)
	if err != nil || *got.Value != "works" {
		t.Fatalf("GetSecret: %v", err)
	}
}
