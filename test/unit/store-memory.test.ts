import { createMemoryStore } from "../../src/registry/index.js";
import { runGenerationLogContract } from "./generation-log-contract.js";
import { runStoreContract } from "./store-contract.js";

runStoreContract("memory", async () => ({ store: createMemoryStore(), cleanup: async () => {} }));

runGenerationLogContract("memory", async () => {
  const backend = createMemoryStore();
  return { log: backend.generations, close: () => backend.close(), cleanup: async () => {} };
});
