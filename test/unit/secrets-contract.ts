import assert from "node:assert/strict";
import { test } from "node:test";
import { UnavailableError } from "../../src/errors/index.js";
import type { Backend } from "../../src/registry/index.js";

/** The Secrets contract (store.ts): memory and sqlite run it in store-secrets.test.ts, etcd in test/integration/store-etcd.test.ts. */
export function runSecretsContract(kind: string, open: () => Promise<{ backend: Backend; cleanup: () => Promise<void> }>): void {
  test(`${kind} secrets - get of a name never put is undefined; putIfAbsent stores and returns the value`, async () => {
    const { backend, cleanup } = await open();
    try {
      assert.equal(await backend.secrets.get("ca/x"), undefined);
      assert.equal(await backend.secrets.putIfAbsent("ca/x", "first"), "first");
      assert.equal(await backend.secrets.get("ca/x"), "first");
    } finally {
      await backend.close();
      await cleanup();
    }
  });

  test(`${kind} secrets - putIfAbsent never replaces: racing writers all get the first value`, async () => {
    const { backend, cleanup } = await open();
    try {
      const answers = await Promise.all(["a", "b", "c", "d"].map((value) => backend.secrets.putIfAbsent("ca/race", value)));
      assert.equal(new Set(answers).size, 1, `writers disagree: ${answers.join(",")}`);
      assert.equal(await backend.secrets.get("ca/race"), answers[0]);
      assert.equal(await backend.secrets.putIfAbsent("ca/race", "later"), answers[0]);
    } finally {
      await backend.close();
      await cleanup();
    }
  });

  test(`${kind} secrets - a secret makes no commit: the registry revision stays`, async () => {
    const { backend, cleanup } = await open();
    try {
      const before = (await backend.load()).revision;
      await backend.secrets.putIfAbsent("ca/rev", "v");
      assert.equal((await backend.load()).revision, before);
    } finally {
      await backend.close();
      await cleanup();
    }
  });

  test(`${kind} secrets - closed store refuses with UnavailableError`, async () => {
    const { backend, cleanup } = await open();
    await backend.close();
    try {
      await assert.rejects(backend.secrets.get("ca/x"), UnavailableError);
      await assert.rejects(backend.secrets.putIfAbsent("ca/x", "v"), UnavailableError);
    } finally {
      await cleanup();
    }
  });
}

