// Package client is keyhaven's Go client for the Azure Key Vault data-plane
// REST API (secrets, keys and certificates, API version 7.6, plus the
// server's seal operations and its management API of applications and role
// assignments). It uses only the standard library and behaves
// on the wire like the Azure SDKs, so whatever works with this client works
// with them too.
//
// The package guarantees:
//
//   - Requests go over HTTPS only. The first request to a host is sent
//     without a token and without a body; the server's 401 Bearer challenge
//     names the token scope. A token is sent to a host only after its
//     challenge resource passed verification (the host must end in "." plus
//     the resource's host and port), unless the caller disabled that check.
//     The IdentityClient (the server's management API on its authority
//     host) is the exception: it sends a token for the fixed scope
//     https://{dns-suffix}/.default that its caller configured.
//   - Tokens are cached per scope until shortly before they expire; challenges
//     are cached per host.
//   - Types mirror the wire JSON: field names as in the spec, absent fields
//     omitted, times as integer Unix seconds, binary blobs as unpadded
//     base64url except where the spec says standard base64 (a
//     certificate's cer, csr and x5c).
//   - Non-2xx answers become *ResponseError, token endpoint failures
//     *AuthenticationError. No error text ever contains a secret value, a
//     token or the client secret.
//   - Host names equal to or ending in ".localhost" are dialled on the
//     loopback address (RFC 6761), keeping the TLS server name.
package client
