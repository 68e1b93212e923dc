// Package kcrypto holds the cryptographic primitives behind keyhaven's Keys
// API (Azure Key Vault keys.json): JSON Web Keys, key generation,
// sign/verify, encrypt/decrypt, wrap/unwrap and random bytes. It is pure:
// no storage, no HTTP, no key_ops or attribute policy — the keys service
// owns those and calls in here with an algorithm name and bytes.
//
// # Algorithms
//
//	key            sign / verify              encrypt / decrypt             wrapKey / unwrapKey
//	RSA 2048-4096  RS256 RS384 RS512 RSNULL   RSA1_5 RSA-OAEP RSA-OAEP-256  RSA1_5 RSA-OAEP RSA-OAEP-256
//	               PS256 PS384 PS512
//	EC P-256       ES256                      -                             -
//	EC P-384       ES384                      -                             -
//	EC P-521       ES512                      -                             -
//	EC P-256K      ES256K                     -                             -
//	oct 128        HS256 HS384 HS512          A128GCM A128CBC A128CBCPAD    A128KW CKM_AES_KEY_WRAP(_PAD)
//	oct 192        HS256 HS384 HS512          A192GCM A192CBC A192CBCPAD    A192KW CKM_AES_KEY_WRAP(_PAD)
//	oct 256        HS256 HS384 HS512          A256GCM A256CBC A256CBCPAD    A256KW CKM_AES_KEY_WRAP(_PAD)
//
// [Key.Algorithms] and [Key.CheckAlgorithm] expose this table;
// [DefaultKeyOps] gives the key_ops of a new key.
//
// # Wire formats
//
//   - JWK binary fields are base64url without padding on output; padded and
//     unpadded input is accepted. RSA n and e are unsigned big-endian
//     without leading zeros; EC x and y are left-padded to the curve length
//     (32, 48, 66 bytes; 32 for P-256K).
//   - Sign takes a digest (32, 48, 64 bytes for the SHA-256/384/512
//     algorithms), except RSNULL (raw PKCS#1 v1.5 input, at most k−11
//     bytes) and HS* (the data to MAC).
//   - ECDSA signatures are JWS-style r||s, each left-padded to the curve
//     length, never DER. Verification accepts high and low S.
//   - PSS signs with MGF1 over the same hash and salt length = hash
//     length; verification accepts any salt length.
//   - GCM returns the 12-byte IV and 16-byte tag separately from the
//     ciphertext; CBC takes or generates a 16-byte IV.
//
// # Guarantees
//
//   - Every error caused by the request or the key is, or wraps, one of
//     ErrUnsupportedAlgorithm, ErrAlgorithmKeyMismatch, ErrInvalidDigest,
//     ErrInvalidInput, ErrDecryption or ErrInvalidKey (only an internal
//     key-generation failure is not). Error text names algorithms, fields
//     and lengths and never includes key material, plaintext or other
//     request bytes.
//   - Decrypt and UnwrapKey failures that depend on secret data (tag, MAC,
//     padding, key-wrap integrity value) all return the bare ErrDecryption;
//     CBC-PAD padding and RFC 5649 padding are checked in constant time.
//   - Verify returns (false, nil) for a signature that does not verify;
//     errors mean the request itself was unacceptable.
//   - PublicJWK never contains private parts, and for oct keys no material.
//   - A *Key is immutable and safe for concurrent use. Randomness comes
//     only from crypto/rand.
//   - MarshalPrivate output is a versioned plaintext encoding (documented
//     on the method); callers must encrypt it before it reaches storage.
package kcrypto
