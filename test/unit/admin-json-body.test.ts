import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAdminServer } from "../../src/admin/index.js";
import { MAX_JSON_DEPTH, nestingExceeds } from "../../src/admin/json-body.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const nested = (depth: number, open = "[", close = "]") => `${open.repeat(depth)}${close.repeat(depth)}`;

describe("admin json body", () => {
  it("admin json body - counts nesting of objects and arrays, not brackets inside strings", () => {
    assert.equal(nestingExceeds(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH), false);
    assert.equal(nestingExceeds(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH), true);
    assert.equal(nestingExceeds(`{"a":${nested(2)},"b":{"c":[1,{"d":2}]}}`, 4), false);
    assert.equal(nestingExceeds(`{"a":{"b":[{}]}}`, 3), true);
    assert.equal(nestingExceeds(JSON.stringify({ text: "[".repeat(100) }), 1), false);
    // An escaped quote does not end the string, so the brackets after it are still inside.
    assert.equal(nestingExceeds(JSON.stringify({ text: `\\"${"{".repeat(100)}` }), 1), false);
    assert.equal(nestingExceeds(JSON.stringify({ text: 'say "[[[["' }), 1), false);
  });

  it("admin json body - deeply nested bodies under load: each a 400, the server stays up and small, and a good write still lands", async () => {
    const registry = await createRegistry(createMemoryStore());
    const admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
    const payload = nested(30_000);
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) {
      const response = await admin.inject({ method: "PUT", url: "/v1/services/greeter/instances/a1", payload, headers: { "content-type": "application/json" } });
      assert.equal(response.statusCode, 400);
      assert.deepEqual(response.json(), { error: `body: JSON nested too deeply; at most ${MAX_JSON_DEPTH} levels of objects and arrays are allowed` });
    }
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, "heap grew by more than 64 MiB");
    assert.equal(registry.view().revision, 0);
    const good = await admin.inject({ method: "PUT", url: "/v1/services/greeter/instances/a1", payload: { address: "127.0.0.1", port: 50051, metadata: { team: "core" } } });
    assert.equal(good.statusCode, 201, good.body);
    await admin.close();
    await registry.close();
  });
});
