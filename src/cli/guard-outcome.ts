import type { Command } from "commander";
import { createSystemClock, type Clock } from "../clock/index.js";
import type { Generation } from "../guard/model.js";
import type { AdminClient } from "./admin-client.js";
import type { CliContext } from "./context.js";
import { integerIn } from "./parse.js";

/**
 * How long `register` and `deregister` wait, by default, for the push guard
 * to decide on their write. The server builds a generation once registry
 * changes have been quiet for `serve --push-min-delay-ms` (100 ms by
 * default), so 2 s covers it with room to spare.
 */
export const DEFAULT_WAIT_MS = 2000;
const POLL_MS = 100;
/** Generations created since the write are the newest few; a busy server may add some of its own (drain steps). */
const RECENT = 20;

/** Adds `--wait-ms MS` to a command that writes to the registry. */
export function withWaitOption(command: Command): Command {
  return command.option(
    "--wait-ms <ms>",
    "wait up to this long for the push guard's decision on the change, and say so when it is held or rejected, 0-60000; 0 does not wait",
    integerIn(0, 60_000),
    DEFAULT_WAIT_MS,
  );
}

/**
 * What became of registry revision `revision` at the push guard, as a tail
 * for the command's line: `; held in generation 9: removes 2 of 2 endpoints
 * of greeter (100% > 50%) — see …`, the same for `rejected`, and "" when it
 * was pushed (or is in canary), when no generation covered it within
 * `waitMs` (a change clients would not see, or a long push delay), or when
 * the server lists no generations. The write has succeeded either way, so a
 * failure to ask is not an error: the tail is then "".
 */
export async function guardOutcome(client: AdminClient, revision: number, waitMs: number, clock: Clock): Promise<string> {
  const deadline = clock.now() + waitMs;
  for (;;) {
    const recent = await recentGenerations(client);
    // A server without generations (or one that cannot list them) has no decision to report.
    if (recent === undefined || recent.length === 0) return "";
    // The first registry generation at or after the write is the one built from it (or with it and later writes).
    const covering = recent.find((g) => g.source === "registry" && g.revision >= revision);
    if (covering) return describe(covering, revision, recent);
    if (clock.now() + POLL_MS > deadline) return "";
    await new Promise<void>((resolve) => clock.setTimeout(resolve, POLL_MS));
  }
}

/** Prints `line` with the guard's outcome appended, after waiting up to `waitMs` for it. */
export async function printWithOutcome(context: CliContext, client: AdminClient, line: string, revision: number, waitMs: number): Promise<void> {
  const tail = waitMs > 0 ? await guardOutcome(client, revision, waitMs, context.io.clock ?? createSystemClock()) : "";
  context.print(`${line}${tail}`);
}

async function recentGenerations(client: AdminClient): Promise<readonly Generation[] | undefined> {
  try {
    const answer = await client.request<{ generations?: unknown }>("GET", `/v1/generations?limit=${RECENT}`);
    return Array.isArray(answer.generations) ? (answer.generations as Generation[]) : undefined;
  } catch {
    // The write succeeded; a server that cannot list generations (older, or failing now) only means there is no outcome to add.
    return undefined;
  }
}

/**
 * The tail for the generation that covers the write. A hold that a newer
 * generation superseded is followed to that generation; one superseded by an
 * older generation means the registry went back to what clients have, so
 * there is nothing to report.
 */
function describe(generation: Generation, revision: number, recent: readonly Generation[]): string {
  if (generation.supersededBy !== undefined) {
    if (generation.supersededBy < generation.id) return "";
    const next = recent.find((g) => g.id === generation.supersededBy);
    if (next) return describe(next, revision, recent);
    return `; ${generation.status} in generation ${generation.id}, since superseded by generation ${generation.supersededBy} — see 'steadymesh generations'`;
  }
  const where = generation.revision === revision ? `generation ${generation.id}` : `generation ${generation.id} (revision ${generation.revision}, with later changes)`;
  if (generation.status === "held") {
    return `; held in ${where}: ${withoutPrefix(generation.reason, "held: ")} — see 'steadymesh generations', approve with 'steadymesh approve ${generation.id}'`;
  }
  if (generation.status === "rejected") {
    return `; rejected in ${where}: ${withoutPrefix(generation.reason, "rejected: ")}; clients keep the last pushed generation — see 'steadymesh generations'`;
  }
  return "";
}

function withoutPrefix(text: string, prefix: string): string {
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}
