import { readFileSync } from "node:fs";
import { Command, CommanderError, type Option } from "commander";
import { parse as parseYaml } from "yaml";
import { SteadyError } from "../../errors/index.js";
import { addServeFlags, REPEATABLE_SERVE_FLAGS } from "./serve-flags.js";

/**
 * `serve --config FILE`: a YAML mapping whose keys are serve's flag names
 * without the dashes (`xds-port: 18000`, `canary: [node-id=canary-*]`,
 * `guard: false` for `--no-guard`, `tls: true` for `--tls`). Each entry is
 * turned back into command-line arguments and parsed by the same commander
 * flags as the command line, so a value is valid in the file exactly when it
 * is valid as a flag. A flag given on the command line wins over the file; a
 * repeatable flag given there replaces the file's whole list. Relative paths
 * in the file are relative to the working directory, as on the command line.
 *
 * Every bad entry is reported at once, in one line naming the file and each
 * entry's path: `steadymesh.yaml: xds-port: must be an integer from 0 to 65535, got "x"`.
 */
export function applyConfigFile(command: Command, file: string): void {
  const entries = readConfig(file);
  const options = new Map(serveFlagOptions().map((option) => [configKey(option), option]));
  const allowed = [...options.keys()].sort();
  const issues: string[] = [];
  const args: string[] = [];
  for (const [key, value] of Object.entries(entries)) {
    const option = options.get(key);
    if (!option) {
      issues.push(`${key}: unknown key; allowed: ${allowed.join(", ")}`);
      continue;
    }
    for (const entry of toArgs(key, option, value)) {
      if ("issue" in entry) issues.push(entry.issue);
      else {
        const issue = checkEntry(entry.path, entry.args, entry.value);
        if (issue) issues.push(issue);
        else args.push(...entry.args);
      }
    }
  }
  if (issues.length > 0) throw new SteadyError("invalid-argument", `${file}: ${issues.join("; ")}`);
  const fromFile = serveFlagsCommand();
  fromFile.parse(args, { from: "user" });
  for (const [name, value] of Object.entries(fromFile.opts())) {
    if (fromFile.getOptionValueSource(name) !== "cli") continue;
    // The command line wins; `config` ranks above a default in commander's own order.
    if (command.getOptionValueSource(name) === "cli") continue;
    command.setOptionValueWithSource(name, value, "config");
  }
}

/** The file's top-level mapping, or a one-line error naming the file. */
function readConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SteadyError("invalid-argument", `--config ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new SteadyError("invalid-argument", `${file}: not valid YAML: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new SteadyError("invalid-argument", `${file}: must be a mapping of flag names to values, e.g. xds-port: 18000`);
  }
  return parsed as Record<string, unknown>;
}

type Entry = { readonly path: string; readonly args: string[]; readonly value: unknown } | { readonly issue: string };

/** The command-line arguments one key of the file stands for, or why it stands for none. */
function toArgs(key: string, option: Option, value: unknown): Entry[] {
  const flag = `--${key}`;
  if (option.negate || option.isBoolean()) {
    if (typeof value !== "boolean") return [{ issue: `${key}: must be true or false, got ${show(value)}` }];
    // `guard: false` is --no-guard; `tls: true` is --tls; the other two are the defaults.
    const given = option.negate ? !value : value;
    return [{ path: key, args: given ? [option.long!] : [], value }];
  }
  if (REPEATABLE_SERVE_FLAGS.includes(key)) {
    const list = Array.isArray(value) ? value : [value];
    return list.map((item, i) => (isScalar(item) ? { path: `${key}[${i}]`, args: [flag, String(item)], value: item } : { issue: `${key}[${i}]: must be a single value, got ${show(item)}` }));
  }
  if (!isScalar(value)) return [{ issue: `${key}: must be a single value, got ${show(value)}` }];
  return [{ path: key, args: [flag, String(value)], value }];
}

/** Parses one entry with serve's own flags; the sentence of the flag's parser when it is refused. */
function checkEntry(path: string, args: readonly string[], value: unknown): string | undefined {
  try {
    serveFlagsCommand().parse([...args], { from: "user" });
    return undefined;
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // "option '--xds-port <port>' argument 'x' is invalid. It must be an integer from 0 to 65535."
    const why = /is invalid\.\s*(.*)$/s.exec(err.message)?.[1] ?? err.message.replace(/^error:\s*/, "");
    return `${path}: ${why.replace(/^It /, "").replace(/\.$/, "")}, got ${show(value)}`;
  }
}

function serveFlagsCommand(): Command {
  return addServeFlags(new Command("serve").exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined }));
}

function serveFlagOptions(): readonly Option[] {
  return serveFlagsCommand().options.filter((option) => option.long !== undefined);
}

/** `--xds-port` is `xds-port`; `--no-guard` is `guard`. */
function configKey(option: Option): string {
  return option.long!.replace(/^--(no-)?/, "");
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}
