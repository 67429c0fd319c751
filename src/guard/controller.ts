import type { Clock } from "../clock/index.js";
import { ConflictError, NotFoundError, type Issue } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Codec } from "../proto/index.js";
import type { GenerationLog } from "../registry/index.js";
import type { Snapshot } from "../snapshot/index.js";
import { DEFAULT_GROUP, type ClientReply, type ClientStatus, type SnapshotCache } from "../xds/index.js";
import { startCanary, type Canary } from "./canary.js";
import { decide, prepareDecision, type Baseline, type HoldProblem, type HoldRule } from "./decide.js";
import { diffSnapshots } from "./diff.js";
import { drainStep } from "./drain.js";
import { createGenerationStore } from "./generation-store.js";
import { GenerationBook } from "./generation-book.js";
import { RETENTION_DEFAULTS, type CanaryNack, type Generation, type GenerationControl, type GuardPolicy, type RetentionPolicy, type RolloutPolicy } from "./model.js";
import { createSerialQueue } from "./serial-queue.js";
import { canaryOf, heldOf, settledState, stepOf, type GuardState, type Served } from "./guard-state.js";

export interface PushGuardDeps {
  /** Where generations are kept (a GenerationLog, which each storage backend keeps beside its Store): the audit trail and the snapshots to roll back to. */
  readonly log: GenerationLog;
  /** Where pushed and canary snapshots go; clients read it through the xDS server. */
  readonly cache: SnapshotCache;
  readonly codec: Codec;
  readonly policy: GuardPolicy;
  readonly rollout: RolloutPolicy;
  /** Which generations the log keeps (`--keep-generations`, `--keep-generations-max-age-ms`); RETENTION_DEFAULTS when absent. */
  readonly retention?: RetentionPolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** The xDS server's clients, for the canary's "every canary client ACKed" check, and their replies. */
  readonly clientStatus: ClientStatusSource;
  /**
   * Told of each generation once its record is made or changes (a new
   * status, a superseded hold), after it is stored; the web console's live
   * events. It cannot change a decision: a throw is logged and ignored.
   */
  readonly onGeneration?: (generation: Generation) => void;
}

/**
 * What the guard knows of connected xDS clients, given when it is built (the
 * xDS server is made first and is read through this).
 */
export interface ClientStatusSource {
  /** Every connected client, with the generation each type last got and ACKed. */
  clients(): readonly ClientStatus[];
  /**
   * Calls `listener` with every client ACK and NACK until the returned
   * function is called. Without it, replies reach the guard only through
   * PushGuard.onReply.
   */
  watchReplies?(listener: (reply: ClientReply) => void): () => void;
}

/** The push guard: snapshot source → [guard] → snapshot cache. */
export interface PushGuard extends GenerationControl {
  /** A new candidate snapshot from the source; decided (pushed, held, rejected or put in canary) in arrival order. */
  offer(snapshot: Snapshot): Promise<void>;
  /** One client ACK/NACK, for a ClientStatusSource without watchReplies (the canary watches them). */
  onReply(reply: ClientReply): void;
  /**
   * Work ahead on a candidate to come: `step` is an unpublished step of a
   * stepped build (the spine's), `before` the step or snapshot before it.
   * Changes no decision; only makes the next one cheaper (prepareDecision).
   */
  prepare(before: Snapshot | undefined, step: Snapshot): void;
  /** Resolves when every decision so far is made and recorded; for tests and shutdown. */
  settled(): Promise<void>;
  /** Stops timers; the cache keeps what it has. */
  close(): Promise<void>;
}

/** Generations beyond the retention count before a prune runs: pruning every push would cost a retain each. */
const PRUNE_SLACK = 50;

/**
 * Starts the push guard. Reads the stored generations first and puts the last
 * pushed one back into the cache, so after a restart clients get exactly what
 * they had before, and a generation held before the restart stays held: the
 * registry's snapshot is compared with the last pushed generation, not
 * pushed blindly. Each decision is decide()'s; this executor records it,
 * moves the state and drives the cache, one operation at a time.
 */
export async function createPushGuard(deps: PushGuardDeps): Promise<PushGuard> {
  const store = createGenerationStore(deps.log, deps.logger);
  const book = new GenerationBook(await store.load(), () => new Date(deps.clock.now()).toISOString());
  const { logger, metrics, codec, policy } = deps;
  const retention = deps.retention ?? RETENTION_DEFAULTS;
  const queue = createSerialQueue(() => state.kind === "closed");
  let state: GuardState = { kind: "empty" };

  // ---- The state and its transitions ---------------------------------------

  /** Moves to `next`: ends the canary and cancels the drain timer that `next` does not keep, and sets the gauges. */
  function enter(next: GuardState): void {
    const prev = state;
    state = next;
    if (canaryOf(prev) !== canaryOf(next)) canaryOf(prev)?.end();
    if (stepOf(prev) !== stepOf(next)) stepOf(prev)?.();
    if (next.kind === "empty" || next.kind === "closed") return;
    metrics?.generationPushed.set(next.served.gen.id);
    metrics?.generationCanary.set(canaryOf(next)?.generation ?? 0);
    metrics?.guardHolding.set(heldOf(next) === undefined ? 0 : 1);
    metrics?.generationsHeld.set(book.openHolds().length);
  }

  /** The state for `served`, `canary` and a pending drain step, with the book's newest open hold; a step with nothing to drain is cancelled. */
  function settle(served: Served, canary?: Canary, cancelStep?: () => void): GuardState {
    return settledState(served, book.openHolds().at(-1), canary, cancelStep);
  }

  /** Settles again after the book's holds changed, keeping the canary and the drain timer. */
  function resettle(): void {
    if (state.kind !== "empty" && state.kind !== "closed") enter(settle(state.served, canaryOf(state), stepOf(state)));
  }

  function servedNow(): Served | undefined {
    return state.kind === "empty" || state.kind === "closed" ? undefined : state.served;
  }

  /** Starts the timer of the next drain step, when a drain may run at all (holds on, not pinned). */
  function nextStep(served: Served): (() => void) | undefined {
    if (!policy.enabled || book.pinnedBy(served.gen)) return undefined;
    return deps.clock.setTimeout(() => void queue.run(drainOnce).catch((err) => logger.error({ err }, "drain step failed")), policy.drainIntervalMs);
  }

  // ---- Records ---------------------------------------------------------------

  async function save(gen: Generation, snapshot?: Snapshot): Promise<Generation> {
    await store.save(gen, snapshot);
    record(gen);
    return gen;
  }

  /** Puts `gen` in the book and tells onGeneration. */
  function record(gen: Generation): void {
    book.put(gen);
    if (!deps.onGeneration) return;
    try {
      deps.onGeneration(gen);
    } catch (err) {
      logger.error({ err, generation: gen.id }, "a generation listener failed; the guard goes on");
    }
  }

  function countHold(rule: HoldRule, id: number, reason: string): void {
    metrics?.guardHolds.inc({ rule });
    logger.warn({ generation: id, rule, reason }, "generation held; clients keep the last pushed generation");
  }

  /** Older held generations are moot once a newer decision is made (the caller settles the state). */
  async function supersedeHeld(by: Generation): Promise<void> {
    for (const old of book.openHolds()) {
      if (old.id === by.id) continue;
      await save({ ...old, supersededBy: by.id, reason: `superseded by generation ${by.id}`, history: [...old.history, book.event("held", `superseded by generation ${by.id}`)] });
    }
  }

  /** Ends the canary, if any, recording its generation as rolled back in favour of `by`. */
  async function endCanaryFor(by: Generation): Promise<void> {
    const canary = canaryOf(state);
    if (!canary) return;
    canary.end();
    const gen = book.get(canary.generation);
    if (gen) await save({ ...book.withStatus(gen, "rolled-back", `superseded by generation ${by.id} before promotion`), supersededBy: by.id });
  }

  // ---- Pushes ----------------------------------------------------------------

  /**
   * Sends `gen` to every client: its record is durable before any client sees
   * it, and its resources (thousands of rows, written synchronously by
   * SQLite) are written once the event loop has had a turn to hand the
   * responses to the sockets. `keepStep`: a drain timer that goes on.
   */
  async function pushToAll(gen: Generation, snapshot: Snapshot, detail: string, keepStep?: () => void): Promise<Generation> {
    const pushed = book.withStatus(gen, "pushed", detail);
    await store.saveRecord(pushed, snapshot);
    record(pushed);
    deps.cache.setSnapshot(DEFAULT_GROUP, snapshot, gen.id);
    enter(settle({ gen: pushed, snapshot }, undefined, keepStep));
    logger.info({ generation: gen.id, revision: gen.revision, version: gen.version, why: detail }, "generation pushed to every client");
    await new Promise<void>((resolve) => setImmediate(resolve));
    await store.saveResources(pushed, snapshot);
    return pushed;
  }

  /** Sends `gen` through the canary group when there is one, else to everyone. */
  async function rollOut(gen: Generation, snapshot: Snapshot, detail: string): Promise<Generation> {
    const served = servedNow();
    if (deps.rollout.canary.length === 0 || !served) return pushToAll(gen, snapshot, detail);
    // Before the new canary starts: ending the old one clears the cache's canary group.
    canaryOf(state)?.end();
    const started = await save(book.withStatus(gen, "canary", `${detail}; canary for ${deps.rollout.bakeMs} ms`), snapshot);
    const canary = startCanary(
      {
        cache: deps.cache,
        clock: deps.clock,
        policy: deps.rollout,
        clients: () => deps.clientStatus.clients(),
        onPromote: () => void queue.run(() => promote(gen.id)).catch((err) => logger.error({ err, generation: gen.id }, "promoting the canary failed")),
        onNack: (nack) => void queue.run(() => canaryNacked(gen.id, nack)).catch((err) => logger.error({ err, generation: gen.id }, "recording the canary NACK failed")),
      },
      gen.id,
      snapshot,
    );
    enter(settle(served, canary, stepOf(state)));
    logger.info({ generation: gen.id, bakeMs: deps.rollout.bakeMs }, "generation in canary");
    return started;
  }

  async function promote(id: number): Promise<void> {
    const gen = book.get(id);
    if (!gen || gen.status !== "canary" || canaryOf(state)?.generation !== id) return;
    const snapshot = await store.snapshot(gen);
    if (!snapshot) throw new Error(`the snapshot of generation ${id} is missing`);
    await pushToAll(gen, snapshot, "promoted: every canary client ACKed and the bake time passed with no NACK", stepOf(state));
  }

  async function canaryNacked(id: number, nack: CanaryNack): Promise<void> {
    const gen = book.get(id);
    if (!gen) return;
    const reason = `canary NACK from ${nack.nodeId} (${nack.type}): ${nack.errorDetail.message}`;
    await save({ ...book.withStatus(gen, "held", `rolled back in the canary group; ${reason}`), reason, nack });
    countHold("canary-nack", id, reason);
    const served = servedNow();
    const canary = canaryOf(state);
    if (served) enter(settle(served, canary?.generation === id ? undefined : canary, stepOf(state)));
  }

  // ---- Decisions -------------------------------------------------------------

  async function offer(snapshot: Snapshot): Promise<void> {
    const served = servedNow();
    if (served && snapshot.version === served.snapshot.version) {
      // The source is back where clients are: holds and canaries are moot.
      await endCanaryFor(served.gen);
      await supersedeHeld(served.gen);
      enter(settle(served));
      return;
    }
    if (book.alreadyDecided(snapshot.version)) return;
    const decision = decide(served && baselineOf(served), snapshot, { codec, policy, connected: () => deps.clientStatus.clients() });
    const draft = book.draft({ revision: snapshot.revision, version: snapshot.version, diff: decision.diff, source: "registry" });
    if (decision.kind === "reject") return reject(draft, decision.problems);
    if (decision.kind === "hold") return holdGeneration(draft, snapshot, decision.problems);
    if (decision.rule === "first") {
      await pushToAll(draft, snapshot, "the first generation");
      metrics?.generations.inc({ status: "pushed" });
      return;
    }
    await supersedeHeld(draft);
    await endCanaryFor(draft);
    const out = await rollOut(draft, snapshot, "passed the guard");
    metrics?.generations.inc({ status: out.status });
  }

  function baselineOf(served: Served): Baseline {
    const { gen, snapshot } = served;
    return book.pinnedBy(gen) ? { id: gen.id, snapshot, rollbackOf: gen.from ?? gen.id } : { id: gen.id, snapshot };
  }

  async function reject(draft: Generation, problems: readonly Issue[]): Promise<void> {
    const first = problems[0]!;
    const reason = `rejected: ${problems.length} problem${problems.length === 1 ? "" : "s"} a stock client would NACK; first: ${first.path}: ${first.message}`;
    await save({ ...book.withStatus(draft, "rejected", reason), reason, problems });
    await supersedeHeld(draft);
    resettle();
    metrics?.generations.inc({ status: "rejected" });
    logger.error({ generation: draft.id, revision: draft.revision, problems }, "generation rejected; it is never sent and clients keep the last pushed generation");
  }

  async function holdGeneration(draft: Generation, snapshot: Snapshot, problems: readonly HoldProblem[]): Promise<void> {
    const reason = `held: ${problems.map((p) => p.message).join("; ")}`;
    const issues = problems.map(({ path, message }) => ({ path, message }));
    const held = await save({ ...book.withStatus(draft, "held", reason), reason, problems: issues }, snapshot);
    await supersedeHeld(held);
    metrics?.generations.inc({ status: "held" });
    for (const p of problems) countHold(p.rule, held.id, `${p.path}: ${p.message}`);
    const served = servedNow();
    if (served) enter(settle(served, canaryOf(state), nextStep(served)));
  }

  /** Releases one step of the newest held drain; whole-service removals and the last endpoint wait for approval. */
  async function drainOnce(): Promise<void> {
    if (state.kind === "empty" || state.kind === "closed") return;
    const { served } = state;
    const held = book.openHolds().at(-1);
    // The timer that called this has fired: each way out sets the next one or none.
    if (!held || held.nack) return enter(settle(served, canaryOf(state)));
    if (state.kind === "canary") return enter(settle(served, state.canary, nextStep(served)));
    const candidate = await store.snapshot(held);
    if (!candidate) return enter(settle(served));
    const step = drainStep(codec, served.snapshot, candidate, policy, held.revision);
    if (!step) {
      logger.info({ generation: held.id }, "drain: nothing more can be released without approval");
      return enter(settle(served));
    }
    if (step === candidate) {
      await rollOut(held, candidate, "released: the drain reached it");
      await supersedeHeld(held);
      return resettle();
    }
    const diff = diffSnapshots(codec, served.snapshot, step, served.gen.id);
    const draft = book.draft({ revision: held.revision, version: step.version, diff, source: "drain", from: held.id });
    await save({ ...held, history: [...held.history, book.event("held", `drain step released as generation ${draft.id}`)] });
    await rollOut(draft, step, `drain step toward held generation ${held.id}`);
    const now = servedNow();
    if (now) enter(settle(now, canaryOf(state), nextStep(now)));
  }

  // ---- Operator actions ------------------------------------------------------

  async function approve(id: number): Promise<Generation> {
    const gen = book.get(id);
    if (!gen) throw new NotFoundError(`generation ${id} not found (GET /v1/generations lists them)`);
    if (gen.status !== "held") throw new ConflictError(`generation ${id} is ${gen.status}; only a held generation can be approved`);
    if (gen.supersededBy !== undefined) throw new ConflictError(`generation ${id} was superseded by generation ${gen.supersededBy}; approve that one if it is held`);
    const snapshot = await store.snapshot(gen);
    if (!snapshot) throw new ConflictError(`generation ${id} has no stored snapshot to push`);
    const served = servedNow();
    if (served) enter(settle(served, canaryOf(state)));
    logger.warn({ generation: id }, "held generation approved");
    // After a canary NACK the canary group has refused it once already: an approval sends it to everyone.
    return gen.nack ? pushToAll(gen, snapshot, "approved after a canary NACK; sent to every client") : rollOut(gen, snapshot, "approved");
  }

  async function rollback(id: number): Promise<Generation> {
    const target = book.get(id);
    if (!target) throw new NotFoundError(`generation ${id} not found (GET /v1/generations lists them)`);
    if (!target.history.some((e) => e.status === "pushed")) {
      throw new ConflictError(`generation ${id} was never pushed (it is ${target.status}); roll back to a generation that was`);
    }
    const served = servedNow();
    if (served && served.gen.version === target.version && !canaryOf(state)) {
      throw new ConflictError(`every client already has generation ${id}'s configuration (as generation ${served.gen.id})`);
    }
    const snapshot = await store.snapshot(target);
    if (!snapshot) throw new ConflictError(`the snapshot of generation ${id} is no longer kept`);
    const diff = diffSnapshots(codec, served?.snapshot, snapshot, served?.gen.id);
    const draft = book.draft({ revision: target.revision, version: target.version, diff, source: "rollback", from: id });
    await endCanaryFor(draft);
    const pushed = await pushToAll(draft, snapshot, `rollback to generation ${id}`);
    const replaced = served && (book.get(served.gen.id) ?? served.gen);
    if (replaced) await save(book.withStatus(replaced, "rolled-back", `replaced by generation ${draft.id}, a rollback to generation ${id}`));
    await supersedeHeld(draft);
    resettle();
    logger.warn({ generation: draft.id, to: id }, "rolled back; new generations are held until one is approved");
    return pushed;
  }

  // ---- Start and upkeep ------------------------------------------------------

  async function restore(): Promise<void> {
    const last = book.latestWith("pushed");
    // Newest first: a crash between a push's record and its resources leaves the newest without a snapshot.
    for (const gen of book.all().filter((g) => g.status === "pushed").reverse()) {
      const snapshot = await store.snapshot(gen);
      if (!snapshot) {
        logger.warn({ generation: gen.id }, "a pushed generation's snapshot is not stored; trying the one before it");
        continue;
      }
      deps.cache.setSnapshot(DEFAULT_GROUP, snapshot, gen.id);
      enter(settle({ gen, snapshot }));
      logger.info({ generation: gen.id, revision: gen.revision, newestPushed: last?.id }, "serving the last pushed generation from the audit trail");
      break;
    }
    const served = servedNow();
    if (last && !served) logger.warn({ generation: last.id }, "no pushed generation's snapshot is stored; the next one from the registry is pushed unchecked");
    if (!served) return;
    const inCanary = book.latestWith("canary");
    if (inCanary && inCanary.id > served.gen.id) {
      const snapshot = await store.snapshot(inCanary);
      if (snapshot) await rollOut(inCanary, snapshot, "canary restarted after a control-plane restart");
    }
    const now = servedNow();
    if (now && book.openHolds().length > 0) enter(settle(now, canaryOf(state), nextStep(now)));
  }

  async function prune(): Promise<void> {
    const all = book.all();
    const cutoff = retention.maxAgeMs > 0 ? deps.clock.now() - retention.maxAgeMs : undefined;
    const tooOld = (g: Generation): boolean => cutoff !== undefined && Date.parse(g.createdAt) < cutoff;
    // Pruning is a pass over the log: run it once the count is well over, or once the oldest is past the age limit.
    if (all.length <= retention.keep + PRUNE_SLACK && !(all[0] && tooOld(all[0]))) return;
    const keep = new Set(all.slice(-retention.keep).filter((g) => !tooOld(g)).map((g) => g.id));
    const served = servedNow();
    if (served) keep.add(served.gen.id);
    for (const g of book.openHolds()) keep.add(g.id);
    const canary = canaryOf(state);
    if (canary) keep.add(canary.generation);
    await store.retain(keep);
    book.retain(keep);
  }

  await restore();
  const stopReplies = deps.clientStatus.watchReplies?.((reply) => canaryOf(state)?.onReply(reply));

  return {
    offer: (snapshot) => queue.run(async () => {
      const started = performance.now();
      await offer(snapshot);
      metrics?.guardDecision.observe((performance.now() - started) / 1000);
      await prune();
    }),
    onReply: (reply) => canaryOf(state)?.onReply(reply),
    prepare: (before, step) => prepareDecision(codec, servedNow()?.snapshot, before, step),
    list: () => book.all(),
    get: (id) => book.get(id),
    approve: (id) => queue.run(() => approve(id)),
    rollback: (id) => queue.run(() => rollback(id)),
    settled: () => queue.run(async () => undefined),
    async close() {
      // Let the decision in progress finish (its failure was reported to its caller).
      await queue.idle();
      stopReplies?.();
      enter({ kind: "closed" });
    },
  };
}
