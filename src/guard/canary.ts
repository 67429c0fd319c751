import type { Clock } from "../clock/index.js";
import { shortTypeName } from "../proto/index.js";
import type { Snapshot } from "../snapshot/index.js";
import type { ClientReply, ClientStatus, SnapshotCache } from "../xds/index.js";
import type { CanaryNack, NodeSelector, RolloutPolicy } from "./model.js";
import { selectsNode } from "./selectors.js";

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
  deps.cache.setCanary({ snapshot, generation, selects: (node) => selectsNode(selectors, node) });

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
      if (phase !== "baking" || reply.generation !== generation || !selectsNode(selectors, reply.node)) return;
      if (!reply.nack) {
        check();
        return;
      }
      phase = "over";
      cancelTimer();
      deps.cache.setCanary(undefined);
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
      deps.cache.setCanary(undefined);
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
