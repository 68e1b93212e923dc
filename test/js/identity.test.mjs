// Compatibility tests: the credentials of @azure/identity for JavaScript,
// unchanged, sign in against keyhaven's token authority (and its managed
// identity agent) and read a secret with @azure/keyvault-secrets:
// ClientSecretCredential, ClientCertificateCredential,
// WorkloadIdentityCredential (a token of an external OIDC issuer),
// ManagedIdentityCredential through `keyhaven agent` (App Service and IMDS
// shapes) and DefaultAzureCredential from environment variables; and
// credentials keyhaven must refuse.
//
// Run by internal/e2e/js_identity_test.go (TestJavaScriptIdentity), which
// starts the dev server, the external issuer and the agent, and prepares
// the fixtures this file reads from the environment:
//
//   go test -count=1 -run TestJavaScriptIdentity ./internal/e2e/
//
// KEYHAVEN_DEV_INFO and NODE_EXTRA_CA_CERTS as for secrets.test.mjs, plus
//   KEYHAVEN_JS_CERT_FILE             PEM: certificate + private key, the certificate
//                                     registered as a credential of the dev application
//   KEYHAVEN_JS_UNKNOWN_CERT_FILE     PEM: certificate + key registered nowhere
//   KEYHAVEN_JS_FEDERATED_TOKEN_FILE  an external issuer's token for a subject a federated
//                                     credential of the dev application trusts
//   KEYHAVEN_JS_UNTRUSTED_TOKEN_FILE  the same issuer's token for a subject nobody trusts
//   KEYHAVEN_JS_IDENTITY_ENDPOINT     `keyhaven agent`'s IDENTITY_ENDPOINT (App Service shape)
//   KEYHAVEN_JS_IDENTITY_HEADER       and its IDENTITY_HEADER
//   KEYHAVEN_JS_IMDS_HOST             the agent's origin, http://127.0.0.1:PORT (IMDS shape)
// Without them (e.g. under `npm test`) the file skips.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";

const REQUIRED = [
  "KEYHAVEN_DEV_INFO",
  "NODE_EXTRA_CA_CERTS",
  "KEYHAVEN_JS_CERT_FILE",
  "KEYHAVEN_JS_UNKNOWN_CERT_FILE",
  "KEYHAVEN_JS_FEDERATED_TOKEN_FILE",
  "KEYHAVEN_JS_UNTRUSTED_TOKEN_FILE",
  "KEYHAVEN_JS_IDENTITY_ENDPOINT",
  "KEYHAVEN_JS_IDENTITY_HEADER",
  "KEYHAVEN_JS_IMDS_HOST",
];
const missing = REQUIRED.filter((k) => !process.env[k]);

if (missing.length > 0) {
  test("@azure/identity credentials against keyhaven", {
    skip:
      `needs ${missing.join(", ")}: run it through ` +
      "`go test -run TestJavaScriptIdentity ./internal/e2e/`, which starts the server, an external OIDC issuer " +
      "and `keyhaven agent` and prepares these fixtures",
  }, () => {});
} else {
  await defineTests();
}

async function defineTests() {
  // setup.mjs demands a running dev server, so it is loaded only now.
  const { info, name, pipelineOptions, vaultUrl } = await import("./setup.mjs");
  const {
    ClientCertificateCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    WorkloadIdentityCredential,
  } = await import("@azure/identity");
  const { SecretClient } = await import("@azure/keyvault-secrets");

  const env = process.env;
  // The scope the vault's challenge names: https://{dns-suffix}:{port}/.default.
  const vaultScope = `https://${new URL(vaultUrl).host.split(".").slice(1).join(".")}/.default`;
  const secretName = name("identity");
  const secretValue = `identity-${randomBytes(12).toString("hex")}`;

  const secretClient = (credential) => new SecretClient(vaultUrl, credential, pipelineOptions);

  // readsSecret asserts that a SecretClient with this credential reads back
  // the value the suite stored.
  async function readsSecret(credential) {
    const got = await secretClient(credential).getSecret(secretName);
    assert.equal(got.value, secretValue);
    assert.equal(got.name, secretName);
  }

  // assertDevAppToken asserts that the credential's token for the vault is
  // keyhaven's token for the dev application.
  async function assertDevAppToken(credential) {
    const tok = await credential.getToken(vaultScope);
    assert.ok(tok && tok.token, "getToken returned a token");
    assert.ok(tok.expiresOnTimestamp > Date.now(), "the token is not yet expired");
    assertDevAppClaims(decodeJwt(tok.token));
  }

  function assertDevAppClaims(claims) {
    assert.equal((claims.appid ?? claims.azp ?? "").toLowerCase(), info.clientId.toLowerCase(), "appid/azp");
    assert.equal(claims.tid, info.tenantId, "tid");
    assert.equal(new URL(claims.iss).origin, new URL(info.authorityHost).origin, "iss is keyhaven's authority");
  }

  // rejectsAuthentication asserts that reading the secret with this
  // credential fails in @azure/identity with an authentication error whose
  // message matches re.
  async function rejectsAuthentication(credential, re) {
    await assert.rejects(
      () => secretClient(credential).getSecret(secretName),
      (err) => {
        assert.match(err.name, /^Authentication(Required)?Error$/, `${err.name}: ${err.message}`);
        assert.match(err.message, re);
        return true;
      },
    );
  }

  before(async () => {
    const stored = await secretClient(
      new ClientSecretCredential(info.tenantId, info.clientId, info.clientSecret, {
        ...pipelineOptions,
        authorityHost: info.authorityHost,
        disableInstanceDiscovery: true,
      }),
    ).setSecret(secretName, secretValue);
    assert.equal(stored.value, secretValue);
  });

  describe("ClientSecretCredential", () => {
    test("tenant id and authorityHost = the server", async () => {
      const cred = new ClientSecretCredential(info.tenantId, info.clientId, info.clientSecret, {
        ...pipelineOptions,
        authorityHost: info.authorityHost,
        disableInstanceDiscovery: true,
      });
      await readsSecret(cred);
      await assertDevAppToken(cred);
    });

    test("tenant adfs", async () => {
      const cred = new ClientSecretCredential("adfs", info.clientId, info.clientSecret, {
        ...pipelineOptions,
        authorityHost: info.authorityHost,
      });
      await readsSecret(cred);
      await assertDevAppToken(cred);
    });

    test("a wrong client secret is refused", async () => {
      const cred = new ClientSecretCredential(info.tenantId, info.clientId, `${info.clientSecret}-wrong`, {
        ...pipelineOptions,
        authorityHost: info.authorityHost,
        disableInstanceDiscovery: true,
      });
      await rejectsAuthentication(cred, /invalid_client/);
    });
  });

  describe("ClientCertificateCredential", () => {
    for (const tenant of ["guid", "adfs"]) {
      test(`PEM file with certificate and key (tenant ${tenant})`, async () => {
        const tenantId = tenant === "adfs" ? "adfs" : info.tenantId;
        const cred = new ClientCertificateCredential(
          tenantId,
          info.clientId,
          { certificatePath: env.KEYHAVEN_JS_CERT_FILE },
          { ...pipelineOptions, authorityHost: info.authorityHost, disableInstanceDiscovery: true },
        );
        await readsSecret(cred);
        await assertDevAppToken(cred);
      });
    }

    test("a certificate the application does not hold is refused", async () => {
      const cred = new ClientCertificateCredential(
        info.tenantId,
        info.clientId,
        { certificatePath: env.KEYHAVEN_JS_UNKNOWN_CERT_FILE },
        { ...pipelineOptions, authorityHost: info.authorityHost, disableInstanceDiscovery: true },
      );
      await rejectsAuthentication(cred, /invalid_client/);
    });
  });

  describe("WorkloadIdentityCredential", () => {
    test("token file of a trusted external issuer, given as options", async () => {
      const cred = new WorkloadIdentityCredential({
        ...pipelineOptions,
        tenantId: info.tenantId,
        clientId: info.clientId,
        tokenFilePath: env.KEYHAVEN_JS_FEDERATED_TOKEN_FILE,
        authorityHost: info.authorityHost,
        disableInstanceDiscovery: true,
      });
      await readsSecret(cred);
      await assertDevAppToken(cred);
    });

    test("AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST", async () => {
      await withEnv(
        {
          AZURE_FEDERATED_TOKEN_FILE: env.KEYHAVEN_JS_FEDERATED_TOKEN_FILE,
          AZURE_CLIENT_ID: info.clientId,
          AZURE_TENANT_ID: info.tenantId,
          AZURE_AUTHORITY_HOST: info.authorityHost,
        },
        async () => {
          const cred = new WorkloadIdentityCredential({ ...pipelineOptions, disableInstanceDiscovery: true });
          await readsSecret(cred);
          await assertDevAppToken(cred);
        },
      );
    });

    // As on a Kubernetes pod: no secret in the environment, so
    // EnvironmentCredential is unavailable and the chain's
    // WorkloadIdentityCredential answers.
    test("DefaultAzureCredential picks the workload identity from the environment", async () => {
      await withEnv(
        {
          AZURE_FEDERATED_TOKEN_FILE: env.KEYHAVEN_JS_FEDERATED_TOKEN_FILE,
          AZURE_CLIENT_ID: info.clientId,
          AZURE_TENANT_ID: info.tenantId,
          AZURE_AUTHORITY_HOST: info.authorityHost,
        },
        async () => {
          const cred = new DefaultAzureCredential({ ...pipelineOptions, disableInstanceDiscovery: true });
          await readsSecret(cred);
          await assertDevAppToken(cred);
        },
      );
    });

    test("a token for a subject no federated credential trusts is refused", async () => {
      const cred = new WorkloadIdentityCredential({
        ...pipelineOptions,
        tenantId: info.tenantId,
        clientId: info.clientId,
        tokenFilePath: env.KEYHAVEN_JS_UNTRUSTED_TOKEN_FILE,
        authorityHost: info.authorityHost,
        disableInstanceDiscovery: true,
      });
      await rejectsAuthentication(cred, /invalid_client/);
    });
  });

  // MSAL keeps the managed identity source it picks (and its tokens) in
  // static state for the life of the process, so each shape runs in a
  // fresh Node process with only its own variables set.
  describe("ManagedIdentityCredential through keyhaven agent", () => {
    test("App Service shape: IDENTITY_ENDPOINT + IDENTITY_HEADER", async () => {
      const r = await managedIdentityChild({
        IDENTITY_ENDPOINT: env.KEYHAVEN_JS_IDENTITY_ENDPOINT,
        IDENTITY_HEADER: env.KEYHAVEN_JS_IDENTITY_HEADER,
      });
      assert.equal(r.error, undefined, `no error: ${JSON.stringify(r.error)}`);
      assert.equal(r.value, secretValue);
      assertDevAppClaims(r.claims);
    });

    // AZURE_POD_IDENTITY_AUTHORITY_HOST moves MSAL's IMDS endpoint
    // (http://169.254.169.254/metadata/identity/oauth2/token) to the agent.
    // MSAL canonicalizes that variable's URL, so it sends
    // GET {host}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=...
    // with a trailing slash, which IMDS and keyhaven agent accept.
    test("IMDS shape: AZURE_POD_IDENTITY_AUTHORITY_HOST", async () => {
      const r = await managedIdentityChild({ AZURE_POD_IDENTITY_AUTHORITY_HOST: env.KEYHAVEN_JS_IMDS_HOST });
      assert.equal(r.error, undefined, `no error: ${JSON.stringify(r.error)}`);
      assert.equal(r.value, secretValue);
      assertDevAppClaims(r.claims);
    });

    test("App Service shape with a wrong IDENTITY_HEADER is refused", async () => {
      const r = await managedIdentityChild({
        IDENTITY_ENDPOINT: env.KEYHAVEN_JS_IDENTITY_ENDPOINT,
        IDENTITY_HEADER: "not-the-header",
      });
      assert.equal(r.value, undefined, "no secret is read");
      assert.ok(r.error, "getToken fails");
      assert.equal(r.error.name, "CredentialUnavailableError", `${r.error.name}: ${r.error.message}`);
      assert.match(r.error.message, /X-IDENTITY-HEADER/);
    });
  });

  describe("DefaultAzureCredential", () => {
    // EnvironmentCredential, first in the chain, builds a
    // ClientSecretCredential from these; tenant adfs means no instance
    // discovery. The loopback agent refuses any other destination.
    test("AZURE_TENANT_ID=adfs, AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET", async () => {
      await withEnv(
        {
          AZURE_TENANT_ID: "adfs",
          AZURE_AUTHORITY_HOST: info.authorityHost,
          AZURE_CLIENT_ID: info.clientId,
          AZURE_CLIENT_SECRET: info.clientSecret,
        },
        async () => {
          const cred = new DefaultAzureCredential(pipelineOptions);
          await readsSecret(cred);
          await assertDevAppToken(cred);
        },
      );
    });
  });

  // managedIdentityChild runs MI_CHILD in a new Node process with vars (and
  // none of the other managed identity or AZURE_* variables) and returns
  // what it reports: the token's claims and the secret's value, or the
  // error.
  function managedIdentityChild(vars) {
    const childEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      const u = k.toUpperCase();
      if (
        u.startsWith("AZURE_") ||
        u.startsWith("IDENTITY_") ||
        u.startsWith("MSI_") ||
        u.startsWith("IMDS_") ||
        u.startsWith("NODE_TEST") ||
        u === "NODE_OPTIONS"
      ) {
        continue;
      }
      childEnv[k] = v;
    }
    Object.assign(childEnv, vars, {
      KEYHAVEN_JS_CHILD: JSON.stringify({ vaultUrl, vaultScope, secretName }),
    });
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        ["--input-type=module", "--eval", MI_CHILD],
        { cwd: dirname(fileURLToPath(import.meta.url)), env: childEnv, timeout: 120_000 },
        (err, stdout, stderr) => {
          if (err) {
            reject(new Error(`managed identity child process failed: ${err.message}\n${stdout}\n${stderr}`));
            return;
          }
          try {
            resolve(JSON.parse(stdout.trim().split("\n").pop()));
          } catch {
            reject(new Error(`managed identity child process printed no result:\n${stdout}\n${stderr}`));
          }
        },
      );
    });
  }
}

// withEnv sets environment variables for the duration of fn.
async function withEnv(vars, fn) {
  const saved = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function decodeJwt(jwt) {
  const parts = jwt.split(".");
  assert.equal(parts.length, 3, "the access token is a JWT");
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

// MI_CHILD is the program each managed identity shape runs in its own
// process: ManagedIdentityCredential as an application would build it
// (configuration from the environment only), getToken for the vault's
// scope, then getSecret with a SecretClient. Its HTTPS agent, like
// setup.mjs's, resolves *.localhost to 127.0.0.1 and nothing else; the
// credential reaches the agent over plain HTTP on 127.0.0.1. It prints one
// JSON line.
const MI_CHILD = `
import https from "node:https";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

const { vaultUrl, vaultScope, secretName } = JSON.parse(process.env.KEYHAVEN_JS_CHILD);
function lookup(hostname, options, callback) {
  if (typeof options === "function") { callback = options; options = {}; }
  const h = String(hostname).toLowerCase().replace(/\\.$/, "");
  if (h !== "localhost" && !h.endsWith(".localhost")) {
    const err = new Error("the managed identity child connects only to loopback; refusing " + hostname);
    err.code = "ENOTFOUND";
    process.nextTick(callback, err);
  } else if (options && options.all) {
    process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]);
  } else {
    process.nextTick(callback, null, "127.0.0.1", 4);
  }
}
const agent = new https.Agent({ keepAlive: true, lookup });
const out = {};
try {
  const cred = new ManagedIdentityCredential({ retryOptions: { maxRetries: 0 } });
  const tok = await cred.getToken(vaultScope);
  out.claims = JSON.parse(Buffer.from(tok.token.split(".")[1], "base64url").toString("utf8"));
  const client = new SecretClient(vaultUrl, cred, { agent, retryOptions: { maxRetries: 0 } });
  out.value = (await client.getSecret(secretName)).value;
} catch (err) {
  out.error = { name: err.name, message: String(err.message) };
} finally {
  agent.destroy();
}
process.stdout.write("\\n" + JSON.stringify(out) + "\\n");
`;
