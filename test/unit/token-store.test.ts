import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryStore } from "../../src/registry/index.js";
import { openSqliteStore } from "../../src/registry/stores/sqlite.js";
import { runTokenStoreContract } from "./token-store-contract.js";

runTokenStoreContract("memory", async () => ({ backend: createMemoryStore(), cleanup: async () => {} }));

runTokenStoreContract("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-tokens-"));
  const backend = await openSqliteStore({ dataDir: dir });
  return {
    backend,
    reopen: async () => (await backend.close(), openSqliteStore({ dataDir: dir })),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
