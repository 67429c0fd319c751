import type { ClientStatus, TypeStatus } from "../xds/index.js";
import { cell } from "./table.js";

/** The most subscribed names a status row lists before `+N more`. */
export const SUBSCRIBED_NAMES_SHOWN = 3;
/** The longest a subscribed name is shown in a row. */
const NAME_CHARS = 40;
/** Resource types in the order a client resolves them. */
export const TYPE_ORDER = ["LDS", "RDS", "CDS", "EDS"];

/** `*`, `greeter`, or `a, b, c +7 more`: the first SUBSCRIBED_NAMES_SHOWN names of a type's subscription, each clipped. */
export function describeSubscribed(status: TypeStatus): string {
  const total = status.subscribedCount ?? status.subscribed.length;
  if (total === 0) return "-";
  const shown = status.subscribed.slice(0, SUBSCRIBED_NAMES_SHOWN).map(short);
  const more = total - shown.length;
  return cell(`${shown.join(", ")}${more > 0 ? ` +${more} more` : ""}`);
}

/** Each name the client subscribed to that its served snapshot lacks, with the types it asked for it under (in TYPE_ORDER), name order. */
export function unknownNamesOf(client: ClientStatus): { readonly name: string; readonly types: readonly string[] }[] {
  const byName = new Map<string, string[]>();
  const types = Object.keys(client.types).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const type of types) {
    for (const name of client.types[type]!.unknown ?? []) {
      const list = byName.get(name);
      if (list) list.push(type);
      else byName.set(name, [type]);
    }
  }
  return [...byName.keys()].sort().map((name) => ({ name, types: byName.get(name)! }));
}

/** `node-1 (s3) unknown: gretter (LDS, CDS), foo (EDS)`, one line; undefined when the client asks for no unknown name. */
export function describeUnknown(client: ClientStatus): string | undefined {
  const unknown = unknownNamesOf(client);
  if (unknown.length === 0) return undefined;
  const more = Object.values(client.types).reduce((sum, t) => sum + Math.max(0, (t.unknownCount ?? 0) - (t.unknown?.length ?? 0)), 0);
  const each = unknown.map((u) => `${short(u.name)} (${u.types.join(", ")})`).join(", ");
  return cell(`${client.nodeId || "(no node id)"} (${client.streamId}) unknown: ${each}${more > 0 ? ` and ${more} more` : ""}`);
}

export function rank(type: string): number {
  const index = TYPE_ORDER.indexOf(type);
  return index === -1 ? TYPE_ORDER.length : index;
}

function short(name: string): string {
  return name.length > NAME_CHARS ? `${name.slice(0, NAME_CHARS - 1)}…` : name;
}
