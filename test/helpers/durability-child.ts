/**
 * The writer of the kill -9 durability test: opens the sqlite store in the
 * data dir given as argv[2] (or, for `etcd://host:port`, the etcd store under
 * the prefix argv[4], as replica `r<round>` so a killed round's replica
 * claim does not hold up the next) and runs 64 concurrent writers registering
 * instances through the Registry as fast as they can. After each write's
 * promise resolves (acknowledged: its batch is durable) it prints
 * `ack <service> <id>`; every 50 ms it prints `stats <batches> <commits>`.
 * It never stops by itself: the test SIGKILLs it.
 */
import { createRegistry, openStore } from "../../src/registry/index.js";
import { openEtcdStore, parseEtcdSpec } from "../../src/registry/stores/index.js";

const where = process.argv[2];
if (!where) throw new Error("usage: durability-child <data-dir | etcd://host:port> <round> [etcd prefix]");
const round = process.argv[3] ?? "0";
const store = where.startsWith("etcd://")
  ? await openEtcdStore({ endpoints: parseEtcdSpec(where), prefix: process.argv[4] ?? "/durability/", replica: `r${round}` })
  : await openStore("sqlite", { dataDir: where });
const registry = await createRegistry(store);
setInterval(() => {
  const stats = store.commitStats?.();
  if (stats) process.stdout.write(`stats ${stats.batches} ${stats.items}\n`);
}, 50);
process.stdout.write("ready\n");
await Promise.all(
  Array.from({ length: 64 }, async (_, w) => {
    for (let k = 0; ; k++) {
      const service = `svc-${w % 8}`;
      const id = `r${round}-w${w}-${k}`;
      // An address and port of its own per (round, writer, k): the registry refuses a taken one.
      await registry.putInstance(service, id, { address: `10.${round}.${w}.${k & 255}`, port: 8000 + (k >> 8) });
      process.stdout.write(`ack ${service} ${id}\n`);
    }
  }),
);
