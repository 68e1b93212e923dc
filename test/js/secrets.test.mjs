// Compatibility tests: keyhaven's Secrets API driven by the official Azure
// SDK for JavaScript (@azure/keyvault-secrets + @azure/identity), unchanged
// apart from the vault URL, the authority host and a connection agent.
//
// Run by internal/e2e/js_test.go (TestJavaScriptSDK) against a fresh dev
// server, or by hand against a running one:
//
//   keyhaven server --dev --dev-info /tmp/kh.json   # prints the CA file
//   NODE_EXTRA_CA_CERTS=/path/to/ca.pem KEYHAVEN_DEV_INFO=/tmp/kh.json \
//     node --test secrets.test.mjs
//
// KEYHAVEN_DEV_INFO names the JSON file written by `--dev-info`:
// {"vaultUrl","caFile","tenantId","authorityHost","clientId","clientSecret"}.
// The CA must come from NODE_EXTRA_CA_CERTS (Node reads it only at start).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { ClientSecretCredential, DefaultAzureCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

import { agent, adfsCredential, guidCredential, info, name, pipelineOptions, poll, vaultUrl } from "./setup.mjs";

// secretClient returns a SecretClient; with a requests array, it records
// the method and URL of every request it sends.
function secretClient(credential, requests) {
  const options = { ...pipelineOptions };
  if (requests) {
    options.additionalPolicies = [
      {
        position: "perRetry",
        policy: {
          name: "recordRequests",
          sendRequest(request, next) {
            requests.push({ method: request.method, url: request.url });
            return next(request);
          },
        },
      },
    ];
  }
  return new SecretClient(vaultUrl, credential, options);
}

async function collect(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}

// rejects asserts that fn() fails with a RestError of this status and code.
async function rejects(fn, statusCode, code) {
  await assert.rejects(fn, (err) => {
    assert.equal(err.name, "RestError", `want a RestError, got ${err.name}: ${err.message}`);
    assert.equal(err.statusCode, statusCode, `status of "${err.message}"`);
    if (code !== undefined) assert.equal(err.code, code, `code of "${err.message}"`);
    return true;
  });
}

const VERSION_RE = /^[0-9a-f]{32}$/;

function assertSecretProperties(p, secretName) {
  assert.equal(p.name, secretName);
  assert.equal(p.vaultUrl, vaultUrl);
  assert.match(p.version, VERSION_RE);
  assert.equal(p.id, `${vaultUrl}/secrets/${secretName}/${p.version}`);
  assert.ok(p.createdOn instanceof Date && !Number.isNaN(p.createdOn.getTime()), "createdOn is a Date");
  assert.ok(p.updatedOn instanceof Date && !Number.isNaN(p.updatedOn.getTime()), "updatedOn is a Date");
  assert.equal(p.recoveryLevel, "Recoverable+Purgeable");
  assert.equal(p.recoverableDays, 90);
}

// ---------------------------------------------------------------------------
// Credentials.

describe("credentials", () => {
  test("ClientSecretCredential with the tenant GUID and disableInstanceDiscovery", async () => {
    const c = secretClient(guidCredential());
    const s = await c.setSecret(name("cred-guid"), "guid-value");
    assert.equal(s.value, "guid-value");
    assert.equal((await c.getSecret(name("cred-guid"))).value, "guid-value");
  });

  test("ClientSecretCredential with tenant adfs", async () => {
    const c = secretClient(adfsCredential());
    const s = await c.setSecret(name("cred-adfs"), "adfs-value");
    assert.equal(s.value, "adfs-value");
    assert.equal((await c.getSecret(name("cred-adfs"))).value, "adfs-value");
  });

  test("a wrong client secret gets no token", async () => {
    const cred = new ClientSecretCredential(info.tenantId, info.clientId, "not-the-secret", {
      ...pipelineOptions,
      authorityHost: info.authorityHost,
      disableInstanceDiscovery: true,
    });
    await assert.rejects(
      () => secretClient(cred).getSecret(name("cred-guid")),
      (err) => {
        assert.match(err.name, /^Authentication(Required)?Error$/, `${err.name}: ${err.message}`);
        assert.match(err.message, /invalid_client/);
        return true;
      },
    );
  });

  // DefaultAzureCredential starts with EnvironmentCredential, which builds a
  // ClientSecretCredential from AZURE_TENANT_ID, AZURE_CLIENT_ID,
  // AZURE_CLIENT_SECRET and AZURE_AUTHORITY_HOST. Once those are set it either
  // succeeds or throws an AuthenticationError that ends the chain, so no later
  // credential (managed identity, CLIs) is tried; the loopback agent refuses
  // any other destination anyway. Tenant adfs means no instance discovery.
  test("DefaultAzureCredential from AZURE_* environment variables (tenant adfs)", async () => {
    const saved = {};
    const env = {
      AZURE_TENANT_ID: "adfs",
      AZURE_CLIENT_ID: info.clientId,
      AZURE_CLIENT_SECRET: info.clientSecret,
      AZURE_AUTHORITY_HOST: info.authorityHost,
    };
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    try {
      const cred = new DefaultAzureCredential(pipelineOptions);
      const c = secretClient(cred);
      const s = await c.setSecret(name("cred-default"), "default-value");
      assert.equal(s.value, "default-value");
      assert.equal((await c.getSecret(name("cred-default"))).value, "default-value");
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

// ---------------------------------------------------------------------------
// The Secrets API.

describe("secrets", () => {
  let client;
  before(() => {
    client = secretClient(guidCredential());
  });

  test("setSecret makes versions; getSecret reads the latest and each version", async () => {
    const n = name("versions");
    const made = [];
    for (const [i, value] of ["one", "two", "three"].entries()) {
      const s = await client.setSecret(n, value, { tags: { n: String(i) } });
      assert.equal(s.name, n);
      assert.equal(s.value, value);
      assertSecretProperties(s.properties, n);
      assert.equal(s.properties.enabled, true);
      assert.deepEqual(s.properties.tags, { n: String(i) });
      assert.ok(!made.some((m) => m.properties.version === s.properties.version), "versions differ");
      made.push(s);
    }

    const latest = await client.getSecret(n);
    assert.equal(latest.value, "three");
    assert.equal(latest.properties.version, made[2].properties.version);
    assert.deepEqual(latest.properties.tags, { n: "2" });
    assertSecretProperties(latest.properties, n);

    for (const m of made) {
      const got = await client.getSecret(n, { version: m.properties.version });
      assert.equal(got.value, m.value);
      assert.equal(got.properties.version, m.properties.version);
      assert.equal(got.properties.id, m.properties.id);
      assert.deepEqual(got.properties.tags, m.properties.tags);
    }

    // Attributes given to setSecret come back.
    const nbf = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const exp = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
    const withAttrs = await client.setSecret(name("attrs"), "v", { notBefore: nbf, expiresOn: exp, enabled: true });
    assert.equal(withAttrs.properties.notBefore.getTime(), nbf.getTime());
    assert.equal(withAttrs.properties.expiresOn.getTime(), exp.getTime());
  });

  test("listPropertiesOfSecretVersions lists every version, across pages", async () => {
    const n = name("many-versions");
    const versions = new Set();
    for (let i = 0; i < 27; i++) {
      versions.add((await client.setSecret(n, `v${i}`)).properties.version);
    }
    assert.equal(versions.size, 27);

    const listed = await collect(client.listPropertiesOfSecretVersions(n));
    assert.equal(listed.length, 27);
    assert.deepEqual(new Set(listed.map((p) => p.version)), versions);
    for (const p of listed) {
      assertSecretProperties(p, n);
      assert.equal(p.value, undefined, "a listing carries no value");
    }

    const pages = await collect(client.listPropertiesOfSecretVersions(n).byPage());
    assert.ok(pages.length >= 2, `27 versions come in more than one page, got ${pages.length}`);
    assert.equal(pages.flat().length, 27);
    for (const page of pages) assert.ok(page.length <= 25, `page of ${page.length} > 25`);

    const small = await collect(client.listPropertiesOfSecretVersions(n).byPage({ maxPageSize: 10 }));
    assert.deepEqual(
      small.map((p) => p.length),
      [10, 10, 7],
    );
  });

  test("listPropertiesOfSecrets follows nextLink past 25 secrets", async () => {
    const prefix = name("page-");
    const want = new Set();
    for (let i = 0; i < 30; i++) {
      const n = `${prefix}${String(i).padStart(2, "0")}`;
      await client.setSecret(n, `value-${i}`, { tags: { i: String(i) } });
      want.add(n);
    }

    const all = await collect(client.listPropertiesOfSecrets());
    const mine = all.filter((p) => p.name.startsWith(prefix));
    assert.equal(mine.length, 30);
    assert.deepEqual(new Set(mine.map((p) => p.name)), want);
    assert.equal(new Set(all.map((p) => p.name)).size, all.length, "no secret listed twice");
    for (const p of mine) {
      assert.equal(p.vaultUrl, vaultUrl);
      assert.equal(p.enabled, true);
      assert.equal(p.tags.i, String(Number(p.name.slice(prefix.length))));
      // A secret listing names the secret, not a version.
      assert.equal(p.id, `${vaultUrl}/secrets/${p.name}`);
      assert.equal(p.value, undefined);
    }

    const pages = await collect(client.listPropertiesOfSecrets().byPage());
    assert.ok(pages.length >= 2, `more than 25 secrets come in more than one page, got ${pages.length}`);
    for (const page of pages) assert.ok(page.length <= 25, `page of ${page.length} > 25`);
    assert.equal(pages.flat().length, all.length);

    // The pages after the first were fetched from the server's nextLink: an
    // absolute URL on the vault host carrying $skiptoken and api-version.
    const requests = [];
    const recording = secretClient(guidCredential(), requests);
    const recorded = await collect(recording.listPropertiesOfSecrets().byPage());
    assert.equal(recorded.flat().length, all.length);
    const follows = requests
      .map((r) => ({ ...r, u: new URL(r.url) }))
      .filter((r) => r.method === "GET" && r.u.pathname === "/secrets" && r.u.searchParams.has("$skiptoken"));
    assert.equal(follows.length, recorded.length - 1, "every page after the first came from a nextLink");
    for (const r of follows) {
      assert.equal(r.u.origin, new URL(vaultUrl).origin);
      assert.ok(r.u.searchParams.get("$skiptoken"), `nextLink has a $skiptoken: ${r.url}`);
      assert.ok(r.u.searchParams.get("api-version"), `nextLink has an api-version: ${r.url}`);
    }
    const nextLink = follows[0].url;

    // maxPageSize becomes maxresults and is carried by nextLink.
    const small = await collect(client.listPropertiesOfSecrets().byPage({ maxPageSize: 7 }));
    for (const page of small) assert.ok(page.length <= 7, `page of ${page.length} > 7`);
    assert.ok(small.length >= Math.ceil(all.length / 7));
    assert.equal(small.flat().length, all.length);

    // A nextLink given back as continuationToken resumes from that page.
    const resumed = await collect(client.listPropertiesOfSecrets().byPage({ continuationToken: nextLink }));
    assert.deepEqual(
      resumed.flat().map((p) => p.name),
      recorded
        .slice(1)
        .flat()
        .map((p) => p.name),
    );
  });

  test("updateSecretProperties: tags, contentType, and enabled=false makes getSecret fail with 403", async () => {
    const n = name("update");
    const v1 = await client.setSecret(n, "first");
    const v2 = await client.setSecret(n, "second", { tags: { keep: "no" } });

    const u = await client.updateSecretProperties(n, v2.properties.version, {
      tags: { env: "test", team: "payments" },
      contentType: "text/plain",
    });
    assert.equal(u.name, n);
    assert.equal(u.version, v2.properties.version);
    assert.deepEqual(u.tags, { env: "test", team: "payments" });
    assert.equal(u.contentType, "text/plain");
    assert.equal(u.enabled, true);
    assert.equal(u.createdOn.getTime(), v2.properties.createdOn.getTime());
    assert.ok(u.updatedOn.getTime() >= v2.properties.updatedOn.getTime());

    const got = await client.getSecret(n);
    assert.equal(got.value, "second");
    assert.deepEqual(got.properties.tags, { env: "test", team: "payments" });
    assert.equal(got.properties.contentType, "text/plain");

    // Disable the latest version: reading it is forbidden, the older one is not.
    const d = await client.updateSecretProperties(n, v2.properties.version, { enabled: false });
    assert.equal(d.enabled, false);
    assert.deepEqual(d.tags, { env: "test", team: "payments" }, "tags survive an update that omits them");
    await rejects(() => client.getSecret(n), 403, "Forbidden");
    await rejects(() => client.getSecret(n, { version: v2.properties.version }), 403, "Forbidden");
    assert.equal((await client.getSecret(n, { version: v1.properties.version })).value, "first");

    const versions = await collect(client.listPropertiesOfSecretVersions(n));
    const byVersion = Object.fromEntries(versions.map((p) => [p.version, p.enabled]));
    assert.deepEqual(byVersion, { [v1.properties.version]: true, [v2.properties.version]: false });

    // Enable it again.
    const e = await client.updateSecretProperties(n, v2.properties.version, { enabled: true });
    assert.equal(e.enabled, true);
    assert.equal((await client.getSecret(n)).value, "second");
  });

  test("errors: 404 SecretNotFound", async () => {
    await rejects(() => client.getSecret(name("missing")), 404, "SecretNotFound");
    const n = name("has-one-version");
    await client.setSecret(n, "x");
    await rejects(() => client.getSecret(n, { version: "0".repeat(32) }), 404, "SecretNotFound");
    await rejects(() => client.updateSecretProperties(name("missing"), "0".repeat(32), { enabled: false }), 404, "SecretNotFound");
    await rejects(() => client.getDeletedSecret(name("missing")), 404, "SecretNotFound");
    await rejects(() => client.backupSecret(name("missing")), 404, "SecretNotFound");
    await assert.rejects(
      async () => (await client.beginDeleteSecret(name("missing"), poll)).pollUntilDone(),
      (err) => err.statusCode === 404 && err.code === "SecretNotFound",
    );
  });

  test("delete, deleted secrets, 409 on set, recover", async () => {
    const n = name("deleted");
    const v1 = await client.setSecret(n, "alpha");
    const v2 = await client.setSecret(n, "beta", { tags: { t: "1" } });

    const poller = await client.beginDeleteSecret(n, poll);
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.name, n);
    assert.equal(deleted.properties.recoveryId, `${vaultUrl}/deletedsecrets/${n}`);
    assert.ok(deleted.properties.deletedOn instanceof Date, "deletedOn");
    assert.ok(deleted.properties.scheduledPurgeDate instanceof Date, "scheduledPurgeDate");
    const days = (deleted.properties.scheduledPurgeDate - deleted.properties.deletedOn) / 86_400_000;
    assert.ok(Math.abs(days - 90) < 0.01, `purge is scheduled 90 days after deletion, got ${days}`);
    assert.equal(deleted.properties.version, v2.properties.version);

    const dd = await client.getDeletedSecret(n);
    assert.equal(dd.name, n);
    assert.equal(dd.properties.recoveryId, `${vaultUrl}/deletedsecrets/${n}`);
    assert.equal(dd.properties.version, v2.properties.version);
    assert.deepEqual(dd.properties.tags, { t: "1" });
    assert.equal(dd.properties.deletedOn.getTime(), deleted.properties.deletedOn.getTime());
    assert.equal(dd.properties.scheduledPurgeDate.getTime(), deleted.properties.scheduledPurgeDate.getTime());

    const listed = await collect(client.listDeletedSecrets());
    const mine = listed.find((d) => d.name === n);
    assert.ok(mine, "listDeletedSecrets includes the deleted secret");
    assert.equal(mine.properties.recoveryId, `${vaultUrl}/deletedsecrets/${n}`);
    assert.ok(mine.properties.deletedOn instanceof Date);
    assert.ok(mine.properties.scheduledPurgeDate instanceof Date);
    assert.ok(
      !(await collect(client.listPropertiesOfSecrets())).some((p) => p.name === n),
      "a deleted secret is not listed among secrets",
    );

    await rejects(() => client.getSecret(n), 404, "SecretNotFound");
    await rejects(() => client.setSecret(n, "gamma"), 409, "Conflict");

    const rp = await client.beginRecoverDeletedSecret(n, poll);
    const recovered = await rp.pollUntilDone();
    assert.equal(recovered.name, n);
    assert.equal(recovered.version, v2.properties.version);
    assert.equal((await client.getSecret(n)).value, "beta");
    assert.equal((await client.getSecret(n, { version: v1.properties.version })).value, "alpha");
    await rejects(() => client.getDeletedSecret(n), 404, "SecretNotFound");

    // Setting works again once it is recovered.
    assert.equal((await client.setSecret(n, "gamma")).value, "gamma");
  });

  test("backupSecret, delete, purgeDeletedSecret, restoreSecretBackup", async () => {
    const n = name("backup");
    const v1 = await client.setSecret(n, "b-one", { tags: { k: "v" } });
    const v2 = await client.setSecret(n, "b-two");

    const backup = await client.backupSecret(n);
    assert.ok(backup instanceof Uint8Array, "backup is bytes");
    assert.ok(backup.length > 0);
    assert.ok(!Buffer.from(backup).toString("latin1").includes("b-one"), "backup does not hold the value in clear");

    // Restoring over a live secret is a conflict.
    await rejects(() => client.restoreSecretBackup(backup), 409, "Conflict");

    await (await client.beginDeleteSecret(n, poll)).pollUntilDone();
    // Restoring over a deleted (not purged) secret is a conflict too.
    await rejects(() => client.restoreSecretBackup(backup), 409, "Conflict");

    await client.purgeDeletedSecret(n);
    await rejects(() => client.getDeletedSecret(n), 404, "SecretNotFound");
    await rejects(() => client.getSecret(n), 404, "SecretNotFound");

    const restored = await client.restoreSecretBackup(backup);
    assert.equal(restored.name, n);
    assert.equal(restored.version, v2.properties.version);
    assertSecretProperties(restored, n);

    assert.equal((await client.getSecret(n)).value, "b-two");
    const old = await client.getSecret(n, { version: v1.properties.version });
    assert.equal(old.value, "b-one");
    assert.deepEqual(old.properties.tags, { k: "v" });
    const versions = await collect(client.listPropertiesOfSecretVersions(n));
    assert.deepEqual(new Set(versions.map((p) => p.version)), new Set([v1.properties.version, v2.properties.version]));

    // A backup that is not one is rejected with 400.
    await rejects(() => client.restoreSecretBackup(new Uint8Array([1, 2, 3, 4])), 400);
  });
});
