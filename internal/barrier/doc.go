// Package barrier is keyhaven's encryption-at-rest layer. It sits between the
// core and a storage.Store: every value passes through the barrier and is
// stored only as ciphertext. Keys (storage paths) are not encrypted; they are
// metadata and must not contain secrets.
//
// # Key hierarchy (envelope encryption)
//
//	root key (32 bytes, memory only, released by a Seal)
//	  ├─ root KEK = HKDF-SHA256(root, info "keyhaven/barrier/root-kek/v1")
//	  │    protects every key outside "v/" (e.g. "sys/...") and the vault
//	  │    key records at "sys/vaultkeys/<vaultID>"
//	  │    └─ its index key (below), for index records outside "v/"
//	  ├─ vault key (AES-256, one per vault, with terms) protects every key
//	  │    of the form "v/<vaultID>/..."
//	  │    └─ each term's index key, for the vault's index records
//	  └─ HKDF-SHA256(root, info "keyhaven/barrier/sealbytes/v1:" + purpose)
//	       keys for SealBytes/OpenBytes (backup blobs)
//
// Every value stored with Put gets a fresh random 256-bit data key. The
// data key encrypts the value with AES-256-GCM and is itself wrapped
// (AES-256-GCM) by the key-encryption key (KEK) that the storage key
// selects: the vault key's current term for "v/<vaultID>/...", the root KEK
// for everything else. Term 0 names the root KEK; vault key terms start at
// 1.
//
// Index records — values that hold no secret material of their own, such
// as an object's head, which names the current version and carries its
// public attributes and its record still sealed under its own data key —
// are stored with PutIndex under the KEK's index key instead:
//
//	index key = HKDF-SHA256(KEK's key, info "keyhaven/barrier/index-key/v1")
//
// one per KEK term, built with the KEK and kept beside it. Reading one
// takes a single AES-GCM decryption with a ready cipher, where a value
// under its own data key needs the data key unwrapped and a fresh AES key
// schedule and GHASH table built (or a cache of them that a large vault
// outgrows): that is what lets a list page of a million-object vault cost
// what one of a small vault costs. The index key uses one nonce per write,
// as the KEK does for each data key it wraps, and dies with its KEK, so
// destroying a vault key shreds the index records too.
//
// # Value format (version 1)
//
//	offset  size  field
//	0       1     format version (1)
//	1       4     KEK term, uint32 big-endian
//	5       12    nonce for the data-key wrap
//	17      48    wrapped data key: AES-256-GCM(KEK, data key) = 32 + 16 tag
//	65      12    nonce for the payload
//	77      n+16  payload: AES-256-GCM(data key, value) = ciphertext + tag
//
// Both GCM operations use the associated data
//
//	label (23 bytes) || version (1) || term (4) || storage key
//
// with label "keyhaven/barrier/dek/v1" for the wrap and
// "keyhaven/barrier/val/v1" for the payload.
//
// # Index value format (version 2)
//
//	offset  size  field
//	0       1     format version (2)
//	1       4     KEK term, uint32 big-endian
//	5       12    nonce
//	17      n+16  AES-256-GCM(index key of the KEK at term, value)
//
// with the associated data built the same way under the label
// "keyhaven/barrier/idx/v1". In both formats label and header have fixed
// lengths, so the encoding is unambiguous; the labels keep a value of one
// format from opening as the other. Binding the storage key (which
// encodes vault, collection, name and version) means a ciphertext copied to
// another key, or two ciphertexts swapped, fail to open; binding the header
// means the version and term cannot be changed either.
//
// # Vault key records
//
// "sys/vaultkeys/<vaultID>" holds, encrypted like any root-protected value,
//
//	version (1) || current term (4) || count (4) || count × (term (4) || key (32))
//
// RotateVaultKey appends a term and makes it current; older terms stay so
// existing values still decrypt. DestroyVaultKey deletes the record, which
// makes everything under "v/<vaultID>/" permanently unreadable
// (crypto-shredding) without touching the data.
//
// # SealBytes format (version 1)
//
//	version (1) || nonce (12) || AES-256-GCM ciphertext + tag
//
// with the version byte as associated data and the key derived from the root
// key and the purpose, so a blob made for one purpose does not open for
// another.
//
// # Guarantees and errors
//
//   - Get of an absent key returns an error wrapping storage.ErrNotFound.
//   - Any ciphertext that fails to parse or authenticate returns an error
//     wrapping ErrIntegrity. Error messages name the storage key but never
//     contain plaintext or key bytes.
//   - While sealed, every data operation (View, Update, every Tx method,
//     SealBytes, OpenBytes) returns ErrSealed, including operations on a Tx
//     opened before Seal was called. Only the lifecycle calls (Initialized,
//     Initialize, Unseal, Seal, Sealed) work while sealed.
//   - Values returned by Get and Scan are fresh slices owned by the caller.
//   - The barrier-owned keys "sys/seal", "sys/canary" and "sys/vaultkeys/..."
//     cannot be read, written or deleted through a Tx (ErrReservedKey), and
//     Scan and ScanKeys skip them.
//
// # Caching and key hygiene
//
// The root KEK's cipher.AEAD and its index key's are built once at unseal;
// each vault key record's AEADs (each term's and its index key's) are
// cached after the first use. A cache entry is only used
// when the record currently stored (in the caller's transaction snapshot) is
// byte-for-byte the one the entry was built from, so rotation, destruction
// and rolled-back transactions can never make the cache serve a stale key.
// Seal zeroes the root key bytes and drops every cached AEAD; raw data keys,
// vault keys and derived keys are zeroed as soon as their AEAD is built. (The
// expanded AES key schedules inside crypto/aes cannot be zeroed from outside
// the standard library; they become unreachable garbage.)
//
// Nonces are 96-bit values from crypto/rand. Every Put uses one nonce under
// its KEK and every PutIndex one under the KEK's index key (the two count
// separately), so a vault key should be rotated well before 2^32 writes of
// either kind.
package barrier
