import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { UnavailableError, ValidationError } from "../../src/errors/index.js";
import type { GenerationLog, StoredResource } from "../../src/registry/index.js";

/**
 * The GenerationLog contract (src/registry/generation-log.ts), run against
 * every backend: memory and sqlite here, etcd in
 * test/integration/store-etcd.test.ts. `log` is a fresh, empty log; `close`
 * closes the backend it lives in; `reopen`, when given, opens the same data
 * again (the caller closes first).
 */
export interface GenerationLogFixture {
  readonly log: GenerationLog;
  close(): Promise<void>;
  readonly reopen?: () => Promise<{ readonly log: GenerationLog; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

export const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
export const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

export function resource(typeUrl: string, name: string, bytes: readonly number[]): StoredResource {
  return { typeUrl, name, body: Uint8Array.from(bytes) };
}

/** Resources with bodies as hex, so a backend may hand out Buffers or plain Uint8Arrays. */
export function bodiesAsHex(resources: readonly StoredResource[] | undefined): { typeUrl: string; name: string; body: string }[] | undefined {
  return resources?.map(({ typeUrl, name, body }) => {
    assert.ok(body instanceof Uint8Array, `${typeUrl} ${name}: body must be a Uint8Array`);
    return { typeUrl, name, body: Buffer.from(body).toString("hex") };
  });
}

type LogTest = (behaviour: string, body: (log: GenerationLog, fixture: GenerationLogFixture, t: TestContext) => Promise<void>) => void;

export function runGenerationLogContract(name: string, open: () => Promise<GenerationLogFixture>): void {
  const it: LogTest = (behaviour, body) =>
    test(`${name} generation log - ${behaviour}`, async (t) => {
      const fixture = await open();
      try {
        await body(fixture.log, fixture, t);
      } finally {
        await fixture.close();
        await fixture.cleanup();
      }
    });

  it("list returns every record put, deep-equal, in ascending id order", async (log) => {
    assert.deepEqual(await log.list(), []);
    await log.put({ id: 12, record: { status: "canary", diff: { cds: { added: ["a"], removed: [] } }, at: "2022-03-08T18:07:00.000Z" } });
    await log.put({ id: 3, record: { status: "held", errors: [{ path: "endpoints[0].port", message: "must be 1-65535" }], note: null } });
    await log.put({ id: 1, record: { status: "pushed", count: 0, ratio: 0.25, ok: true } });
    assert.deepEqual(await log.list(), [
      { id: 1, record: { status: "pushed", count: 0, ratio: 0.25, ok: true } },
      { id: 3, record: { status: "held", errors: [{ path: "endpoints[0].port", message: "must be 1-65535" }], note: null } },
      { id: 12, record: { status: "canary", diff: { cds: { added: ["a"], removed: [] } }, at: "2022-03-08T18:07:00.000Z" } },
    ]);
  });

  it("keeps its own copies of records: changing the caller's or a returned record changes nothing", async (log) => {
    const record = { status: "held", diff: { added: ["a"] } };
    await log.put({ id: 1, record });
    record.status = "pushed";
    record.diff.added.push("b");
    const [first] = await log.list();
    assert.deepEqual(first, { id: 1, record: { status: "held", diff: { added: ["a"] } } });
    assert.notEqual(first!.record, record);
    (first!.record.diff as { added: string[] }).added.push("c");
    assert.deepEqual(await log.list(), [{ id: 1, record: { status: "held", diff: { added: ["a"] } } }]);
  });

  it("a put with a stored id replaces the record and keeps its resources unless new ones are given", async (log) => {
    await log.put({ id: 1, record: { status: "canary" } }, [resource(CDS, "a", [1])]);
    await log.put({ id: 1, record: { status: "pushed" } });
    assert.deepEqual(await log.list(), [{ id: 1, record: { status: "pushed" } }]);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: CDS, name: "a", body: "01" }]);
    await log.put({ id: 1, record: { status: "rolled-back" } }, [resource(EDS, "b", [2])]);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: EDS, name: "b", body: "02" }]);
    await log.put({ id: 1, record: { status: "rejected" } }, []);
    assert.equal(await log.resources(1), undefined, "an empty list replaces the resources with none");
    assert.deepEqual(await log.list(), [{ id: 1, record: { status: "rejected" } }]);
  });

  it("resources come back byte for byte, in (typeUrl, name) order", async (log) => {
    const everyByte = Array.from({ length: 256 }, (_, i) => i);
    // A view into a larger buffer: only its own bytes may be stored.
    const view = Buffer.from([9, 9, 1, 2, 3, 9]).subarray(2, 5);
    await log.put({ id: 1, record: {} }, [
      resource(EDS, "b", [0, 0]),
      resource(CDS, "b", everyByte),
      { typeUrl: EDS, name: "a", body: view },
      resource(CDS, "a", []),
      resource(CDS, "a2", [255]),
      // JavaScript order (UTF-16 code units) puts U+1F600 before U+FF61; UTF-8 byte order would not.
      resource(EDS, "\uff61", [4]),
      resource(EDS, "\u{1f600}", [5]),
    ]);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [
      { typeUrl: CDS, name: "a", body: "" },
      { typeUrl: CDS, name: "a2", body: "ff" },
      { typeUrl: CDS, name: "b", body: Buffer.from(everyByte).toString("hex") },
      { typeUrl: EDS, name: "a", body: "010203" },
      { typeUrl: EDS, name: "b", body: "0000" },
      { typeUrl: EDS, name: "\u{1f600}", body: "05" },
      { typeUrl: EDS, name: "\uff61", body: "04" },
    ]);
  });

  it("resources are copies: changing a passed or returned body or list changes nothing", async (log) => {
    const passed = [resource(CDS, "a", [1, 2, 3])];
    await log.put({ id: 1, record: {} }, passed);
    passed[0]!.body[0] = 9;
    passed.push(resource(CDS, "b", [4]));
    const first = (await log.resources(1))!;
    first[0]!.body[1] = 9;
    first.push(resource(EDS, "c", [5]));
    const second = await log.resources(1);
    assert.deepEqual(bodiesAsHex(second), [{ typeUrl: CDS, name: "a", body: "010203" }]);
    assert.notEqual(second![0]!.body, first[0]!.body);
  });

  it("resources are undefined for a generation put without any and for an unknown id", async (log) => {
    await log.put({ id: 1, record: {} });
    assert.equal(await log.resources(1), undefined);
    assert.equal(await log.resources(2), undefined);
  });

  it("retain drops every record not kept, with its resources", async (log) => {
    for (const id of [1, 2, 3]) await log.put({ id, record: { id } }, [resource(CDS, `c${id}`, [id])]);
    await log.retain(new Set([1, 3, 99]));
    assert.deepEqual(await log.list(), [{ id: 1, record: { id: 1 } }, { id: 3, record: { id: 3 } }]);
    assert.equal(await log.resources(2), undefined);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: CDS, name: "c1", body: "01" }]);
    assert.deepEqual(bodiesAsHex(await log.resources(3)), [{ typeUrl: CDS, name: "c3", body: "03" }]);
    await log.retain(new Set());
    assert.deepEqual(await log.list(), []);
    assert.equal(await log.resources(1), undefined);
  });

  it("a body shared by generations survives retaining only one of them", async (log) => {
    const shared = [7, 7, 7];
    const first = [resource(CDS, "a", shared), resource(EDS, "a", [1])];
    const second = [resource(CDS, "a", shared), resource(CDS, "b", shared)];
    await log.put({ id: 1, record: {} }, first);
    await log.put({ id: 2, record: {} }, second);
    await log.retain(new Set([1]));
    assert.deepEqual(bodiesAsHex(await log.resources(1)), bodiesAsHex(first));
    await log.put({ id: 2, record: {} }, second);
    await log.retain(new Set([2]));
    assert.deepEqual(bodiesAsHex(await log.resources(2)), bodiesAsHex(second));
    await log.retain(new Set());
    await log.put({ id: 3, record: {} }, [resource(CDS, "a", shared)]);
    assert.deepEqual(bodiesAsHex(await log.resources(3)), [{ typeUrl: CDS, name: "a", body: "070707" }]);
  });

  it("a put that fails validation reports every problem and stores nothing", async (log) => {
    await log.put({ id: 1, record: { status: "pushed" } }, [resource(CDS, "a", [1])]);
    await assert.rejects(log.put({ id: 1, record: { status: "held" } }, [resource(CDS, "b", [2]), resource(CDS, "b", [3])]), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.issues.map((i) => i.path), ["resources[1]"]);
      return true;
    });
    const bad = { id: 0, record: [] as unknown, resources: [{ typeUrl: "", name: "x", body: "bytes" }] };
    await assert.rejects(log.put({ id: bad.id, record: bad.record as Record<string, unknown> }, bad.resources as unknown as StoredResource[]), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.issues.map((i) => i.path), ["id", "record", "resources[0].typeUrl", "resources[0].body"]);
      assert.ok(!err.message.includes("\n"), "one line");
      return true;
    });
    for (const id of [-1, 1.5, Number.NaN]) await assert.rejects(log.put({ id, record: {} }), ValidationError, String(id));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(log.put({ id: 2, record: cyclic }), (err: unknown) => err instanceof ValidationError && !err.message.includes("\n"));
    assert.deepEqual(await log.list(), [{ id: 1, record: { status: "pushed" } }]);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: CDS, name: "a", body: "01" }]);
  });

  it("records and resources are all back after reopen", async (log, fixture, t) => {
    if (!fixture.reopen) {
      t.skip("not a persistent backend");
      return;
    }
    await log.put({ id: 1, record: { status: "pushed", nested: { list: [1, "two", null] } } }, [resource(CDS, "a", [1, 2]), resource(EDS, "a", [3])]);
    await log.put({ id: 2, record: { status: "held" } }, [resource(CDS, "a", [1, 2])]);
    await log.put({ id: 3, record: { status: "rejected" } });
    await log.retain(new Set([1, 3]));
    const records = await log.list();
    const resources = await log.resources(1);
    await fixture.close();
    const reopened = await fixture.reopen();
    try {
      assert.deepEqual(await reopened.log.list(), records);
      assert.deepEqual(bodiesAsHex(await reopened.log.resources(1)), bodiesAsHex(resources));
      assert.equal(await reopened.log.resources(2), undefined);
      assert.equal(await reopened.log.resources(3), undefined);
      await reopened.log.put({ id: 4, record: {} }, [resource(CDS, "a", [1, 2])]);
      assert.deepEqual(bodiesAsHex(await reopened.log.resources(4)), [{ typeUrl: CDS, name: "a", body: "0102" }]);
    } finally {
      await reopened.close();
    }
  });

  it("every method refuses with UnavailableError once closed", async (log, fixture) => {
    await log.put({ id: 1, record: {} }, [resource(CDS, "a", [1])]);
    await fixture.close();
    await assert.rejects(log.put({ id: 2, record: {} }), UnavailableError);
    await assert.rejects(log.list(), UnavailableError);
    await assert.rejects(log.resources(1), UnavailableError);
    await assert.rejects(log.retain(new Set()), UnavailableError);
  });

  it("resources given as changes against the newest generation read back whole, for every generation", async (log) => {
    await log.put({ id: 1, record: {} }, [resource(CDS, "a", [1]), resource(EDS, "a", [2]), resource(EDS, "b", [3])]);
    await log.put({ id: 2, record: {} }, { base: 1, upserts: [resource(EDS, "a", [9])], removals: [{ typeUrl: EDS, name: "b" }] });
    await log.put({ id: 4, record: {} }, { base: 2, upserts: [resource(CDS, "c", [4])], removals: [] });
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: CDS, name: "a", body: "01" }, { typeUrl: EDS, name: "a", body: "02" }, { typeUrl: EDS, name: "b", body: "03" }]);
    assert.deepEqual(bodiesAsHex(await log.resources(2)), [{ typeUrl: CDS, name: "a", body: "01" }, { typeUrl: EDS, name: "a", body: "09" }]);
    assert.deepEqual(bodiesAsHex(await log.resources(4)), [{ typeUrl: CDS, name: "a", body: "01" }, { typeUrl: CDS, name: "c", body: "04" }, { typeUrl: EDS, name: "a", body: "09" }]);
    assert.equal(await log.resources(3), undefined);
  });

  it("changes against anything but the newest generation, and new resources for an older one, are refused; an older one's resources given again are ignored", async (log) => {
    await log.put({ id: 1, record: {} }, [resource(CDS, "a", [1])]);
    await log.put({ id: 2, record: {} }, [resource(CDS, "a", [2])]);
    await assert.rejects(log.put({ id: 3, record: { bad: true } }, { base: 1, upserts: [], removals: [] }), (err: unknown) => err instanceof ValidationError && err.issues[0]!.path === "resources.base");
    await assert.rejects(log.put({ id: 3, record: {} }, { base: 2, upserts: [resource(CDS, "a", [3])], removals: [{ typeUrl: CDS, name: "a" }] }), ValidationError, "a key both upserted and removed");
    await log.put({ id: 1, record: { again: true } }, [resource(CDS, "a", [7])]);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: CDS, name: "a", body: "01" }], "a generation's resources do not change");
    await log.put({ id: 5, record: {} });
    await assert.rejects(log.put({ id: 4, record: {} }, [resource(CDS, "a", [4])]).then(() => log.put({ id: 3, record: {} }, [resource(CDS, "a", [3])])), ValidationError);
    assert.deepEqual((await log.list()).map((g) => g.id), [1, 2, 4, 5]);
    assert.deepEqual(bodiesAsHex(await log.resources(2)), [{ typeUrl: CDS, name: "a", body: "02" }]);
  });

  it("a generation whose base (and its base) was pruned still reads back whole, and takes changes after", async (log) => {
    await log.put({ id: 1, record: {} }, [resource(CDS, "a", [1]), resource(EDS, "a", [1]), resource(EDS, "b", [1])]);
    await log.put({ id: 2, record: {} }, { base: 1, upserts: [resource(EDS, "a", [2])], removals: [{ typeUrl: EDS, name: "b" }] });
    await log.put({ id: 3, record: {} }, { base: 2, upserts: [resource(EDS, "b", [3])], removals: [{ typeUrl: CDS, name: "a" }] });
    await log.put({ id: 4, record: {} }, { base: 3, upserts: [resource(CDS, "a", [4])], removals: [] });
    await log.retain(new Set([1, 3, 4]));
    const third = [{ typeUrl: EDS, name: "a", body: "02" }, { typeUrl: EDS, name: "b", body: "03" }];
    assert.deepEqual(bodiesAsHex(await log.resources(3)), third);
    await log.retain(new Set([4]));
    const fourth = [{ typeUrl: CDS, name: "a", body: "04" }, ...third];
    assert.deepEqual(bodiesAsHex(await log.resources(4)), fourth);
    assert.equal(await log.resources(1), undefined);
    assert.equal(await log.resources(3), undefined);
    await log.put({ id: 5, record: {} }, { base: 4, upserts: [], removals: [{ typeUrl: EDS, name: "a" }] });
    assert.deepEqual(bodiesAsHex(await log.resources(5)), [fourth[0], fourth[2]]);
    assert.deepEqual(bodiesAsHex(await log.resources(4)), fourth);
  });

  it("seeded random puts (whole or as changes) and retains: every kept generation reads back exactly what was put for it", async (log) => {
    let seed = 99;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const model = new Map<number, Map<string, StoredResource>>();
    let newest: number | undefined;
    let id = 0;
    const keyOf = (r: { typeUrl: string; name: string }) => `${r.typeUrl} ${r.name}`;
    const expect = (set: Map<string, StoredResource> | undefined) => (set && set.size > 0 ? bodiesAsHex([...set.values()].sort((a, b) => (a.typeUrl === b.typeUrl ? (a.name < b.name ? -1 : 1) : a.typeUrl < b.typeUrl ? -1 : 1))) : undefined);
    for (let step = 0; step < 240; step++) {
      if (random() < 0.15 && model.size > 0) {
        const keep = new Set([...model.keys()].filter(() => random() < 0.6));
        await log.retain(keep);
        for (const k of [...model.keys()]) if (!keep.has(k)) model.delete(k);
        newest = model.size > 0 ? Math.max(...model.keys()) : undefined;
      } else {
        id += 1 + Math.floor(random() * 2);
        const current = new Map(newest === undefined ? [] : model.get(newest)!);
        const upserts: StoredResource[] = [];
        const removals: { typeUrl: string; name: string }[] = [];
        for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
          const r = resource(random() < 0.5 ? CDS : EDS, `s${Math.floor(random() * 8)}`, [step, k]);
          if (upserts.some((u) => keyOf(u) === keyOf(r)) || removals.some((u) => keyOf(u) === keyOf(r))) continue;
          if (random() < 0.25 && current.has(keyOf(r))) {
            removals.push({ typeUrl: r.typeUrl, name: r.name });
            current.delete(keyOf(r));
          } else {
            upserts.push(r);
            current.set(keyOf(r), r);
          }
        }
        if (newest === undefined || random() < 0.2) await log.put({ id, record: { step } }, [...current.values()]);
        else await log.put({ id, record: { step } }, { base: newest, upserts, removals });
        model.set(id, current);
        newest = id;
      }
      for (const [kept, set] of model) assert.deepEqual(bodiesAsHex(await log.resources(kept)), expect(set), `step ${step}: generation ${kept}`);
    }
  });
}
