import type { Clock } from "../clock/index.js";
import { shortTypeName } from "../proto/index.js";
import type { Snapshot } from "../snapshot/index.js";
import { DEFAULT_GROUP, type ClientReply, type ClientStatus, type NodeInfo, type SnapshotCache } from "../xds/index.js";
import type { CanaryNack, NodeSelector, RolloutPolicy } from "./model.js";
import { selectsNode } from "./selectors.js";

/** The snapshot cache's group of the clients a rollout's selectors pick. */
export const CANARY_GROUP = "canary";

/**
 * The snapshot cache's `groupOf` for a rollout policy: the nodes its canary
 * selectors pick are in CANARY_GROUP, everyone else in the default group.
 * The guard fills CANARY_GROUP while a canary bakes and clears it after; in
 * between its clients get the default group's snapshot.
 */
export function canaryGroupOf(policy: Pick<RolloutPolicy, "canary">): (node: NodeInfo) => string {
  const selectors = policy.canary;
  return (node) => (selectors.length > 0 && selectsNode(selectors, node) ? CANARY_GROUP : DEFAULT_GROUP);
}

/** After the bake time, how often to look again for canary clients that have not ACKed yet. */
const SETTLE_POLL_MS = 250;

export interface CanaryDeps {
  readonly cache: SnapshotCache;
  readonly clock: Clock;
  readonly policy: RolloutPolicy;
  /** Every connected client, with the generation each type last got and ACKed. */
  readonly clients: () => readonly ClientStatus[];
  /** Every canary client ACKed the generation and the bake time passed with no NACK. */
  readonly onPromote: () => void;
  /** A canary client NACKed the generation; the canary has already ended (its clients are back on the last pushed generation). */
  readonly onNack: (nack: CanaryNack) => void;
}

/** One generation being tried on the canary group. */
export interface Canary {
  readonly generation: number;
  /** Feed every client ACK/NACK here. */
  onReply(reply: ClientReply): void;
  /**
   * Stops the canary: its clients go back to everyone's snapshot. After a
   * promotion the canary group keeps the generation until end() is called,
   * so call it once everyone's snapshot is the promoted one. Idempotent; a
   * no-op after a NACK (the group is back already).
   */
  end(): void;
}

/**
 * Serves `snapshot` (generation `generation`) to the clients the rollout's
 * selectors pick, and reaches exactly one verdict: promote, once the bake time
 * has passed and every canary client connected then has ACKed every response
 * of this generation it was sent (a client the generation changes nothing for
 * has nothing to ACK); or NACK, at the first canary client's NACK of a
 * response from this generation. No canary client at all: promoted after the
 * bake time.
 */
export function startCanary(deps: CanaryDeps, generation: number, snapshot: Snapshot): Canary {
  const selectors = deps.policy.canary;
  // baking → promoted (the group still has it) → over; or baking → over (a NACK or end()).
  let phase: "baking" | "promoted" | "over" = "baking";
  let baked = false;
  let cancelTimer = deps.clock.setTimeout(() => {
    baked = true;
    check();
  }, deps.policy.bakeMs);
  // The cache was built with canaryGroupOf(policy): the group is the clients the selectors pick.
  deps.cache.setSnapshot(CANARY_GROUP, snapshot, generation);

  function check(): void {
    if (phase !== "baking" || !baked) return;
    if (settled(deps.clients(), selectors, generation)) {
      phase = "promoted";
      cancelTimer();
      deps.onPromote();
      return;
    }
    cancelTimer = deps.clock.setTimeout(check, SETTLE_POLL_MS);
  }

  return {
    generation,
    onReply(reply) {
      if (phase !== "baking" || reply.tag !== generation || !selectsNode(selectors, reply.node)) return;
      if (!reply.nack) {
        check();
        return;
      }
      phase = "over";
      cancelTimer();
      deps.cache.clearSnapshot(CANARY_GROUP);
      deps.onNack({
        at: new Date(deps.clock.now()).toISOString(),
        nodeId: reply.node.id,
        streamId: reply.streamId,
        type: shortTypeName(reply.typeUrl),
        errorDetail: { code: reply.nack.code, message: reply.nack.message },
      });
    },
    end() {
      if (phase === "over") return;
      phase = "over";
      cancelTimer();
      deps.cache.clearSnapshot(CANARY_GROUP);
    },
  };
}

/** Every canary client has ACKed each response of `generation` it was sent. */
function settled(clients: readonly ClientStatus[], selectors: readonly NodeSelector[], generation: number): boolean {
  for (const client of clients) {
    if (!selectsNode(selectors, { id: client.nodeId, cluster: client.cluster, metadata: client.metadata })) continue;
    for (const type of Object.values(client.types)) {
      if (type.sentGeneration === generation && type.ackedGeneration !== generation) return false;
    }
  }
  return true;
}
