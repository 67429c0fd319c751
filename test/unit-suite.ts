/**
 * Every unit test file, in this one process. `npm test` runs this instead of
 * one process per file: node and tsx start once, not sixty times (about 50 s
 * of a 2-core machine). A unit file still runs alone with
 * `node --import tsx --test test/unit/<name>.test.ts`.
 *
 * The imports are static on purpose: node's runner starts the tests it has
 * once this module has been evaluated, so files imported later (a loop of
 * dynamic imports) would not run. The test below fails when a unit file is
 * missing from the list.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";
import "./unit/admin-auth.test.js";
import "./unit/admin-certificates.test.js";
import "./unit/admin-clients.test.js";
import "./unit/admin-console.test.js";
import "./unit/admin-console-data.test.js";
import "./unit/admin-endpoint-conflict.test.js";
import "./unit/admin-faults.test.js";
import "./unit/admin-generations.test.js";
import "./unit/admin-health.test.js";
import "./unit/admin-host.test.js";
import "./unit/admin-json-body.test.js";
import "./unit/admin-policy.test.js";
import "./unit/admin-paging.test.js";
import "./unit/admin.test.js";
import "./unit/auth.test.js";
import "./unit/backoff.test.js";
import "./unit/bench-broadcast.test.js";
import "./unit/bench-percentiles.test.js";
import "./unit/cli-cert.test.js";
import "./unit/cli-dns-rate-limit.test.js";
import "./unit/cli-front-door.test.js";
import "./unit/cli-generations.test.js";
import "./unit/cli-guard.test.js";
import "./unit/cli-heartbeat.test.js";
import "./unit/cli-paging.test.js";
import "./unit/cli-policy.test.js";
import "./unit/cli-token.test.js";
import "./unit/cli.test.js";
import "./unit/client-dns-source.test.js";
import "./unit/client-endpoint-cache.test.js";
import "./unit/client-options.test.js";
import "./unit/client-xds-client.test.js";
import "./unit/client-target-chain.test.js";
import "./unit/codec.test.js";
import "./unit/console-sessions.test.js";
import "./unit/demo.test.js";
import "./unit/dns-answer.test.js";
import "./unit/dns-cache-fuzz.test.js";
import "./unit/dns-fit.test.js";
import "./unit/dns-query-handler.test.js";
import "./unit/dns-query-wire.test.js";
import "./unit/dns-rate-limit.test.js";
import "./unit/dns-subset.test.js";
import "./unit/dns-tcp-framing.test.js";
import "./unit/etcd-generation-chain.test.js";
import "./unit/events-hub.test.js";
import "./unit/faults-pipeline.test.js";
import "./unit/faults.test.js";
import "./unit/group-commit.test.js";
import "./unit/guard-blast-radius.test.js";
import "./unit/guard-controller.test.js";
import "./unit/guard-decide.test.js";
import "./unit/guard-diff.test.js";
import "./unit/guard-drain.test.js";
import "./unit/guard-generation-store.test.js";
import "./unit/guard-incremental.test.js";
import "./unit/guard-mtls-readiness.test.js";
import "./unit/guard-policy.test.js";
import "./unit/guard-state.test.js";
import "./unit/guard-validate.test.js";
import "./unit/health-damping.test.js";
import "./unit/health-monitor.test.js";
import "./unit/health-rendezvous.test.js";
import "./unit/health-store.test.js";
import "./unit/health-ttl.test.js";
import "./unit/identity.test.js";
import "./unit/lab-cpu-wait.test.js";
import "./unit/lab-fleet.test.js";
import "./unit/lab-net.test.js";
import "./unit/lab-dns-relay.test.js";
import "./unit/lab-dns-fallback.test.js";
import "./unit/policy-validate.test.js";
import "./unit/port-reservation.test.js";
import "./unit/scenario-assert.test.js";
import "./unit/serve-config.test.js";
import "./unit/serve-identity.test.js";
import "./unit/serve-listeners.test.js";
import "./unit/serve-security.test.js";
import "./unit/server-observers.test.js";
import "./unit/xds-snapshot-cache.test.js";
import "./unit/xds-unknown-names.test.js";
import "./unit/lab-chart.test.js";
import "./unit/lab-phases.test.js";
import "./unit/lab-report.test.js";
import "./unit/lab-scenario.test.js";
import "./unit/lab-scenario-policy.test.js";
import "./unit/lab-start-gate.test.js";
import "./unit/lab-workload.test.js";
import "./unit/log-rate-limit.test.js";
import "./unit/metrics-event-loop-delay.test.js";
import "./unit/open-store.test.js";
import "./unit/readme.test.js";
import "./unit/ops-files.test.js";
import "./unit/registry-policy.test.js";
import "./unit/registry.test.js";
import "./unit/resources-corpus.test.js";
import "./unit/security-resources.test.js";
import "./unit/snapshot-incremental.test.js";
import "./unit/snapshot-security.test.js";
import "./unit/snapshot-isolation.test.js";
import "./unit/snapshot-policy.test.js";
import "./unit/snapshot-protection.test.js";
import "./unit/snapshot-dns-failover.test.js";
import "./unit/snapshot.test.js";
import "./unit/sorted-map.test.js";
import "./unit/spine-failures.test.js";
import "./unit/spine.test.js";
import "./unit/store-etcd-replica.test.js";
import "./unit/store-memory.test.js";
import "./unit/store-secrets.test.js";
import "./unit/store-sqlite.test.js";
import "./unit/token-log-check.test.js";
import "./unit/token-store.test.js";
import "./unit/ui-api-types.test.js";
import "./unit/ui-format.test.js";
import "./unit/validate.test.js";
import "./unit/xds-limits.test.js";
import "./unit/xds-wire.test.js";

test("unit suite - imports every test/unit/*.test.ts file", () => {
  const onDisk = readdirSync(new URL("./unit/", import.meta.url)).filter((n) => n.endsWith(".test.ts")).sort();
  const imported = [...readFileSync(new URL(import.meta.url), "utf8").matchAll(/^import "\.\/unit\/(.+)\.js";$/gm)].map((m) => `${m[1]}.ts`).sort();
  assert.deepEqual(imported, onDisk, "add the missing files to test/unit-suite.ts");
});
