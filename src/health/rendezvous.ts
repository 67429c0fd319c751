import { createHash } from "node:crypto";
import type { Members } from "../registry/index.js";
import type { Ownership } from "./ownership.js";

/** A member's weight for `key`: the first 48 bits of sha256(member NUL key). */
function weight(member: string, key: string): number {
  return createHash("sha256").update(`${member}\0${key}`).digest().readUIntBE(0, 6);
}

/**
 * Rendezvous (highest-random-weight) hashing: the member with the highest
 * weight for `key` owns it; ties go to the smaller id. The same members always
 * give the same owner, and removing a member moves only the keys it owned.
 * Undefined when `members` is empty.
 */
export function rendezvousOwner(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const w = weight(member, key);
    if (w > bestWeight || (w === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = w;
    }
  }
  return best;
}

/**
 * Ownership shared out among live replicas: instance `service/id` belongs to
 * its rendezvous owner among `members.list()`. When the set changes (a
 * replica's lease expired, or a replica joined), subscribers hear of it and
 * the monitor moves checks and TTLs accordingly.
 */
export function createRendezvousOwnership(members: Members): Ownership {
  return {
    owns: (service, id) => rendezvousOwner(`${service}/${id}`, members.list()) === members.self,
    subscribe: (onChange) => members.onChange(onChange),
  };
}
