import type { Command } from "commander";
// model.ts, not the guard index: it holds only types and constants, so the CLI does not load the guard.
import { GENERATION_STATUSES, SHORT_TYPES, type Generation, type GenerationDiff, type GenerationStatus } from "../../guard/model.js";
import { allGenerations } from "../admin-pages.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { grpcCodeName } from "../grpc-codes.js";
import { integerIn, oneOfValues } from "../parse.js";
import { cell, formatTable } from "../table.js";

interface GenerationsOptions {
  readonly admin: string;
  readonly status?: GenerationStatus;
  readonly limit?: number;
  readonly json?: boolean;
}

const HEADER = ["ID", "STATUS", "REVISION", "CREATED", "CHANGES", "REASON"];
/** Services with endpoint changes named in CHANGES; the rest are counted. */
const MAX_SERVICES_SHOWN = 3;

/**
 * `steadymesh generations [--status S] [--limit N]`: the push guard's audit
 * trail, oldest first, one row per generation; under a row, indented, each
 * problem that held or rejected it and the canary NACK that stopped it.
 * `--json` prints the admin API's answer as is.
 */
export function addGenerationsCommand(program: Command, context: CliContext): void {
  const command = program
    .command("generations")
    .description("list the push guard's generations: what each changed, and whether it was pushed, held, rejected, in canary or rolled back")
    .option("--status <status>", `only generations with this status: ${GENERATION_STATUSES.join(", ")}`, oneOfValues(GENERATION_STATUSES))
    .option("--limit <n>", "only the newest N, 1-1000", integerIn(1, 1000))
    .option("--json", "print the admin API's JSON answer instead of a table");
  withAdminOption(command).action(async (options: GenerationsOptions) => {
    const client = adminClient(options);
    let answer: { generations: Generation[] };
    if (options.limit !== undefined) {
      const query = new URLSearchParams();
      if (options.status !== undefined) query.set("status", options.status);
      query.set("limit", String(options.limit));
      answer = await client.request<{ generations: Generation[] }>("GET", `/v1/generations?${query.toString()}`);
    } else {
      answer = { generations: await allGenerations(client, options.status) };
    }
    if (options.json) {
      context.print(JSON.stringify(answer, null, 2));
      return;
    }
    if (answer.generations.length === 0) {
      context.print(options.status === undefined ? "no generations yet" : `no ${options.status} generations`);
      return;
    }
    for (const line of formatGenerations(answer.generations)) context.print(line);
  });
}

/** The table, with each generation's detail lines right under its row. */
export function formatGenerations(generations: readonly Generation[]): string[] {
  const [header = "", ...rows] = formatTable(HEADER, generations.map(rowOf));
  return [header, ...rows.flatMap((row, i) => [row, ...detailsOf(generations[i]!)])];
}

function rowOf(generation: Generation): string[] {
  return [
    String(generation.id),
    generation.status,
    String(generation.revision),
    generation.createdAt,
    describeChanges(generation.diff),
    cell(generation.reason),
  ];
}

/**
 * `LDS -2 CDS -2 EDS ~1; greeter 10→1`: per resource type the names added
 * (+), removed (-) and changed (~), then per service its endpoint count
 * before → after; `-` when nothing changed.
 */
export function describeChanges(diff: GenerationDiff): string {
  const types = SHORT_TYPES.flatMap((type) => {
    const { added, removed, changed } = diff.types[type];
    const counts = [["+", added.length], ["-", removed.length], ["~", changed.length]] as const;
    const parts = counts.filter(([, n]) => n > 0).map(([sign, n]) => `${sign}${n}`);
    return parts.length === 0 ? [] : [`${type} ${parts.join(" ")}`];
  });
  const services = Object.entries(diff.endpoints)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, endpoints]) => `${name} ${endpoints.before}→${endpoints.after}`);
  const hidden = services.length - MAX_SERVICES_SHOWN;
  const shown = hidden > 0 ? [...services.slice(0, MAX_SERVICES_SHOWN), `+${hidden} more`] : services;
  return cell([types.join(" "), shown.join(", ")].filter((part) => part !== "").join("; "));
}

/** Indented lines under a row: each problem (`  EDS/greeter: …`), then the canary NACK. */
function detailsOf(generation: Generation): string[] {
  const problems = generation.problems.map((issue) => `  ${cell(issue.path ? `${issue.path}: ${issue.message}` : issue.message)}`);
  const { nack } = generation;
  if (!nack) return problems;
  const detail = `${grpcCodeName(nack.errorDetail.code)}: ${nack.errorDetail.message}`;
  return [...problems, `  ${cell(`NACK from ${nack.nodeId} (${nack.type}, stream ${nack.streamId}) at ${nack.at}: ${detail}`)}`];
}
