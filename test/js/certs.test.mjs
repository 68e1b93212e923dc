// Compatibility tests: keyhaven's Certificates API driven by the official
// Azure SDK for JavaScript (@azure/keyvault-certificates CertificateClient,
// with @azure/keyvault-secrets for the backing secrets). Run like
// secrets.test.mjs (by internal/e2e/js_test.go, or by hand).
//
// Certificates and CSRs are checked with node's own crypto
// (X509Certificate, createPrivateKey). Node cannot make a certificate or a
// PFX, so the import cases run openssl through child_process and are
// skipped when it is not on PATH.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from "node:crypto";

import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";

import { guidCredential, name, pipelineOptions, poll, vaultUrl } from "./setup.mjs";

const PFX = "application/x-pkcs12";
const PEM = "application/x-pem-file";

const sha1 = (data) => createHash("sha1").update(data).digest();
const spki = (key) => key.export({ type: "spki", format: "der" });

async function collect(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}

// rejectsWith asserts that promise fails with a RestError of this status.
async function rejectsWith(promise, statusCode) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, "RestError", `want a RestError, got ${err.name}: ${err.message}`);
    assert.equal(err.statusCode, statusCode, `status of "${err.message}"`);
    return true;
  });
}

// openssl runs the openssl binary (callers check hasOpenSSL first) and
// returns its stdout.
function openssl(args, input) {
  try {
    return execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"], timeout: 20_000 });
  } catch (err) {
    throw new Error(`openssl ${args.join(" ")}: ${err.stderr || err.message}`);
  }
}
let hasOpenSSL;
try {
  execFileSync("openssl", ["version"], { stdio: "ignore" });
  hasOpenSSL = true;
} catch {
  hasOpenSSL = false;
}
const needsOpenSSL = hasOpenSSL ? {} : { skip: "openssl is not on PATH" };

// readPFX reads a PFX (base64) with openssl and returns its certificates
// (DER) and its private key (KeyObject).
function readPFX(base64, password = "") {
  const pfx = Buffer.from(base64, "base64");
  const pem = openssl(["pkcs12", "-passin", `pass:${password}`, "-nodes"], pfx).toString();
  const certs = [...pem.matchAll(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]).raw);
  const key = createPrivateKey(pem.match(/-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----/)[0]);
  return { certs, key };
}

// recorder returns pipeline options that record every request and its
// response (method, url, request body, status, response body), so a
// failure can show the exchange. show() leaves out the bearer challenges
// (401 before the token) and cuts long bodies.
function recorder() {
  const log = [];
  const options = {
    ...pipelineOptions,
    additionalPolicies: [
      {
        position: "perRetry",
        policy: {
          name: "recordExchanges",
          async sendRequest(request, next) {
            const entry = { method: request.method, url: request.url, body: typeof request.body === "string" ? request.body : undefined };
            log.push(entry);
            const response = await next(request);
            entry.status = response.status;
            entry.response = response.bodyAsText;
            return response;
          },
        },
      },
    ],
  };
  const cut = (s) => (s && s.length > 400 ? `${s.slice(0, 400)}…` : s ?? "");
  const show = () =>
    log
      .filter((e) => e.status !== 401)
      .map((e) => `${e.method} ${e.url}${e.body ? ` ${cut(e.body)}` : ""}\n  -> ${e.status} ${cut(e.response)}`)
      .join("\n");
  return { log, options, show };
}

describe("certificates", () => {
  const cred = guidCredential();
  const client = new CertificateClient(vaultUrl, cred, pipelineOptions);
  const secrets = new SecretClient(vaultUrl, cred, pipelineOptions);

  const selfPolicy = (host, extra = {}) => ({
    issuerName: "Self",
    subject: `CN=${host}, O=Keyhaven JS`,
    subjectAlternativeNames: { dnsNames: [host, `www.${host}`] },
    validityInMonths: 13,
    ...extra,
  });

  test("self-signed: create, cer, get, version, policy, properties, lists", async () => {
    const n = name("self");
    const host = `${n}.example`;
    const poller = await client.beginCreateCertificate(n, selfPolicy(host), poll);
    const cert = await poller.pollUntilDone();
    assert.equal(cert.name, n);
    assert.ok(cert.cer && cert.cer.length > 0, "the created certificate has cer");

    const x = new X509Certificate(Buffer.from(cert.cer));
    // "CN=host, O=Keyhaven JS" is an LDAP-order string: the DER (which node
    // prints in order, one attribute a line) holds O first.
    assert.equal(x.subject, `O=Keyhaven JS\nCN=${host}`);
    assert.equal(x.issuer, x.subject);
    assert.ok(x.verify(x.publicKey), "self-signed: the certificate verifies with its own key");
    assert.equal(x.subjectAltName, `DNS:${host}, DNS:www.${host}`);
    const days = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86400e3;
    assert.ok(days >= 13 * 28 && days <= 13 * 31 + 1, `13 months of validity, got ${days} days`);
    assert.equal(x.publicKey.asymmetricKeyType, "rsa");
    assert.equal(x.publicKey.asymmetricKeyDetails.modulusLength, 2048);

    const p = cert.properties;
    assert.deepEqual(Buffer.from(p.x509Thumbprint), sha1(cert.cer), "x5t is the SHA-1 of cer");
    assert.equal(p.x509ThumbprintString, sha1(cert.cer).toString("hex"));
    assert.equal(x.fingerprint.replaceAll(":", "").toLowerCase(), p.x509ThumbprintString);
    assert.equal(p.name, n);
    assert.ok(p.version, "the certificate has a version");
    assert.equal(p.id, `${vaultUrl}/certificates/${n}/${p.version}`);
    assert.equal(cert.keyId, `${vaultUrl}/keys/${n}/${p.version}`);
    assert.equal(cert.secretId, `${vaultUrl}/secrets/${n}/${p.version}`);
    assert.equal(p.enabled, true);
    assert.equal(p.notBefore.getTime(), Date.parse(x.validFrom));
    assert.equal(p.expiresOn.getTime(), Date.parse(x.validTo));
    assert.ok(p.createdOn instanceof Date && p.updatedOn instanceof Date);
    assert.ok(p.recoveryLevel, "recoveryLevel");

    assert.equal(cert.policy.issuerName, "Self");
    assert.equal(cert.policy.subject, `CN=${host}, O=Keyhaven JS`);
    assert.deepEqual(cert.policy.subjectAlternativeNames, { dnsNames: [host, `www.${host}`] });
    assert.equal(cert.policy.validityInMonths, 13);
    assert.equal(cert.policy.contentType, PFX);
    assert.equal(cert.policy.keyType, "RSA");
    assert.equal(cert.policy.keySize, 2048);

    const got = await client.getCertificate(n);
    assert.equal(got.properties.version, p.version);
    assert.deepEqual(Buffer.from(got.cer), Buffer.from(cert.cer));
    assert.equal(got.policy.subject, cert.policy.subject);
    const byVersion = await client.getCertificateVersion(n, p.version);
    assert.equal(byVersion.properties.version, p.version);
    assert.deepEqual(Buffer.from(byVersion.cer), Buffer.from(cert.cer));
    assert.equal(byVersion.keyId, cert.keyId);

    const policy = await client.getCertificatePolicy(n);
    assert.equal(policy.subject, `CN=${host}, O=Keyhaven JS`);
    assert.deepEqual(policy.subjectAlternativeNames, { dnsNames: [host, `www.${host}`] });
    assert.equal(policy.validityInMonths, 13);
    assert.equal(policy.issuerName, "Self");

    // updateCertificatePolicy's own return value is built from a variable
    // the SDK never assigns (index.js: toPublicPolicy(parsedBody) with
    // parsedBody unset), so read the policy back to check the update.
    await client.updateCertificatePolicy(n, selfPolicy(`v2.${host}`, { validityInMonths: 6 }));
    const updated = await client.getCertificatePolicy(n);
    assert.equal(updated.subject, `CN=v2.${host}, O=Keyhaven JS`);
    assert.deepEqual(updated.subjectAlternativeNames, { dnsNames: [`v2.${host}`, `www.v2.${host}`] });
    assert.equal(updated.validityInMonths, 6);
    assert.equal(updated.issuerName, "Self");
    assert.equal(updated.contentType, PFX, "a PATCH keeps what it does not name");

    // A second version is issued with the updated policy.
    const second = await (await client.beginCreateCertificate(n, updated, poll)).pollUntilDone();
    assert.notEqual(second.properties.version, p.version);
    assert.equal(new X509Certificate(Buffer.from(second.cer)).subject, `O=Keyhaven JS\nCN=v2.${host}`);

    const props = await client.updateCertificateProperties(n, "", { enabled: false, tags: { env: "js", team: "kh" } });
    assert.equal(props.properties.version, second.properties.version, "an empty version updates the latest");
    assert.equal(props.properties.enabled, false);
    assert.deepEqual(props.properties.tags, { env: "js", team: "kh" });
    const old = await client.updateCertificateProperties(n, p.version, { tags: { old: "yes" } });
    assert.equal(old.properties.version, p.version);
    assert.deepEqual(old.properties.tags, { old: "yes" });
    assert.equal(old.properties.enabled, true);
    const latest = await client.getCertificate(n);
    assert.equal(latest.properties.enabled, false);
    assert.deepEqual(latest.properties.tags, { env: "js", team: "kh" });
    await client.updateCertificateProperties(n, second.properties.version, { enabled: true });
    assert.equal((await client.getCertificate(n)).properties.enabled, true);

    const listed = (await collect(client.listPropertiesOfCertificates())).filter((c) => c.name === n);
    assert.equal(listed.length, 1, "one list item per certificate");
    assert.deepEqual(Buffer.from(listed[0].x509Thumbprint), sha1(second.cer));
    assert.deepEqual(listed[0].tags, { env: "js", team: "kh" });
    const versions = await collect(client.listPropertiesOfCertificateVersions(n));
    assert.deepEqual(versions.map((v) => v.version).sort(), [p.version, second.properties.version].sort());
    for (const v of versions) {
      assert.equal(v.name, n);
      assert.equal(v.id, `${vaultUrl}/certificates/${n}/${v.version}`);
    }
    const v1 = versions.find((v) => v.version === p.version);
    assert.deepEqual(Buffer.from(v1.x509Thumbprint), sha1(cert.cer));
    assert.deepEqual(v1.tags, { old: "yes" });
  });

  test("backing secret: PKCS#12 by default, PEM with a PRIVATE KEY block by policy", async () => {
    const n = name("pfx");
    const cert = await (await client.beginCreateCertificate(n, selfPolicy(`${n}.example`), poll)).pollUntilDone();
    const certKey = new X509Certificate(Buffer.from(cert.cer)).publicKey;
    const secret = await secrets.getSecret(n);
    assert.equal(secret.properties.contentType, PFX);
    assert.equal(secret.properties.version, cert.properties.version);
    assert.equal(secret.properties.managed, true, "a certificate's secret is managed");
    assert.equal(secret.properties.certificateKeyId, cert.keyId, "the secret names its certificate's key (kid)");
    if (hasOpenSSL) {
      const pfx = readPFX(secret.value);
      assert.deepEqual(pfx.certs[0], Buffer.from(cert.cer), "the PFX holds the certificate");
      assert.deepEqual(spki(createPublicKey(pfx.key)), spki(certKey), "the PFX holds the certificate's key");
    } else {
      assert.ok(Buffer.from(secret.value, "base64").length > cert.cer.length, "the PFX is base64");
    }

    const m = name("pem");
    const pemCert = await (await client.beginCreateCertificate(m, selfPolicy(`${m}.example`, { contentType: PEM }), poll)).pollUntilDone();
    assert.equal(pemCert.policy.contentType, PEM);
    const pemSecret = await secrets.getSecret(m);
    assert.equal(pemSecret.properties.contentType, PEM);
    const block = pemSecret.value.match(/-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----/);
    assert.ok(block, `the PEM secret has a PRIVATE KEY block:\n${pemSecret.value.slice(0, 200)}`);
    const priv = createPrivateKey(block[0]);
    assert.equal(priv.asymmetricKeyType, "rsa");
    const x = new X509Certificate(Buffer.from(pemCert.cer));
    assert.deepEqual(spki(createPublicKey(priv)), spki(x.publicKey), "the private key matches the certificate");
    assert.ok(x.checkPrivateKey(priv));
    const leaf = pemSecret.value.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/);
    assert.ok(leaf, "the PEM secret has the certificate");
    assert.deepEqual(new X509Certificate(leaf[0]).raw, x.raw);
  });

  test("issuer Unknown: pending with a CSR, cancel through the poller, delete the operation", async () => {
    const n = name("unknown");
    const subject = `CN=${n}.example`;
    const poller = await client.beginCreateCertificate(n, { issuerName: "Unknown", subject }, poll);
    assert.equal(poller.isDone(), false, "an Unknown-issuer create stays pending");

    await poller.cancelOperation();
    // The SDK marks the poller cancelled as soon as the PATCH returns;
    // pollUntilDone then rejects (core-lro's processUpdatedState).
    assert.equal(poller.getOperationState().isCancelled, true);
    await assert.rejects(poller.pollUntilDone(), (e) => e.name === "PollerCancelledError");

    const deleted = await client.deleteCertificateOperation(n);
    assert.equal(deleted.status, "cancelled");
    assert.equal(deleted.cancellationRequested, true);
    assert.equal(deleted.issuerName, "Unknown");
    assert.equal(deleted.id, `${vaultUrl}/certificates/${n}/pending`);
    await rejectsWith(client.deleteCertificateOperation(n), 404);

    // A second request, deleted while in progress, still shows its CSR.
    const m = name("unknown2");
    await client.beginCreateCertificate(m, { issuerName: "Unknown", subject: `CN=${m}.example` }, poll);
    const op = await client.deleteCertificateOperation(m);
    assert.equal(op.status, "inProgress");
    assert.equal(op.cancellationRequested, false);
    assert.ok(op.csr && op.csr.length > 0, "the operation has a CSR");
    assert.ok(Buffer.from(op.csr).includes(Buffer.from(`${m}.example`)), "the CSR names the subject");
    if (hasOpenSSL) {
      const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(op.csr).toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
      const out = openssl(["req", "-verify", "-noout", "-subject"], pem).toString();
      assert.match(out, new RegExp(`CN\\s*=\\s*${m}\\.example`));
    }
  });

  // getCertificateOperation's poller (lro/operation/operation.js) first
  // GETs /certificates/{name}/ (the pending certificate, which Azure and
  // keyhaven return before any merge) and only then .../pending.
  test("issuer Unknown: getCertificateOperation shows the pending operation", async () => {
    const n = name("pending");
    const rec = recorder();
    const c = new CertificateClient(vaultUrl, cred, rec.options);
    const create = await c.beginCreateCertificate(n, { issuerName: "Unknown", subject: `CN=${n}.example` }, poll);
    try {
      // getCertificateOperation first GETs /certificates/{name} (the
      // pending certificate), then /certificates/{name}/pending.
      const opPoller = await c.getCertificateOperation(n, poll);
      assert.equal(opPoller.getResult().name, n, "the pending certificate");
      const op = opPoller.getOperationState().certificateOperation;
      assert.equal(op.status, "inProgress");
      assert.equal(op.issuerName, "Unknown");
      assert.ok(op.csr && op.csr.length > 0, "the pending operation has a CSR");
      assert.equal(opPoller.isDone(), false);

      await create.cancelOperation();
      const cancelled = (await c.getCertificateOperation(n, poll)).getOperationState().certificateOperation;
      assert.equal(cancelled.status, "cancelled");
      assert.equal(cancelled.cancellationRequested, true);
    } catch (err) {
      err.message += `\nrequests:\n${rec.show()}`;
      throw err;
    } finally {
      await c.deleteCertificateOperation(n).catch(() => {});
    }
  });

  test("import a PEM bundle and a password-protected PFX", needsOpenSSL, async () => {
    const pem = openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=js-import.example", "-keyout", "-", "-out", "-"]).toString();
    const x = new X509Certificate(pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/)[0]);
    const key = createPrivateKey(pem);

    const n = name("imp-pem");
    const rec = recorder();
    const c = new CertificateClient(vaultUrl, cred, rec.options);
    // @azure/keyvault-certificates 4.10.3 does not put options.policy (nor
    // options.enabled) on the wire: importCertificate spreads the options
    // into the parameters, but certificateImportParametersSerializer reads
    // certificatePolicy and certificateAttributes. The body is just
    // {value: PEM text, tags}, so the server must recognise PEM by itself.
    const imported = await c.importCertificate(n, Buffer.from(pem), { policy: { contentType: PEM }, tags: { src: "pem" } });
    assert.deepEqual(Buffer.from(imported.cer), x.raw);
    assert.deepEqual(Buffer.from(imported.properties.x509Thumbprint), sha1(x.raw));
    assert.deepEqual(imported.properties.tags, { src: "pem" });
    assert.equal(imported.policy.contentType, PEM, `policy of the import; requests:\n${rec.show()}`);
    assert.equal(imported.policy.issuerName, "Unknown");
    assert.equal(imported.policy.subject, "CN=js-import.example");
    const pemSecret = await secrets.getSecret(n);
    assert.equal(pemSecret.properties.contentType, PEM);
    const block = pemSecret.value.match(/-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----/);
    assert.ok(block, "the imported PEM secret has a PRIVATE KEY block");
    assert.deepEqual(spki(createPublicKey(createPrivateKey(block[0]))), spki(createPublicKey(key)));

    const pfx = openssl(["pkcs12", "-export", "-passout", "pass:pw"], pem);
    const m = name("imp-pfx");
    const fromPfx = await client.importCertificate(m, pfx, { password: "pw" });
    assert.deepEqual(Buffer.from(fromPfx.cer), x.raw);
    assert.equal(fromPfx.policy.contentType, PFX);
    const pfxSecret = await secrets.getSecret(m);
    assert.equal(pfxSecret.properties.contentType, PFX);
    const back = readPFX(pfxSecret.value); // stored without a password, as in Azure
    assert.deepEqual(back.certs[0], x.raw);
    assert.deepEqual(spki(createPublicKey(back.key)), spki(createPublicKey(key)));

    await rejectsWith(client.importCertificate(name("imp-bad"), pfx, { password: "wrong" }), 400);
  });

  test("delete, get deleted, list deleted, recover, purge; backup and restore", async () => {
    const n = name("life");
    const cert = await (await client.beginCreateCertificate(n, selfPolicy(`${n}.example`), poll)).pollUntilDone();
    const version = cert.properties.version;

    const deleted = await (await client.beginDeleteCertificate(n, poll)).pollUntilDone();
    assert.equal(deleted.name, n);
    assert.equal(deleted.recoveryId, `${vaultUrl}/deletedcertificates/${n}`);
    assert.ok(deleted.deletedOn instanceof Date && deleted.scheduledPurgeDate instanceof Date);
    assert.ok(deleted.scheduledPurgeDate > deleted.deletedOn);
    await rejectsWith(client.getCertificate(n), 404);
    await rejectsWith(secrets.getSecret(n), 404);

    const got = await client.getDeletedCertificate(n);
    assert.equal(got.name, n);
    assert.equal(got.properties.version, version);
    assert.deepEqual(Buffer.from(got.cer), Buffer.from(cert.cer));
    assert.equal(got.recoveryId, deleted.recoveryId);
    assert.equal(got.policy.issuerName, "Self");
    const listed = (await collect(client.listDeletedCertificates())).filter((d) => d.name === n);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].recoveryId, deleted.recoveryId);
    assert.ok(listed[0].deletedOn instanceof Date);

    const recovered = await (await client.beginRecoverDeletedCertificate(n, poll)).pollUntilDone();
    assert.equal(recovered.properties.version, version);
    assert.deepEqual(Buffer.from(recovered.cer), Buffer.from(cert.cer));
    assert.equal((await secrets.getSecret(n)).properties.version, version, "the backing secret is back");

    const backup = await client.backupCertificate(n);
    assert.ok(backup instanceof Uint8Array && backup.length > 0);

    await (await client.beginDeleteCertificate(n, poll)).pollUntilDone();
    await client.purgeDeletedCertificate(n);
    await rejectsWith(client.getDeletedCertificate(n), 404);

    const restored = await client.restoreCertificateBackup(backup);
    assert.equal(restored.name, n);
    assert.equal(restored.properties.version, version);
    assert.deepEqual(Buffer.from(restored.cer), Buffer.from(cert.cer));
    assert.equal((await client.getCertificate(n)).properties.version, version);
    assert.equal((await secrets.getSecret(n)).properties.version, version, "the backing secret is restored");
    await rejectsWith(client.restoreCertificateBackup(backup), 409);
  });

  test("contacts: set, get, delete", async () => {
    const contacts = [
      { email: "ops@example.com", name: "Ops", phone: "555-0100" },
      { email: "pki@example.com", name: "PKI", phone: undefined },
    ];
    const set = await client.setContacts(contacts);
    assert.deepEqual(set, contacts);
    assert.deepEqual(await client.getContacts(), contacts);
    // deleteContacts returns [] whatever the server says: it reads
    // contactList from the raw wire body (index.js, onResponse parsedBody),
    // where the field is "contacts". So check the deletion by reading back.
    await client.deleteContacts();
    await rejectsWith(client.getContacts(), 404);
  });

  test("issuers: create, get, update, list, delete", async () => {
    const n = name("issuer");
    const created = await client.createIssuer(n, "Test", {
      accountId: "acct-1",
      password: "s3cret",
      organizationId: "org-1",
      administratorContacts: [{ email: "admin@example.com", firstName: "Ada", lastName: "Admin", phone: "555-0101" }],
    });
    // The SDK derives name from id as if it were /certificates/{name}, so
    // for Azure's id /certificates/issuers/{name} its name is "issuers";
    // id is what to check.
    assert.equal(created.id, `${vaultUrl}/certificates/issuers/${n}`);
    assert.equal(created.provider, "Test");
    assert.equal(created.accountId, "acct-1");
    assert.equal(created.password, undefined, "the password is never returned");
    assert.equal(created.organizationId, "org-1");
    assert.deepEqual(created.administratorContacts, [{ email: "admin@example.com", firstName: "Ada", lastName: "Admin", phone: "555-0101" }]);
    assert.equal(created.enabled, true);
    assert.ok(created.createdOn instanceof Date && created.updatedOn instanceof Date);

    const got = await client.getIssuer(n);
    assert.equal(got.provider, "Test");
    assert.equal(got.accountId, "acct-1");
    assert.equal(got.organizationId, "org-1");

    const updated = await client.updateIssuer(n, { provider: "Test2", accountId: "acct-2" });
    assert.equal(updated.provider, "Test2");
    assert.equal(updated.accountId, "acct-2");
    assert.equal(updated.organizationId, "org-1", "an update keeps what it does not name");
    assert.equal((await client.getIssuer(n)).provider, "Test2");

    // List items are IssuerItem (id and provider), without a name.
    const listed = (await collect(client.listPropertiesOfIssuers())).filter((i) => i.id === `${vaultUrl}/certificates/issuers/${n}`);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].provider, "Test2");

    const deleted = await client.deleteIssuer(n);
    assert.equal(deleted.id, `${vaultUrl}/certificates/issuers/${n}`);
    assert.equal(deleted.provider, "Test2");
    await rejectsWith(client.getIssuer(n), 404);
  });
});
