// Package events records Key Vault events (Event Grid's
// Microsoft.KeyVault.* types) in a durable outbox inside the barrier, in the
// same transaction as the change that caused them, so none is lost across
// restarts. Delivery to subscribers is a separate step that reads the
// outbox in order.
package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
)

// Event types (Event Grid's names).
const (
	KeyNewVersionCreated    = "Microsoft.KeyVault.KeyNewVersionCreated"
	KeyNearExpiry           = "Microsoft.KeyVault.KeyNearExpiry"
	KeyExpired              = "Microsoft.KeyVault.KeyExpired"
	SecretNewVersionCreated = "Microsoft.KeyVault.SecretNewVersionCreated"
	SecretNearExpiry        = "Microsoft.KeyVault.SecretNearExpiry"
	SecretExpired           = "Microsoft.KeyVault.SecretExpired"

	CertificateNewVersionCreated = "Microsoft.KeyVault.CertificateNewVersionCreated"
	CertificateNearExpiry        = "Microsoft.KeyVault.CertificateNearExpiry"
	CertificateExpired           = "Microsoft.KeyVault.CertificateExpired"

	// VaultAccessPolicyChanged: a vault's access policies or its
	// permission model (RBAC on or off) changed.
	VaultAccessPolicyChanged = "Microsoft.KeyVault.VaultAccessPolicyChanged"

	// SecurityAlert: keyhaven's own type, a security rule matched the
	// audit stream (see package alerts). An alert with no vault (VaultID
	// "") concerns the server and goes to every subscription whose filter
	// names this type.
	SecurityAlert = "Keyhaven.SecurityAlert"
)

// Event is one outbox entry. Data follows Event Grid's KeyVault event data
// (PascalCase, NBF/EXP as Unix seconds); the object's URL is composed at
// delivery, when the vault's public address is known.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"eventType"`
	Time      time.Time `json:"eventTime"`
	VaultID   string    `json:"vaultId"`
	VaultName string    `json:"vaultName"`
	Data      Data      `json:"data"`
}

// Data is the event payload.
type Data struct {
	ObjectType string `json:"ObjectType"` // Key, Secret, Certificate, Vault
	ObjectName string `json:"ObjectName"`
	Version    string `json:"Version"`
	NBF        *int64 `json:"NBF,omitempty"`
	EXP        *int64 `json:"EXP,omitempty"`
	// Alert is the payload of a SecurityAlert event (nil for the others).
	Alert *Alert `json:"Alert,omitempty"`
}

// Alert is what a SecurityAlert event tells: which rule matched, who did
// what from where. It never holds a secret value, token or password.
type Alert struct {
	Rule          string `json:"Rule"`
	Severity      string `json:"Severity"`  // High, Medium or Low
	Principal     string `json:"Principal"` // object id; "" for an unauthenticated caller
	AppID         string `json:"AppId"`
	Address       string `json:"Address"` // the caller's IP address
	Operation     string `json:"Operation"`
	Count         int    `json:"Count"`
	WindowSeconds int64  `json:"WindowSeconds"`
	Description   string `json:"Description"`
}

// Prefix is where outbox entries live, ordered by time.
const Prefix = "sys/outbox/"

// Record writes e to the outbox in tx.
func Record(tx *barrier.Tx, e Event) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return tx.Put(fmt.Sprintf("%s%020d-%s", Prefix, e.Time.UnixNano(), e.ID), raw)
}
