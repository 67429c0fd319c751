import { execFile } from "node:child_process";

/** One resource record as dig prints it. */
export interface DigRecord {
  readonly name: string;
  readonly ttl: number;
  readonly type: string;
  /** The record data as dig prints it, e.g. `0 1 50051 a.greeter.service.mesh.`. */
  readonly data: string;
}

export interface DigResult {
  /** NOERROR, NXDOMAIN, REFUSED… */
  readonly status: string;
  /** Header flags: qr, aa, tc, rd, ra. */
  readonly flags: readonly string[];
  readonly answer: readonly DigRecord[];
  readonly authority: readonly DigRecord[];
  readonly additional: readonly DigRecord[];
  /** Which transport gave the answer dig printed, from its `;; SERVER:` line. */
  readonly transport: "UDP" | "TCP" | undefined;
  /** dig said it retried over TCP after a truncated UDP answer. */
  readonly retriedOverTcp: boolean;
  readonly output: string;
}

/**
 * Runs the real `dig` against 127.0.0.1:`port` and parses its output.
 * Recursion is not asked for unless `args` says `+recurse`; one try, 2 s.
 */
export function dig(port: number, args: readonly string[]): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile("dig", ["@127.0.0.1", "-p", String(port), "+norecurse", "+tries=1", "+time=2", ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`dig ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(parseDig(stdout));
    });
  });
}

function parseDig(output: string): DigResult {
  // After a TC retry dig prints the UDP exchange's header too; the last one is the answer it kept.
  const headers = [...output.matchAll(/->>HEADER<<- opcode: \w+, status: (\w+), id: \d+\n;; flags:([^;]*);/g)];
  const last = headers.at(-1);
  if (!last) throw new Error(`no DNS header in dig output:\n${output}`);
  const finalPart = output.slice(last.index);
  return {
    status: last[1]!,
    flags: last[2]!.trim().split(/\s+/).filter(Boolean),
    answer: section(finalPart, "ANSWER"),
    authority: section(finalPart, "AUTHORITY"),
    additional: section(finalPart, "ADDITIONAL"),
    transport: /;; SERVER: .*\((UDP|TCP)\)/.exec(output)?.[1] as "UDP" | "TCP" | undefined,
    retriedOverTcp: output.includes("Truncated, retrying in TCP mode"),
    output,
  };
}

function section(output: string, name: string): DigRecord[] {
  const match = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(output);
  if (!match) return [];
  return match[1]!
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith(";"))
    .map((line) => {
      const [name, ttl, , type, ...data] = line.trim().split(/\s+/);
      return { name: name!, ttl: Number(ttl), type: type!, data: data.join(" ") };
    });
}
