import type { Clock } from "../clock/index.js";
import { ConflictError, NotFoundError, type Issue } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Codec } from "../proto/index.js";
import type { GenerationLog } from "../registry/index.js";
import type { Snapshot } from "../snapshot/index.js";
import type { ClientReply, ClientStatus, SnapshotCache } from "../xds/index.js";
import { assessBlastRadius } from "./blast-radius.js";
import { startCanary, type Canary } from "./canary.js";
import { diffSnapshots } from "./diff.js";
import { drainStep } from "./drain.js";
import { createGenerationStore } from "./generation-store.js";
import { GenerationBook } from "./generation-book.js";
import type { CanaryNack, Generation, GenerationControl, GenerationStatus, GuardPolicy, RolloutPolicy } from "./model.js";
import { validateSnapshot } from "./validate.js";

export interface PushGuardDeps {
  /** Where generations are kept (the Store's log): the audit trail and the snapshots to roll back to. */
  readonly log: GenerationLog;
  /** Where pushed and canary snapshots go; clients read it through the xDS server. */
  readonly cache: SnapshotCache;
  readonly codec: Codec;
  readonly policy: GuardPolicy;
  readonly rollout: RolloutPolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Connected xDS clients, for the canary's "every canary client ACKed" check. */
  readonly clients: () => readonly ClientStatus[];
}

/** The push guard: snapshot source → [guard] → snapshot cache. */
export interface PushGuard extends GenerationControl {
  /** A new candidate snapshot from the source; decided (pushed, held, rejected or put in canary) in arrival order. */
  offer(snapshot: Snapshot): Promise<void>;
  /** Feed every client ACK/NACK here (the canary watches them). */
  onReply(reply: ClientReply): void;
  /** Resolves when every decision so far is made and recorded; for tests and shutdown. */
  settled(): Promise<void>;
  /** Stops timers; the cache keeps what it has. */
  close(): Promise<void>;
}

/** Generations kept in the audit trail (plus the one clients have and any held or in canary). */
const KEEP_GENERATIONS = 200;

/**
 * Starts the push guard. Reads the stored generations first and puts the last
 * pushed one back into the cache, so after a restart clients get exactly what
 * they had before, and a generation held before the restart stays held: the
 * registry's snapshot is compared with the last pushed generation, not
 * pushed blindly.
 */
export async function createPushGuard(deps: PushGuardDeps): Promise<PushGuard> {
  const store = createGenerationStore(deps.log, deps.logger);
  const book = new GenerationBook(await store.load(), () => new Date(deps.clock.now()).toISOString());
  const { logger, metrics, codec, policy } = deps;
  let baseline: { gen: Generation; snapshot: Snapshot } | undefined;
  let canary: Canary | undefined;
  let cancelDrain: (() => void) | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  /** Runs decisions one at a time, in call order; a failure rejects that call only. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(() => (closed ? Promise.reject(new Error("push guard is closed")) : fn()));
    // The caller gets the failure through `run`; the queue only needs to move on.
    queue = run.catch(() => undefined);
    return run;
  }

  async function save(gen: Generation, snapshot?: Snapshot): Promise<Generation> {
    await store.save(gen, snapshot);
    book.put(gen);
    return gen;
  }

  async function pushToAll(gen: Generation, snapshot: Snapshot, detail: string): Promise<Generation> {
    const pushed = book.withStatus(gen, "pushed", detail);
    await store.savePushed(pushed, snapshot, () => {
      book.put(pushed);
      deps.cache.setSnapshot(snapshot, gen.id);
    });
    canary?.end();
    canary = undefined;
    baseline = { gen: pushed, snapshot };
    metrics?.generationPushed.set(gen.id);
    metrics?.generationCanary.set(0);
    logger.info({ generation: gen.id, revision: gen.revision, version: gen.version, why: detail }, "generation pushed to every client");
    return pushed;
  }

  /** Sends `gen` through the canary group when there is one, else to everyone. */
  async function rollOut(gen: Generation, snapshot: Snapshot, detail: string): Promise<Generation> {
    if (deps.rollout.canary.length === 0 || !baseline) return pushToAll(gen, snapshot, detail);
    canary?.end();
    const started = await save(book.withStatus(gen, "canary", `${detail}; canary for ${deps.rollout.bakeMs} ms`), snapshot);
    canary = startCanary(
      {
        cache: deps.cache,
        clock: deps.clock,
        policy: deps.rollout,
        clients: deps.clients,
        onPromote: () => void serial(() => promote(gen.id)).catch((err) => logger.error({ err, generation: gen.id }, "promoting the canary failed")),
        onNack: (nack) => void serial(() => canaryNacked(gen.id, nack)).catch((err) => logger.error({ err, generation: gen.id }, "recording the canary NACK failed")),
      },
      gen.id,
      snapshot,
    );
    metrics?.generationCanary.set(gen.id);
    logger.info({ generation: gen.id, bakeMs: deps.rollout.bakeMs }, "generation in canary");
    return started;
  }

  async function promote(id: number): Promise<void> {
    const gen = book.get(id);
    if (!gen || gen.status !== "canary" || canary?.generation !== id) return;
    const snapshot = await store.snapshot(gen);
    if (!snapshot) throw new Error(`the snapshot of generation ${id} is missing`);
    canary = undefined;
    await pushToAll(gen, snapshot, "promoted: every canary client ACKed and the bake time passed with no NACK");
  }

  async function canaryNacked(id: number, nack: CanaryNack): Promise<void> {
    const gen = book.get(id);
    if (!gen) return;
    if (canary?.generation === id) canary = undefined;
    metrics?.generationCanary.set(0);
    const reason = `canary NACK from ${nack.nodeId} (${nack.type}): ${nack.errorDetail.message}`;
    await save({ ...book.withStatus(gen, "held", `rolled back in the canary group; ${reason}`), reason, nack });
    hold("canary-nack", id, reason);
  }

  function hold(rule: string, id: number, reason: string): void {
    metrics?.guardHolds.inc({ rule });
    metrics?.guardHolding.set(1);
    logger.warn({ generation: id, rule, reason }, "generation held; clients keep the last pushed generation");
  }

  /** Older held generations are moot once a newer decision is made. */
  async function supersedeHeld(by: Generation): Promise<void> {
    for (const old of book.openHolds()) {
      if (old.id === by.id) continue;
      await save({ ...old, supersededBy: by.id, reason: `superseded by generation ${by.id}`, history: [...old.history, book.event("held", `superseded by generation ${by.id}`)] });
    }
    if (book.openHolds().length === 0) {
      metrics?.guardHolding.set(0);
      cancelDrain?.();
      cancelDrain = undefined;
    }
  }

  async function endCanaryFor(by: Generation, status: GenerationStatus = "rolled-back"): Promise<void> {
    if (!canary) return;
    const gen = book.get(canary.generation);
    canary.end();
    canary = undefined;
    metrics?.generationCanary.set(0);
    if (gen) await save({ ...book.withStatus(gen, status, `superseded by generation ${by.id} before promotion`), supersededBy: by.id });
  }

  async function decide(snapshot: Snapshot): Promise<void> {
    if (baseline && snapshot.version === baseline.snapshot.version) {
      // The source is back where clients are: holds and canaries are moot.
      if (canary) await endCanaryFor(baseline.gen);
      await supersedeHeld(baseline.gen);
      return;
    }
    if (book.alreadyDecided(snapshot.version)) return;
    const diff = diffSnapshots(codec, baseline?.snapshot, snapshot, baseline?.gen.id);
    const draft = book.draft({ revision: snapshot.revision, version: snapshot.version, diff, source: "registry" });
    const problems = validateSnapshot(codec, snapshot);
    if (problems.length > 0) return reject(draft, problems);
    if (!baseline) {
      await pushToAll(draft, snapshot, "the first generation");
      metrics?.generations.inc({ status: "pushed" });
      return;
    }
    const violations = book.pinnedBy(baseline.gen) ? [pinnedIssue(baseline.gen)] : assessBlastRadius(codec, baseline.snapshot, snapshot, diff, policy);
    if (violations.length > 0) return holdGeneration(draft, snapshot, violations);
    await supersedeHeld(draft);
    await endCanaryFor(draft);
    const out = await rollOut(draft, snapshot, "passed the guard");
    metrics?.generations.inc({ status: out.status });
  }

  async function reject(draft: Generation, problems: Issue[]): Promise<void> {
    const first = problems[0]!;
    const reason = `rejected: ${problems.length} problem${problems.length === 1 ? "" : "s"} a stock client would NACK; first: ${first.path}: ${first.message}`;
    await save({ ...book.withStatus(draft, "rejected", reason), reason, problems });
    await supersedeHeld(draft);
    metrics?.generations.inc({ status: "rejected" });
    logger.error({ generation: draft.id, revision: draft.revision, problems }, "generation rejected; it is never sent and clients keep the last pushed generation");
  }

  async function holdGeneration(draft: Generation, snapshot: Snapshot, violations: Issue[]): Promise<void> {
    const reason = `held: ${violations.map((v) => v.message).join("; ")}`;
    const held = await save({ ...book.withStatus(draft, "held", reason), reason, problems: violations }, snapshot);
    await supersedeHeld(held);
    metrics?.generations.inc({ status: "held" });
    for (const v of violations) hold(ruleOf(v), held.id, `${v.path}: ${v.message}`);
    scheduleDrain();
  }

  /** Releases a held drain one step per interval; whole-service removals and the last endpoint wait for approval. */
  function scheduleDrain(): void {
    cancelDrain?.();
    cancelDrain = undefined;
    if (!policy.enabled || !baseline || book.pinnedBy(baseline.gen)) return;
    cancelDrain = deps.clock.setTimeout(() => {
      cancelDrain = undefined;
      void serial(drainOnce).catch((err) => logger.error({ err }, "drain step failed"));
    }, policy.drainIntervalMs);
  }

  async function drainOnce(): Promise<void> {
    const held = book.openHolds().at(-1);
    if (!held || !baseline || held.nack) return;
    if (canary) return scheduleDrain();
    const candidate = await store.snapshot(held);
    if (!candidate) return;
    const step = drainStep(codec, baseline.snapshot, candidate, policy, held.revision);
    if (!step) {
      logger.info({ generation: held.id }, "drain: nothing more can be released without approval");
      return;
    }
    if (step === candidate) {
      await rollOut(held, candidate, "released: the drain reached it");
      await supersedeHeld(held);
      return;
    }
    const diff = diffSnapshots(codec, baseline.snapshot, step, baseline.gen.id);
    const draft = book.draft({ revision: held.revision, version: step.version, diff, source: "drain", from: held.id });
    await save({ ...held, history: [...held.history, book.event("held", `drain step released as generation ${draft.id}`)] });
    await rollOut(draft, step, `drain step toward held generation ${held.id}`);
    scheduleDrain();
  }

  async function approve(id: number): Promise<Generation> {
    const gen = book.get(id);
    if (!gen) throw new NotFoundError(`generation ${id} not found (GET /v1/generations lists them)`);
    if (gen.status !== "held") throw new ConflictError(`generation ${id} is ${gen.status}; only a held generation can be approved`);
    if (gen.supersededBy !== undefined) throw new ConflictError(`generation ${id} was superseded by generation ${gen.supersededBy}; approve that one if it is held`);
    const snapshot = await store.snapshot(gen);
    if (!snapshot) throw new ConflictError(`generation ${id} has no stored snapshot to push`);
    cancelDrain?.();
    cancelDrain = undefined;
    logger.warn({ generation: id }, "held generation approved");
    // After a canary NACK the canary group has refused it once already: an approval sends it to everyone.
    const out = gen.nack ? await pushToAll(gen, snapshot, "approved after a canary NACK; sent to every client") : await rollOut(gen, snapshot, "approved");
    if (book.openHolds().length === 0) metrics?.guardHolding.set(0);
    return out;
  }

  async function rollback(id: number): Promise<Generation> {
    const target = book.get(id);
    if (!target) throw new NotFoundError(`generation ${id} not found (GET /v1/generations lists them)`);
    if (!target.history.some((e) => e.status === "pushed")) {
      throw new ConflictError(`generation ${id} was never pushed (it is ${target.status}); roll back to a generation that was`);
    }
    if (baseline && baseline.gen.version === target.version && !canary) {
      throw new ConflictError(`every client already has generation ${id}'s configuration (as generation ${baseline.gen.id})`);
    }
    const snapshot = await store.snapshot(target);
    if (!snapshot) throw new ConflictError(`the snapshot of generation ${id} is no longer kept`);
    const diff = diffSnapshots(codec, baseline?.snapshot, snapshot, baseline?.gen.id);
    const draft = book.draft({ revision: target.revision, version: target.version, diff, source: "rollback", from: id });
    const replaced = baseline?.gen;
    await endCanaryFor(draft);
    const pushed = await pushToAll(draft, snapshot, `rollback to generation ${id}`);
    if (replaced) await save(book.withStatus(book.get(replaced.id) ?? replaced, "rolled-back", `replaced by generation ${draft.id}, a rollback to generation ${id}`));
    await supersedeHeld(draft);
    logger.warn({ generation: draft.id, to: id }, "rolled back; new generations are held until one is approved");
    return pushed;
  }

  async function restore(): Promise<void> {
    const last = book.latestWith("pushed");
    // Newest first: a crash between a push's record and its resources leaves the newest without a snapshot.
    for (const gen of book.all().filter((g) => g.status === "pushed").reverse()) {
      const snapshot = await store.snapshot(gen);
      if (!snapshot) {
        logger.warn({ generation: gen.id }, "a pushed generation's snapshot is not stored; trying the one before it");
        continue;
      }
      baseline = { gen, snapshot };
      deps.cache.setSnapshot(snapshot, gen.id);
      metrics?.generationPushed.set(gen.id);
      logger.info({ generation: gen.id, revision: gen.revision, newestPushed: last?.id }, "serving the last pushed generation from the audit trail");
      break;
    }
    if (last && !baseline) logger.warn({ generation: last.id }, "no pushed generation's snapshot is stored; the next one from the registry is pushed unchecked");
    const inCanary = book.latestWith("canary");
    if (inCanary && baseline && inCanary.id > baseline.gen.id) {
      const snapshot = await store.snapshot(inCanary);
      if (snapshot) await rollOut(inCanary, snapshot, "canary restarted after a control-plane restart");
    }
    if (book.openHolds().length > 0) {
      metrics?.guardHolding.set(1);
      scheduleDrain();
    }
  }

  async function prune(): Promise<void> {
    if (book.size <= KEEP_GENERATIONS + 50) return;
    const keep = new Set(book.all().slice(-KEEP_GENERATIONS).map((g) => g.id));
    if (baseline) keep.add(baseline.gen.id);
    for (const g of book.openHolds()) keep.add(g.id);
    if (canary) keep.add(canary.generation);
    await store.retain(keep);
    book.retain(keep);
  }

  await restore();

  return {
    offer: (snapshot) => serial(async () => {
      await decide(snapshot);
      await prune();
    }),
    onReply: (reply) => canary?.onReply(reply),
    list: () => book.all(),
    get: (id) => book.get(id),
    approve: (id) => serial(() => approve(id)),
    rollback: (id) => serial(() => rollback(id)),
    settled: () => serial(async () => undefined),
    async close() {
      // Let the decision in progress finish (its failure was reported to its caller).
      await queue;
      closed = true;
      cancelDrain?.();
      canary?.end();
    },
  };
}

function pinnedIssue(current: Generation): Issue {
  return { path: "guard", message: `pinned to generation ${current.id} (a rollback to generation ${current.from}); approve a generation to resume pushes` };
}

/** The metric label of a guard violation. */
function ruleOf(issue: Issue): string {
  if (issue.path === "guard") return "pinned";
  if (issue.path === "LDS" || issue.path === "CDS") return "resource-removal";
  return issue.message.includes("no endpoints") ? "zero-endpoints" : "endpoint-removal";
}
