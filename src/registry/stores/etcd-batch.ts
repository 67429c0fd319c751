import { randomUUID } from "node:crypto";
import type { Etcd3 } from "etcd3";
import { UnavailableError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import type { ChangeEvent, CommitResult, Mutation } from "../store.js";
import { applyMutations } from "./apply.js";
import { commitPoint, PlanUnion, planReads, readOps, recordEvents, storeRevision, type CommitRecord, type ReadPlan, type RegistryKeys } from "./etcd-commit.js";
import { draftFrom, writeOps, writeOpsBound, type DraftTables } from "./etcd-draft.js";
import { op, rangeAt, txn } from "./etcd-kv.js";
import type { ItemOutcome } from "./group-commit.js";

/**
 * etcd's default `--max-txn-ops`: a txn holds at most this many operations,
 * reads included. A batch is cut so that its read and its write each fit; a
 * single commit that does not fit alone is sent anyway and refused by etcd.
 */
const MAX_TXN_OPS = 128;
/** Below etcd's default request limit (1.5 MiB), with room for the keys and framing. */
const MAX_TXN_BYTES = 1024 * 1024;
/**
 * Batches that keep losing the race against other replicas give up after
 * this many tries; each try is two round trips, so this is rarely reached.
 */
const MAX_ATTEMPTS = 50;

export interface BatchContext {
  readonly client: Etcd3;
  readonly keys: RegistryKeys;
  readonly logger: Logger;
  readonly ensureOpen: () => void;
}

/** What one commit of a batch came to, before etcd confirmed the batch. */
type Drafted = ItemOutcome<CommitResult>;

/** One try at a batch. */
type Attempt =
  | { readonly kind: "done"; readonly outcomes: readonly Drafted[] }
  /** Another replica's batch landed between the read and the write. */
  | { readonly kind: "raced"; readonly outcomes: readonly Drafted[] }
  /** An earlier try of this batch landed, though its answer was lost (etcd3 retried the txn, which then found its own write). */
  | { readonly kind: "landed" };

/** The commits of `batch` whose reads fit one txn, with their plans; a commit whose mutations are malformed fails at once. */
function planBatch(batch: readonly (readonly Mutation[])[]): { plans: (ReadPlan | Error)[]; merged: ReadPlan } {
  const plans: (ReadPlan | Error)[] = [];
  const union = new PlanUnion();
  for (const mutations of batch) {
    let plan: ReadPlan;
    try {
      plan = planReads(mutations);
    } catch (error) {
      plans.push(error as Error);
      continue;
    }
    if (union.wouldCount(plan) > MAX_TXN_OPS && plans.some((p) => !(p instanceof Error))) break;
    plans.push(plan);
    union.add(plan);
  }
  return { plans, merged: union.plan() };
}

/**
 * Applies each commit to the shared draft in order, each in its own undo
 * mark, so commit i sees commits before it and a commit that throws undoes
 * only itself. Stops before the commit that would make the write txn too
 * large (never before the first that changes something). Revisions are the
 * store's own: base + 1 for the first changing commit, and so on.
 */
function applyBatch(draft: DraftTables, batch: readonly (readonly Mutation[])[], plans: readonly (ReadPlan | Error)[], base: number) {
  const outcomes: Drafted[] = [];
  const changed: ChangeEvent[][] = [];
  // The record holds every event, and each put's value is also an op's value: twice the events' JSON bounds the txn's bytes.
  let eventBytes = 0;
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i]!;
    if (plan instanceof Error) {
      outcomes.push({ ok: false, error: plan });
      continue;
    }
    const mark = draft.mark();
    let events: ChangeEvent[];
    try {
      events = applyMutations(draft, batch[i]!, base + changed.length + 1);
    } catch (error) {
      draft.rollback(mark);
      outcomes.push({ ok: false, error });
      continue;
    }
    const bytes = events.length > 0 ? JSON.stringify(events).length : 0;
    if (events.length > 0 && changed.length > 0 && (writeOpsBound(draft) + 1 > MAX_TXN_OPS || 2 * (eventBytes + bytes) > MAX_TXN_BYTES)) {
      draft.rollback(mark);
      break;
    }
    eventBytes += bytes;
    if (events.length > 0) changed.push(events);
    outcomes.push({ ok: true, value: { revision: base + changed.length, events } });
  }
  return { outcomes, changed };
}

/**
 * One try at a batch: read what its commits touch in one txn, work them out
 * on one draft, and write them in one txn guarded by the commit key's mod
 * revision, so it applies only if no other batch landed since the read.
 * `id` marks the batch's record, so a later try can tell that an earlier one
 * landed. Returns outcomes for a leading part of `batch`.
 */
async function tryBatch(context: BatchContext, batch: readonly (readonly Mutation[])[], id: string): Promise<Attempt> {
  const { client, keys } = context;
  const { plans, merged } = planBatch(batch);
  const read = await txn(client, readOps(keys, merged));
  const point = commitPoint(rangeAt(read, 0)[0]);
  if (point.id === id) return { kind: "landed" };
  const draft = draftFrom(keys, merged, read);
  const { outcomes, changed } = applyBatch(draft, batch, plans, storeRevision(point));
  if (changed.length === 0) return { kind: "done", outcomes };
  const record: CommitRecord = { id, revision: storeRevision(point) + changed.length, commits: changed.map(recordEvents) };
  const written = await txn(client, [...writeOps(keys, draft), op.put(keys.commit, JSON.stringify(record))], [{ key: keys.commit, modRevision: point.modRevision }]);
  return { kind: written.succeeded ? "done" : "raced", outcomes };
}

/**
 * Writes a batch of commits (each a list of mutations) in as few etcd txns
 * as their size allows, usually one: tries until the batch lands or needs no
 * change. Each commit keeps its own atomicity (a ValidationError or
 * ConflictError fails that commit alone) and its own store revision; every
 * outcome is final only once etcd has taken the txn. Rejects (failing the
 * whole batch) when etcd fails or the batch keeps losing races.
 */
export async function writeEtcdBatch(context: BatchContext, batch: readonly (readonly Mutation[])[]): Promise<readonly Drafted[]> {
  const id = randomUUID();
  let tried: readonly Drafted[] = [];
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    context.ensureOpen();
    const outcome = await tryBatch(context, batch, id);
    if (outcome.kind === "done") return outcome.outcomes;
    if (outcome.kind === "landed") return tried;
    tried = outcome.outcomes;
    context.logger.debug({ attempt, commits: batch.length }, "etcd batch raced another replica's commit; reading again");
  }
  throw new UnavailableError(`etcd commit gave up after ${MAX_ATTEMPTS} tries: other replicas kept committing first`);
}
