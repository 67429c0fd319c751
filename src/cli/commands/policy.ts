import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { SteadyError, ValidationError } from "../../errors/index.js";
import { documentFromWire, parsePolicyDocuments, policyWire, policyYaml, type PolicyDiff, type PolicyDocument, type PolicyWire } from "../../registry/index.js";
import { segment } from "../admin-client.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { ProblemsError } from "../problems-error.js";
import { printWithOutcome, withWaitOption } from "../guard-outcome.js";
import { dnsLabel } from "../parse.js";

type AdminOptions = { admin: string; token?: string; tokenFile?: string; ca?: string };

/** The wire form of a document: `{service, subsets, routes, …}`, as the policy routes take and give it. */
const wire = policyWire;

/** Longest policy file read (standard input included): far beyond any real policy, short of exhausting memory. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

async function readSource(context: CliContext, file: string): Promise<string> {
  if (file === "-") {
    const stdin = context.io.stdin ?? process.stdin;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stdin) {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      size += buffer.length;
      if (size > MAX_FILE_BYTES) throw new SteadyError("invalid-argument", `standard input holds more than ${MAX_FILE_BYTES} bytes; a policy file must be smaller`);
      chunks.push(buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new SteadyError("invalid-argument", `-f ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
}

/**
 * Reads and validates a policy file locally, so a bad file sends nothing:
 * ProblemsError with one line per problem, each naming the file and the path.
 */
async function readDocuments(context: CliContext, file: string): Promise<readonly PolicyDocument[]> {
  const name = file === "-" ? "<stdin>" : file;
  const text = await readSource(context, file);
  try {
    return parsePolicyDocuments(text, name);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const lines = err.issues.map((issue) => `${name}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`);
    throw new ProblemsError(lines, `${name} has ${lines.length} problem${lines.length === 1 ? "" : "s"}; nothing was applied`, { cause: err });
  }
}

const FILE_HELP = "policy file, YAML or JSON, one or more documents separated by '---'; '-' reads standard input";

/**
 * `steadymesh policy apply -f FILE`, `policy get SERVICE [--json]`,
 * `policy delete SERVICE` and `policy diff -f FILE` (DESIGN.md, "Traffic
 * policy"). apply and diff validate the file locally first; apply sends
 * every document in one request, applied by the server in one commit.
 */
export function addPolicyCommands(program: Command, context: CliContext): void {
  const policy = program.command("policy").description("traffic policies: subsets, routes, weighted splits, timeouts, retries, fault injection, outlier detection, circuit breaking, ring hash, DNS fallback and locality failover per service");

  const apply = policy
    .command("apply")
    .description("validate FILE and apply all of its documents, or none")
    .requiredOption("-f, --file <file>", FILE_HELP)
    .addHelpText("after", "\nExample:\n  steadymesh policy apply -f checkout-policy.yaml\n  cat policy.json | steadymesh policy apply -f -\n");
  withAdminOption(withWaitOption(apply)).action(async (options: AdminOptions & { file: string; waitMs: number }) => {
    const documents = await readDocuments(context, options.file);
    const client = adminClient(options);
    const result = await client.request<{ revision: number; documents: readonly { service: string }[] }>("POST", "/v1/policies", { documents: documents.map(wire) });
    const lines = result.documents.map((document) => `applied ${document.service} (revision ${result.revision})`);
    for (const line of lines.slice(0, -1)) context.print(line);
    await printWithOutcome(context, client, lines.at(-1) ?? `applied nothing (revision ${result.revision})`, result.revision, options.waitMs);
  });

  const get = policy
    .command("get")
    .description("print SERVICE's policy as a policy file document (YAML; --json for JSON)")
    .argument("<service>", "the service", dnsLabel)
    .option("--json", "print JSON instead of YAML")
    .addHelpText("after", "\nExample:\n  steadymesh policy get checkout > checkout-policy.yaml\n");
  withAdminOption(get).action(async (service: string, options: AdminOptions & { json?: boolean }) => {
    const document = await adminClient(options).request<PolicyWire>("GET", `/v1/services/${segment(service)}/policy`);
    if (options.json) context.print(JSON.stringify(document, null, 2));
    else context.io.stdout.write(policyYaml(documentFromWire(document)));
  });

  const remove = policy
    .command("delete")
    .description("remove SERVICE's policy; the service is then served without subsets or routes")
    .argument("<service>", "the service", dnsLabel)
    .addHelpText("after", "\nExample:\n  steadymesh policy delete checkout\n");
  withAdminOption(withWaitOption(remove)).action(async (service: string, options: AdminOptions & { waitMs: number }) => {
    const client = adminClient(options);
    const result = await client.request<{ revision: number }>("DELETE", `/v1/services/${segment(service)}/policy`);
    await printWithOutcome(context, client, `deleted the policy of ${service} (revision ${result.revision})`, result.revision, options.waitMs);
  });

  const diff = policy
    .command("diff")
    .description("validate FILE and print what applying it would change, per service, without applying it")
    .requiredOption("-f, --file <file>", FILE_HELP)
    .addHelpText("after", "\nExample:\n  steadymesh policy diff -f checkout-policy.yaml\n");
  withAdminOption(diff).action(async (options: AdminOptions & { file: string }) => {
    const documents = await readDocuments(context, options.file);
    const result = await adminClient(options).request<{ revision: number; diffs: readonly PolicyDiff[] }>("POST", "/v1/policies/diff", { documents: documents.map(wire) });
    for (const entry of result.diffs) {
      context.print(`${entry.service}: ${entry.change === "create" ? "new policy" : entry.change === "update" ? "changed" : "unchanged"}`);
      for (const line of entry.lines) context.print(line);
    }
  });
}
