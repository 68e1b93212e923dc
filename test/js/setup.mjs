// Shared setup of the JavaScript compatibility tests: the dev server's
// connection details, an agent that reaches *.localhost on loopback only,
// pipeline options and credentials. See secrets.test.mjs for how to run.

import { after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { randomBytes } from "node:crypto";

import { ClientSecretCredential } from "@azure/identity";

const infoFile = process.env.KEYHAVEN_DEV_INFO;
if (!infoFile) {
  throw new Error("KEYHAVEN_DEV_INFO must name the dev-info JSON file of a running keyhaven dev server");
}
if (!process.env.NODE_EXTRA_CA_CERTS) {
  throw new Error("NODE_EXTRA_CA_CERTS must name the dev server's CA file (caFile in the dev-info JSON)");
}
export const info = JSON.parse(readFileSync(infoFile, "utf8"));
for (const k of ["vaultUrl", "caFile", "tenantId", "authorityHost", "clientId", "clientSecret"]) {
  assert.ok(info[k], `dev-info lacks ${k}`);
}

// ---------------------------------------------------------------------------
// Reaching *.localhost without /etc/hosts.
//
// Node's resolver does not map dev.vault.localhost to loopback on Debian. The
// SDK's pipeline options take `agent` (createPipelineFromOptions in
// @azure/core-rest-pipeline adds agentPolicy(options.agent), and the Node HTTP
// client of @typespec/ts-http-runtime uses request.agent when it is set), and
// @azure/identity hands its options to the same pipeline for the token
// requests. This agent resolves localhost and *.localhost to 127.0.0.1; the
// TLS servername stays the URL's host, so certificate checks are unchanged.
// It refuses every other name and every non-loopback address, so a test can
// never send traffic off the machine (e.g. a managed-identity probe).

function isLoopbackAddress(addr) {
  return addr === "::1" || (net.isIPv4(addr) && addr.startsWith("127."));
}

function loopbackLookup(hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  const h = String(hostname).toLowerCase().replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) {
    if (options && options.all) {
      process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]);
    } else {
      process.nextTick(callback, null, "127.0.0.1", 4);
    }
    return;
  }
  const err = new Error(`keyhaven JS tests connect only to loopback; refusing to resolve ${hostname}`);
  err.code = "ENOTFOUND";
  process.nextTick(callback, err);
}

class LoopbackAgent extends https.Agent {
  createConnection(options, callback) {
    const host = options.host ?? options.hostname;
    if (net.isIP(host) && !isLoopbackAddress(host)) {
      throw new Error(`keyhaven JS tests connect only to loopback; refusing ${host}`);
    }
    return super.createConnection(options, callback);
  }
}

export const agent = new LoopbackAgent({ keepAlive: true, lookup: loopbackLookup });

// Pipeline options shared by the credentials and the clients. No retries: a
// compatible server answers the first time, and a failure shows at once.
export const pipelineOptions = { agent, retryOptions: { maxRetries: 0 } };

// Fast polling for the delete and recover pollers (the default is 2 s).
export const poll = { intervalInMs: 50 };

after(() => agent.destroy());

// ---------------------------------------------------------------------------
// Helpers.

export const vaultUrl = info.vaultUrl.replace(/\/+$/, "");
export const run = randomBytes(4).toString("hex"); // names stay unique on a long-lived dev server
export const name = (s) => `js-${run}-${s}`;

export function guidCredential() {
  return new ClientSecretCredential(info.tenantId, info.clientId, info.clientSecret, {
    ...pipelineOptions,
    authorityHost: info.authorityHost,
    disableInstanceDiscovery: true,
  });
}

export function adfsCredential() {
  return new ClientSecretCredential("adfs", info.clientId, info.clientSecret, {
    ...pipelineOptions,
    authorityHost: info.authorityHost,
  });
}

