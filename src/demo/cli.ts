import * as grpc from "@grpc/grpc-js";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { SteadyError } from "../errors/index.js";
import type { DiscoverySettings } from "./discovery.js";
import { DEMO_KINDS, DISCOVERY_MODES, type DemoKind, type DiscoveryMode } from "./kinds.js";

/** Everything one demo process is told on its command line. */
export interface DemoConfig {
  readonly kind: DemoKind;
  readonly id: string;
  readonly port: number;
  /** The admin APIs of the control planes to register in (one or more; `--admin`, repeatable). */
  readonly adminUrls: readonly string[];
  /** The token for each of `adminUrls`, same order; undefined where none was found. */
  readonly adminTokens: readonly (string | undefined)[];
  /** Whether to register in steadymesh (never for a gateway). */
  readonly register: boolean;
  /** How login (for a gateway) or accounts (for login) is found; unused by the other kinds. */
  readonly discovery: DiscoveryMode;
  readonly settings: DiscoverySettings;
  /** Deadline of each outbound RPC. */
  readonly deadlineMs: number;
  /** accounts: how many users. */
  readonly users: number;
  /** login and gateway: the shared HMAC secret of session tokens. */
  readonly secret: string;
  /** login: how long a session token lasts. */
  readonly tokenTtlMs: number;
  /** Registered with the instance (`--metadata KEY=VALUE`, repeatable); empty for a gateway. */
  readonly metadata: Readonly<Record<string, string>>;
  /** login: every Login call fails with this code (`--fail NAME`); undefined: served normally. */
  readonly failWith: grpc.status | undefined;
}

interface Flags {
  readonly port: number;
  readonly id?: string;
  readonly admin?: string[];
  readonly adminTokenFile?: string[];
  readonly register?: boolean;
  readonly discovery?: DiscoveryMode;
  readonly xds?: string[];
  readonly nodeId?: string;
  readonly dnsServer?: string;
  readonly dnsDomain?: string;
  readonly dnsRefreshMs?: number;
  readonly cacheDir?: string;
  readonly bootstrap?: string;
  readonly deadlineMs?: number;
  readonly users?: number;
  readonly secret?: string;
  readonly tokenTtlS?: number;
  readonly metadata?: Record<string, string>;
  readonly fail?: grpc.status;
}

const UPSTREAM: Partial<Record<DemoKind, string>> = { login: "accounts", gateway: "login" };
/** The defaults match `steadymesh serve`'s, so a demo finds a control plane started with no flags. */
const DEFAULTS = {
  admin: "http://127.0.0.1:18080",
  xds: "127.0.0.1:18000",
  dnsServer: "127.0.0.1:18053",
  dnsDomain: "mesh",
  dnsRefreshMs: 2000,
  deadlineMs: 1000,
  users: 1000,
  secret: "steadymesh-demo-secret",
  tokenTtlS: 3600,
} as const;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Parses `<kind> [flags]` (argv shaped like process.argv). Resolves with the
 * config, or undefined when help was printed; throws with a one-line message
 * (what is wrong, what is allowed) on bad input.
 */
export async function parseDemoArgs(argv: readonly string[], out: NodeJS.WritableStream, env: NodeJS.ProcessEnv): Promise<DemoConfig | undefined> {
  let config: DemoConfig | undefined;
  const program = new Command("demo")
    .description("a process of steadymesh's demo music backend (login path)")
    .exitOverride()
    .configureOutput({ writeOut: (text) => void out.write(text), writeErr: (text) => void out.write(text), outputError: () => undefined });
  for (const kind of DEMO_KINDS) {
    const command = addKindOptions(program.command(kind).description(describeKind(kind)), kind);
    command.action((flags: Flags) => {
      config = toConfig(kind, flags, env);
    });
  }
  if (argv.length <= 2) throw new SteadyError("invalid-argument", `missing kind; use one of ${DEMO_KINDS.join(", ")} (see --help)`);
  try {
    await program.parseAsync([...argv], { from: "node" });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return undefined;
    if (err instanceof CommanderError) throw new SteadyError("invalid-argument", err.message.replace(/^error:\s*/, "").split("\n")[0]!, { cause: err });
    throw err;
  }
  return config;
}

function describeKind(kind: DemoKind): string {
  switch (kind) {
    case "accounts":
      return "gRPC Accounts: users user0..user{N-1}, password pw-<i>";
    case "login":
      return "gRPC Login: checks a password with accounts, issues a session token";
    case "playback":
      return "gRPC Playback: a stream URL for a logged-in user";
    case "gateway":
      return "HTTP gateway: POST /login, GET /me, GET /healthz (not registered)";
  }
}

function addKindOptions(command: Command, kind: DemoKind): Command {
  command
    .option("--port <port>", "port on 127.0.0.1, 0-65535; 0 picks a free one", integer(0, 65535), 0)
    .option("--id <id>", "instance id, a DNS label (default: <kind>-<pid>)", dnsLabel)
    .option("--admin <url>", `steadymesh admin API; repeat it to register in several control planes (default: ${DEFAULTS.admin})`, (v: string, prev: string[] | undefined) => [...(prev ?? []), httpUrl(v)]);
  command.option(
    "--admin-token-file <file>",
    "file holding the admin API token; one for every --admin, or one per --admin in the same order (default: $STEADYMESH_TOKEN, else ./.steadymesh/admin-token)",
    (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
  );
  if (kind !== "gateway") {
    command.option("--register", "register in steadymesh (the default)").option("--no-register", "do not register in steadymesh");
    command.option("--metadata <key=value>", "instance metadata to register, e.g. version=2; repeatable", metadataPair);
  }
  if (kind === "accounts") command.option("--users <n>", "number of users, 1-1000000", integer(1, 1_000_000), DEFAULTS.users);
  if (kind === "login" || kind === "gateway") addUpstreamOptions(command, UPSTREAM[kind]!);
  if (kind === "login") {
    command.option("--token-ttl-s <s>", "session token lifetime, 1-604800", integer(1, 604_800), DEFAULTS.tokenTtlS);
    command.option("--fail <code>", "fail every Login call with this gRPC status name, e.g. UNAVAILABLE (a bad release, for the lab)", failCode);
  }
  return command;
}

function addUpstreamOptions(command: Command, upstream: string): void {
  command
    .addOption(new Option("--discovery <mode>", `how to find ${upstream}`).choices(DISCOVERY_MODES).default("steady"))
    .option("--xds <host:port...>", `xDS servers for steady mode, in priority order (default: ${DEFAULTS.xds})`, (v: string, prev: string[] | undefined) => [...(prev ?? []), hostPort(v)])
    .option("--node-id <id>", "xDS node id for steady mode (default: the --id)")
    .option("--cache-dir <dir>", "steady mode's last-known-good cache (default: none)")
    .option("--bootstrap <json|file>", "xds mode: bootstrap JSON, or a file holding it (default: GRPC_XDS_BOOTSTRAP[_CONFIG])", bootstrap)
    .option("--dns-server <ip:port>", "steadymesh DNS server (dns mode, playback, steady's fallback)", ipPort, DEFAULTS.dnsServer)
    .option("--dns-domain <domain>", "DNS domain: SRV names are _<service>._tcp.service.<domain>", domain, DEFAULTS.dnsDomain)
    .option("--dns-refresh-ms <ms>", "how often dns mode asks again, 100-60000", integer(100, 60_000), DEFAULTS.dnsRefreshMs)
    .option("--deadline-ms <ms>", "deadline of each outbound RPC, 1-60000", integer(1, 60_000), DEFAULTS.deadlineMs)
    .option("--secret <secret>", "HMAC secret of session tokens, shared by login and gateway", DEFAULTS.secret);
}

function toConfig(kind: DemoKind, flags: Flags, env: NodeJS.ProcessEnv): DemoConfig {
  const id = flags.id ?? `${kind}-${process.pid}`;
  const discovery = flags.discovery ?? "steady";
  if (UPSTREAM[kind] && discovery === "xds" && flags.bootstrap === undefined && !env.GRPC_XDS_BOOTSTRAP && !env.GRPC_XDS_BOOTSTRAP_CONFIG) {
    throw new SteadyError("invalid-argument", "--discovery xds needs a bootstrap: --bootstrap JSON|FILE, or GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG in the environment");
  }
  const adminUrls = flags.admin ?? [DEFAULTS.admin];
  return {
    kind,
    id,
    port: flags.port,
    adminUrls,
    adminTokens: adminTokens(adminUrls.length, flags.adminTokenFile, env),
    register: kind !== "gateway" && flags.register !== false,
    discovery,
    settings: {
      nodeId: flags.nodeId ?? id,
      xdsServers: flags.xds ?? [DEFAULTS.xds],
      dnsServer: flags.dnsServer ?? DEFAULTS.dnsServer,
      dnsDomain: flags.dnsDomain ?? DEFAULTS.dnsDomain,
      dnsRefreshMs: flags.dnsRefreshMs ?? DEFAULTS.dnsRefreshMs,
      ...(flags.cacheDir !== undefined && { cacheDir: flags.cacheDir }),
      ...(flags.bootstrap !== undefined && { bootstrapJson: flags.bootstrap }),
    },
    deadlineMs: flags.deadlineMs ?? DEFAULTS.deadlineMs,
    users: flags.users ?? DEFAULTS.users,
    secret: flags.secret ?? DEFAULTS.secret,
    tokenTtlMs: (flags.tokenTtlS ?? DEFAULTS.tokenTtlS) * 1000,
    metadata: flags.metadata ?? {},
    failWith: flags.fail,
  };
}

/**
 * One token per admin URL: from `--admin-token-file` (one file for all, or
 * one per URL), else STEADYMESH_TOKEN, else ./.steadymesh/admin-token (where
 * `serve` run in the same directory wrote it), else none. The token travels
 * in a file or the environment, never on the command line, where `ps` shows it.
 */
function adminTokens(urls: number, files: readonly string[] | undefined, env: NodeJS.ProcessEnv): (string | undefined)[] {
  if (files !== undefined) {
    if (files.length !== 1 && files.length !== urls) {
      throw new SteadyError("invalid-argument", `--admin-token-file: give one for every --admin, or one per --admin (${urls}), not ${files.length}`);
    }
    const tokens = files.map((file) => readTokenFile(file, true));
    return Array.from({ length: urls }, (_, i) => tokens[files.length === 1 ? 0 : i]);
  }
  const token = env.STEADYMESH_TOKEN?.trim() || readTokenFile(".steadymesh/admin-token", false);
  return Array.from({ length: urls }, () => token);
}

function readTokenFile(file: string, required: boolean): string | undefined {
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch (err) {
    if (!required && (err as { code?: string }).code === "ENOENT") return undefined;
    throw new SteadyError("invalid-argument", `--admin-token-file ${file}: cannot read it (${(err as { code?: string }).code ?? String(err)})`);
  }
}

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`It must be an integer from ${min} to ${max}.`);
    return n;
  };
}

const METADATA_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** `KEY=VALUE` into the record so far; a key given twice is refused (which one was meant?). */
function metadataPair(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = value.indexOf("=");
  const key = at < 0 ? "" : value.slice(0, at);
  if (!METADATA_KEY.test(key)) throw new InvalidArgumentError("It must be KEY=VALUE, KEY 1-63 characters of [A-Za-z0-9._-] starting with a letter or digit, e.g. version=2.");
  if (previous && Object.hasOwn(previous, key)) throw new InvalidArgumentError(`The key "${key}" is given twice; give each key once.`);
  return { ...previous, [key]: value.slice(at + 1) };
}

/** The failing codes by name: every gRPC status but OK. */
const FAIL_CODES = Object.keys(grpc.status).filter((name) => Number.isNaN(Number(name)) && name !== "OK");

function failCode(value: string): grpc.status {
  if (!FAIL_CODES.includes(value)) throw new InvalidArgumentError(`It must be a gRPC status name other than OK: ${FAIL_CODES.join(", ")}.`);
  return grpc.status[value as keyof typeof grpc.status];
}

function dnsLabel(value: string): string {
  if (!DNS_LABEL.test(value)) throw new InvalidArgumentError("It must be a DNS label: [a-z0-9-], 1-63 characters, no hyphen at either end.");
  return value;
}

function domain(value: string): string {
  if (!value.split(".").every((label) => DNS_LABEL.test(label))) throw new InvalidArgumentError("It must be dot-separated DNS labels, e.g. mesh.");
  return value;
}

function httpUrl(value: string): string {
  const ok = URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
  if (!ok) throw new InvalidArgumentError("It must be an http:// or https:// URL, e.g. http://127.0.0.1:18080.");
  return value.replace(/\/+$/, "");
}

function hostPort(value: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new InvalidArgumentError("It must be HOST:PORT, e.g. 127.0.0.1:18000.");
  return value;
}

function ipPort(value: string): string {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value);
  const ip = match?.[1] ?? match?.[2] ?? "";
  if (!match || isIP(ip) === 0 || Number(match[3]) < 1 || Number(match[3]) > 65535) {
    throw new InvalidArgumentError("It must be IP:PORT, e.g. 127.0.0.1:18053 or [::1]:18053.");
  }
  return value;
}

/** JSON text (starting with `{`) or the path of a file holding it; returned as JSON text. */
function bootstrap(value: string): string {
  let text = value;
  if (!value.trimStart().startsWith("{")) {
    try {
      text = readFileSync(value, "utf8");
    } catch (err) {
      throw new InvalidArgumentError(`It must be bootstrap JSON or a readable file (${err instanceof Error ? err.message : String(err)}).`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`It must be bootstrap JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { xds_servers?: unknown }).xds_servers)) {
    throw new InvalidArgumentError("It must be a bootstrap object with an xds_servers list, as `steadymesh bootstrap` prints.");
  }
  return text;
}
