/**
 * Seeds a bench registry straight through the Store API: `services` ×
 * `perService` instances (svc-S / i-I, bodies from instanceBody) plus,
 * optionally, one service `big` with `big` instances (b-K), committed in
 * batches. Each mutation is what the admin API's PUT would commit (parsed by
 * the registry's own parseInstanceBody / parseServiceBody), so the stored
 * registry is the same as one written instance by instance; only the number
 * of commits (and revisions) differs. Loading 100,000 endpoints through the
 * admin API takes minutes today, which is what the scale bench measures
 * separately.
 */
import { createSilentLogger } from "../../src/log/index.js";
import { openStore, parseInstanceBody, parseServiceBody, type Mutation } from "../../src/registry/index.js";
import { instanceBody } from "./ipc.js";

export interface SeedSpec {
  readonly services: number;
  readonly perService: number;
  /** Instances of the one big service `big`, b-0… (0 or absent: none). */
  readonly big?: number;
}

/** Instance b-`k` of the big service: addresses in 11.x.y.z, apart from svc-S's 10.x.y.z. */
export function bigInstanceBody(k: number) {
  return { address: `11.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`, port: 9090 };
}

/**
 * Opens the store `storeSpec` (`sqlite`, or an etcd:// spec) in `dataDir`,
 * writes the registry in commits of `batch` mutations, and closes it.
 * etcd refuses txns of over 128 operations, hence its smaller batches.
 */
export async function seedStore(storeSpec: string, dataDir: string, spec: SeedSpec): Promise<{ seedMs: number; commits: number }> {
  const start = performance.now();
  const store = await openStore(storeSpec, { dataDir, logger: createSilentLogger() });
  const batch = storeSpec === "sqlite" ? 5000 : 40;
  let commits = 0;
  try {
    const pending: Mutation[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      await store.commit(pending.splice(0));
      commits++;
    };
    const put = async (service: string, id: string, body: unknown) => {
      pending.push({ kind: "put-instance", instance: parseInstanceBody(service, id, body), serviceDefaults: parseServiceBody(service, {}) });
      if (pending.length >= batch) await flush();
    };
    for (let s = 0; s < spec.services; s++) for (let i = 0; i < spec.perService; i++) await put(`svc-${s}`, `i-${i}`, instanceBody(s, i));
    for (let k = 0; k < (spec.big ?? 0); k++) await put("big", `b-${k}`, bigInstanceBody(k));
    await flush();
  } finally {
    await store.close();
  }
  return { seedMs: performance.now() - start, commits };
}
