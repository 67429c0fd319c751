import { InvalidArgumentError, type Command } from "commander";
import { MAX_TOKEN_TTL_MS, MIN_TOKEN_TTL_MS, parseScope, SCOPE_FORMS, type IssuedToken, type Scope, type TokenInfo } from "../../auth/index.js";
import { segment } from "../admin-client.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { dnsLabel } from "../parse.js";
import { cell, formatTable } from "../table.js";

interface CreateOptions {
  readonly admin: string;
  readonly scope: Scope;
  readonly name?: string;
  readonly ttl?: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `12h`, `7d`: a token lifetime from 1 s to 3650 d, in ms. */
export function tokenTtl(value: string): number {
  const match = /^(\d{1,7})([smhd])$/.exec(value.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : Number.NaN;
  if (!(ms >= MIN_TOKEN_TTL_MS && ms <= MAX_TOKEN_TTL_MS)) throw new InvalidArgumentError("It must be a duration such as 90s, 30m, 12h or 7d, from 1s to 3650d.");
  return ms;
}

function scopeArgument(value: string): Scope {
  try {
    return parseScope(value);
  } catch {
    // parseScope's ValidationError says the same; commander wants its own error type to name the flag.
    throw new InvalidArgumentError(`It must be ${SCOPE_FORMS}.`);
  }
}

/**
 * `steadymesh token create|list|revoke` (README, "Security → admin API
 * tokens"). `create` prints the new token alone on one line of stdout, the
 * only time it is shown; `list` shows names, scopes and times, never secrets.
 */
export function addTokenCommands(program: Command, context: CliContext): void {
  const token = program.command("token").description("create, list and revoke admin API tokens (needs an operator token)");
  const create = token
    .command("create")
    .description("create a token and print it alone on one line (it is never shown again)")
    .requiredOption("--scope <scope>", `what the token may do: ${SCOPE_FORMS}`, scopeArgument)
    .option("--name <name>", "a unique name, a DNS label (default: token-<random>)", dnsLabel)
    .option("--ttl <duration>", "expire after this long, e.g. 90s, 30m, 12h, 7d (default: never)", tokenTtl);
  withAdminOption(create).action(async (options: CreateOptions) => {
    const body = { scope: options.scope, ...(options.name !== undefined && { name: options.name }), ...(options.ttl !== undefined && { ttlMs: options.ttl }) };
    const issued = await adminClient(options).request<IssuedToken>("POST", "/v1/tokens", body, { scope: "--scope", name: "--name", ttlMs: "--ttl" });
    context.print(issued.token);
  });
  const list = token.command("list").description("list tokens: name, scope, created, expires (never the secrets)");
  withAdminOption(list).action(async (options: { admin: string }) => {
    const { tokens } = await adminClient(options).request<{ tokens: TokenInfo[] }>("GET", "/v1/tokens");
    const rows = tokens.map((t) => [t.name, t.scope, t.createdAt, t.expiresAt === undefined ? "never" : `${t.expiresAt}${t.expired ? " (expired)" : ""}`].map(cell));
    for (const line of formatTable(["NAME", "SCOPE", "CREATED", "EXPIRES"], rows)) context.print(line);
  });
  const revoke = token.command("revoke").description("revoke a token by name; requests with it get 401 from then on").argument("<name>", "token name, as 'steadymesh token list' shows it");
  withAdminOption(revoke).action(async (name: string, options: { admin: string }) => {
    await adminClient(options).request<{ revoked: string }>("DELETE", `/v1/tokens/${segment(name)}`);
    context.print(`revoked token ${name}`);
  });
}
