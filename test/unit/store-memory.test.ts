import { createMemoryStore } from "../../src/registry/index.js";
import { runStoreContract } from "./store-contract.js";

runStoreContract("memory", async () => ({ store: createMemoryStore(), cleanup: async () => {} }));
