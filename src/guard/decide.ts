import type { Issue } from "../errors/index.js";
import { ENDPOINT_TYPE, type Codec } from "../proto/index.js";
import type { Resource, Snapshot } from "../snapshot/index.js";
import { blackHoleReason, newBlackHoles } from "./black-holes.js";
import { blastRadiusViolations, type BlastRadiusRule } from "./blast-radius.js";
import { diffSnapshots, endpointChange } from "./diff.js";
import type { GenerationDiff, GuardPolicy } from "./model.js";
import { strictHoldReason, type ConnectedNode } from "./mtls-readiness.js";
import { servicesTurningStrict } from "./strict-turn.js";
import { validateSnapshot } from "./validate.js";

/** Why a candidate goes out: it is the first generation, it passed every rule, or the guard's holds are off. */
export type PushRule = "first" | "passed" | "guard-off";
/**
 * Why a generation is held. `pinned`: the clients' generation is a rollback,
 * and new generations wait for an approval; the blast-radius rules; and
 * `mtls-readiness`, a service turned strict while connected nodes that call
 * or serve it have no certificates (mtls-readiness.ts); `black-hole`, a
 * route of a traffic policy newly sends traffic to a subset without
 * endpoints (black-holes.ts); and `canary-nack`,
 * which the executor applies when a canary client NACKs (decide never
 * returns it).
 */
export type HoldRule = "pinned" | BlastRadiusRule | "black-hole" | "mtls-readiness" | "canary-nack";
/** Why a candidate is never sent: a stock client would NACK it. */
export type RejectRule = "invalid";
/** The rule behind a decision; a hold's rule is the `rule` label of steadymesh_guard_holds_total. */
export type DecisionRule = PushRule | HoldRule | RejectRule;

/** One reason to hold, with the rule that found it. */
export interface HoldProblem extends Issue {
  readonly rule: Exclude<HoldRule, "canary-nack">;
}

/**
 * What the guard does with a candidate. `diff` is what it changes against the
 * baseline (every resource added when there is none). A hold lists every
 * violation (LDS, CDS, then EDS by service; or the pin alone) and its `rule`
 * is the first one's; a reject lists every validation problem.
 */
export type Decision =
  | { readonly kind: "push"; readonly rule: PushRule; readonly diff: GenerationDiff; readonly problems: readonly [] }
  | { readonly kind: "hold"; readonly rule: Exclude<HoldRule, "canary-nack">; readonly diff: GenerationDiff; readonly problems: readonly HoldProblem[] }
  | { readonly kind: "reject"; readonly rule: RejectRule; readonly diff: GenerationDiff; readonly problems: readonly Issue[] };

/** The generation every client has now. */
export interface Baseline {
  readonly id: number;
  readonly snapshot: Snapshot;
  /** Set when this generation is a rollback (to generation `rollbackOf`): the guard is pinned until an approval. */
  readonly rollbackOf?: number;
}

/** What the rules read. */
export interface DecideSettings {
  readonly codec: Codec;
  readonly policy: GuardPolicy;
  /**
   * The xDS clients connected now (the facts the mtls-readiness rule reads);
   * called only when the candidate turns a service strict. None: no node is
   * known, so that rule never holds.
   */
  readonly connected?: (() => readonly ConnectedNode[]) | undefined;
}

/**
 * The push guard's rules, in order, for `candidate` where `baseline` is
 * served (undefined: nothing was pushed yet):
 * 1. validation problems (what a stock client would NACK) → reject `invalid`;
 * 2. no baseline → push `first`;
 * 3. baseline is a rollback → hold `pinned`, even with the holds off;
 * 4. holds off (`policy.enabled` false) → push `guard-off`;
 * 5. blast-radius violations → hold, rule of the first violation; black
 *    holes, routes that newly send traffic to a subset without endpoints
 *    and routes that newly send traffic to a subset without endpoints →
 *    hold `black-hole` (after any blast-radius violation, in one list);
 * 6. a service turns strict while a connected node that calls or serves it
 *    has no certificates → hold `mtls-readiness`, the reason naming them;
 * 7. otherwise push `passed`.
 * Pure: the same inputs (and connected nodes) give the same decision. Throws what the codec throws
 * when a ClusterLoadAssignment does not decode (diffSnapshots).
 */
export function decide(baseline: Baseline | undefined, candidate: Snapshot, settings: DecideSettings): Decision {
  const { codec, policy } = settings;
  const diff = diffSnapshots(codec, baseline?.snapshot, candidate, baseline?.id);
  const problems = validateSnapshot(codec, candidate);
  if (problems.length > 0) return { kind: "reject", rule: "invalid", diff, problems };
  if (!baseline) return { kind: "push", rule: "first", diff, problems: [] };
  if (baseline.rollbackOf !== undefined) {
    const message = `pinned to generation ${baseline.id} (a rollback to generation ${baseline.rollbackOf}); approve a generation to resume pushes`;
    return { kind: "hold", rule: "pinned", diff, problems: [{ path: "guard", message, rule: "pinned" }] };
  }
  if (!policy.enabled) return { kind: "push", rule: "guard-off", diff, problems: [] };
  const holes = newBlackHoles(codec, baseline.snapshot, candidate, diff).map((hole): HoldProblem => ({ path: `RDS/${hole.service}`, message: blackHoleReason(hole), rule: "black-hole" }));
  const violations: HoldProblem[] = [...blastRadiusViolations(codec, baseline.snapshot, candidate, diff, policy), ...holes];
  const [first] = violations;
  if (first) return { kind: "hold", rule: first.rule, diff, problems: violations };
  const strict = settings.connected ? servicesTurningStrict(codec, baseline.snapshot, candidate) : [];
  const reason = strict.length > 0 && settings.connected ? strictHoldReason(strict, settings.connected()) : undefined;
  if (reason !== undefined) return { kind: "hold", rule: "mtls-readiness", diff, problems: [{ path: "CDS", message: reason, rule: "mtls-readiness" }] };
  return { kind: "push", rule: "passed", diff, problems: [] };
}

/**
 * The per-resource work of deciding on a snapshot built from `step` against
 * `baseline` (what clients have), done ahead so the caller can spread it
 * over event-loop turns (the spine's stepped builds): `step` is validated
 * (results are remembered per resource, and the next validation derives from
 * this one), and the endpoint change of each ClusterLoadAssignment that
 * changed since `before` is worked out against `baseline` (remembered per
 * pair). decide() gives the same decision with or without it. Never throws.
 */
export function prepareDecision(codec: Codec, baseline: Snapshot | undefined, before: Snapshot | undefined, step: Snapshot): void {
  validateSnapshot(codec, step);
  const warm = (name: string, resource: Resource): void => {
    try {
      endpointChange(codec, baseline?.resources[ENDPOINT_TYPE].get(name), resource);
    } catch {
      // decide() reports it.
    }
  };
  if (before) step.resources[ENDPOINT_TYPE].diffFrom(before.resources[ENDPOINT_TYPE], { added: warm, changed: (name, _was, is) => warm(name, is), removed: () => undefined });
  else for (const [name, resource] of step.resources[ENDPOINT_TYPE]) warm(name, resource);
}
