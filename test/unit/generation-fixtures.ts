/**
 * A fake push guard (GenerationControl) with a small, realistic audit trail,
 * shared by the admin API and CLI tests. It follows the contract in
 * src/guard/model.ts: NotFoundError for unknown ids, ConflictError when the
 * status does not allow the action, UnavailableError when told to fail.
 */
import { ConflictError, NotFoundError, UnavailableError } from "../../src/errors/index.js";
import type { Generation, GenerationControl, GenerationDiff, PushGuard } from "../../src/guard/index.js";
import type { TypeDiff } from "../../src/guard/model.js";

const NONE: TypeDiff = { added: [], removed: [], changed: [] };

function diff(against: number | undefined, types: Partial<GenerationDiff["types"]>, endpoints: GenerationDiff["endpoints"] = {}): GenerationDiff {
  return { ...(against !== undefined && { against }), types: { LDS: NONE, RDS: NONE, CDS: NONE, EDS: NONE, ...types }, endpoints };
}

function generation({ id, status, ...fields }: Partial<Generation> & Pick<Generation, "id" | "status">): Generation {
  const createdAt = `2024-01-01T00:${String(id).padStart(2, "0")}:00.000Z`;
  return {
    id,
    status,
    revision: id * 2,
    createdAt,
    version: `v${id}`,
    diff: diff(id - 1, {}),
    reason: "",
    problems: [],
    source: "registry",
    history: [{ at: createdAt, status, detail: status }],
    ...fields,
  };
}

const TEN = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}:50051`);

/** 1 pushed, 2 pushed, 3 held (mass deletion), 4 rejected, 5 held after a canary NACK, 6 canary. */
export function sampleGenerations(): Generation[] {
  const all = ["greeter", "login", "search"];
  return [
    generation({
      id: 1, status: "pushed",
      diff: diff(undefined, { LDS: { ...NONE, added: all }, RDS: { ...NONE, added: all }, CDS: { ...NONE, added: all }, EDS: { ...NONE, added: all } }, { greeter: { before: 0, after: 10, added: TEN, removed: [] } }),
    }),
    generation({ id: 2, status: "pushed", diff: diff(1, { EDS: { ...NONE, changed: ["login"] } }, { login: { before: 2, after: 3, added: ["10.0.1.3:50051"], removed: [] } }) }),
    generation({
      id: 3, status: "held", reason: "held: removes 9 of 10 endpoints of greeter (90% > 50%)",
      diff: diff(2, { LDS: { ...NONE, removed: ["login", "search"] }, CDS: { ...NONE, removed: ["login", "search"] }, EDS: { ...NONE, changed: ["greeter"] } }, {
        greeter: { before: 10, after: 1, added: [], removed: TEN.slice(1) },
      }),
      problems: [
        { path: "LDS", message: "removes 2 of 3 listeners (67% > 50%)" },
        { path: "EDS/greeter", message: "removes 9 of 10 endpoints of greeter (90% > 50%)" },
      ],
    }),
    generation({
      id: 4, status: "rejected", reason: "rejected: stock clients would NACK it",
      diff: diff(2, { CDS: { ...NONE, changed: ["login"] } }),
      problems: [{ path: "CDS/login", message: "lb_policy: must be ROUND_ROBIN or RING_HASH" }],
    }),
    generation({
      id: 5, status: "held", reason: "held: canary canary-1 NACKed EDS",
      diff: diff(2, { EDS: { ...NONE, changed: ["login"] } }),
      nack: { at: "2024-01-01T00:05:30.000Z", nodeId: "canary-1", streamId: "s4", type: "EDS", errorDetail: { code: 3, message: "endpoints[0].port:\nmust be 1-65535" } },
    }),
    generation({ id: 6, status: "canary", reason: "canary: baking on 1 client until 2024-01-01T00:06:30.000Z", diff: diff(2, { RDS: { ...NONE, changed: ["greeter"] } }) }),
  ];
}

export interface FakeGenerations extends GenerationControl {
  /** Every approve/rollback call, as `approve 3`. */
  readonly calls: string[];
  /** When set, approve and rollback reject with this (after recording the call). */
  failWith?: Error;
}

/** A GenerationControl over an in-memory list; approve pushes, rollback appends a `rollback` generation. */
export function createFakeGenerations(initial: readonly Generation[] = sampleGenerations()): FakeGenerations {
  const generations = [...initial];
  const find = (id: number): Generation => {
    const found = generations.find((g) => g.id === id);
    if (!found) throw new NotFoundError(`generation ${id} not found`);
    return found;
  };
  const replace = (next: Generation): Generation => (generations.splice(generations.findIndex((g) => g.id === next.id), 1, next), next);
  const fake: FakeGenerations = {
    calls: [],
    list: () => [...generations],
    get: (id) => generations.find((g) => g.id === id),
    async approve(id) {
      fake.calls.push(`approve ${id}`);
      if (fake.failWith) throw fake.failWith;
      const held = find(id);
      if (held.status !== "held") throw new ConflictError(`generation ${id} is ${held.status}; only a held generation can be approved`);
      return replace({ ...held, status: "pushed", reason: "approved" });
    },
    async rollback(id) {
      fake.calls.push(`rollback ${id}`);
      if (fake.failWith) throw fake.failWith;
      const target = find(id);
      if (target.status !== "pushed" && target.status !== "rolled-back") {
        throw new ConflictError(`generation ${id} is ${target.status}; only a pushed or rolled-back generation can be rolled back to`);
      }
      const current = [...generations].reverse().find((g) => g.status === "pushed");
      if (current) replace({ ...current, status: "rolled-back", reason: "rolled back" });
      const next = generation({ id: generations.length + 1, status: "pushed", source: "rollback", from: id, reason: `rollback to generation ${id}`, diff: diff(current?.id, {}) });
      generations.push(next);
      return next;
    },
  };
  return fake;
}

export const STORE_DOWN = new UnavailableError("audit trail cannot be written: disk full");

/** A PushGuard for `serve` tests that never starts a real server: GenerationControl from the fake, the rest inert. */
export function createFakePushGuard(generations: GenerationControl = createFakeGenerations([])): PushGuard {
  return { ...generations, offer: async () => undefined, onReply: () => undefined, prepare: () => undefined, settled: async () => undefined, close: async () => undefined };
}
