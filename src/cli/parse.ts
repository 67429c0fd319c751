import { isIP } from "node:net";
import { hostname } from "node:os";
import { InvalidArgumentError } from "commander";
import type { NodeSelector } from "../guard/model.js";

/**
 * Argument parsers for commander. Each throws InvalidArgumentError with a
 * sentence saying what is allowed; commander prefixes it with the option and
 * the bad value, which makes the one-line error the CLI prints.
 */

/** The admin API every client command talks to unless `--admin` says otherwise. */
export const DEFAULT_ADMIN_URL = "http://127.0.0.1:18080";

/** Hostnames and labels of a DNS name: `[a-z0-9-]`, 1–63 characters, no hyphen at either end. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`It must be an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

/** A share such as `0.5`, `1` or `.25`: from 0 to 1, or with `aboveZero` more than 0 and at most 1. */
export function share(options: { aboveZero?: boolean } = {}): (value: string) => number {
  return (value) => {
    const n = /^(\d+(\.\d*)?|\.\d+)$/.test(value.trim()) ? Number(value) : Number.NaN;
    // NaN fails both comparisons.
    const ok = options.aboveZero ? n > 0 && n <= 1 : n >= 0 && n <= 1;
    if (!ok) {
      throw new InvalidArgumentError(options.aboveZero ? "It must be a number greater than 0 and at most 1, e.g. 0.1." : "It must be a number from 0 to 1, e.g. 0.5.");
    }
    return n;
  };
}

/** One of a fixed list of words. */
export function oneOfValues<T extends string>(values: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`It must be one of ${values.join(", ")}.`);
    return value as T;
  };
}

/** A push guard generation id: a positive integer, as `steadymesh generations` shows it. */
/**
 * Commander's collector for a repeatable `--metadata KEY=VALUE`: the pairs so
 * far with this one added (the server checks the key and value rules).
 */
export function metadataPair(value: string, previous: Readonly<Record<string, string>> = {}): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`It must be KEY=VALUE, e.g. version=2.`);
  const key = value.slice(0, at);
  if (Object.hasOwn(previous, key)) throw new InvalidArgumentError(`Key ${JSON.stringify(key)} is given twice; give each key once.`);
  return { ...previous, [key]: value.slice(at + 1) };
}

export function generationId(value: string): number {
  const n = /^[1-9]\d*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError("It must be a positive integer generation id, as shown by 'steadymesh generations'.");
  return n;
}

const NODE_ID_GLOB = /^[A-Za-z0-9._:*?-]{1,128}$/;
const METADATA_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const METADATA_VALUE = /^[\x20-\x7e]{1,128}$/;

/**
 * A canary selector: `node-id=GLOB` (GLOB: 1-128 of `A-Za-z0-9._:*?-`, where
 * `*` and `?` are wildcards) or `metadata.KEY=VALUE` (KEY: 1-64 of
 * `A-Za-z0-9_.-`; VALUE: 1-128 printable ASCII characters, `=` included).
 */
export function canarySelector(value: string): NodeSelector {
  if (value.startsWith("node-id=")) {
    const glob = value.slice("node-id=".length);
    if (NODE_ID_GLOB.test(glob)) return { kind: "node-id", glob };
    throw new InvalidArgumentError("The GLOB of node-id=GLOB must be 1-128 characters of A-Z a-z 0-9 . _ : - and the wildcards * and ?.");
  }
  if (value.startsWith("metadata.")) {
    const rest = value.slice("metadata.".length);
    const equals = rest.indexOf("=");
    const key = equals === -1 ? rest : rest.slice(0, equals);
    const selectorValue = equals === -1 ? "" : rest.slice(equals + 1);
    if (METADATA_KEY.test(key) && METADATA_VALUE.test(selectorValue)) return { kind: "metadata", key, value: selectorValue };
    throw new InvalidArgumentError("It must be metadata.KEY=VALUE with KEY 1-64 characters of A-Z a-z 0-9 _ . - and VALUE 1-128 printable ASCII characters.");
  }
  throw new InvalidArgumentError("It must be node-id=GLOB (e.g. node-id=canary-*) or metadata.KEY=VALUE (e.g. metadata.canary=true).");
}

/** An IPv4 or IPv6 literal (no brackets, no hostnames). */
export function ipAddress(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError("It must be an IPv4 or IPv6 address, e.g. 127.0.0.1 or ::1.");
  return value;
}

/**
 * A name the admin API accepts in Host and Origin (`serve --admin-host`): a
 * DNS name (dot-separated labels of `A-Za-z0-9-`, at most 253 characters) or
 * an IP address, without a port; not a wildcard such as 0.0.0.0.
 */
export function adminHostName(value: string): string {
  const ip = /^\[.*\]$/.test(value) ? value.slice(1, -1) : value;
  if (isIP(ip) !== 0) {
    if (ip === "0.0.0.0" || ip === "::" || ip.includes("%")) throw new InvalidArgumentError("It must be an address of this machine, not a wildcard or an address with a %zone.");
    return value;
  }
  const name = value.endsWith(".") ? value.slice(0, -1) : value;
  const labels = name.split(".");
  if (name.length === 0 || name.length > 253 || !labels.every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))) {
    throw new InvalidArgumentError("It must be a host name or an IP address without a port, e.g. steadymesh.internal or 10.0.0.5.");
  }
  return value;
}

/** Anything that is not blank; for ids and paths whose rules live elsewhere. */
export function nonEmpty(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("It must not be empty.");
  return value;
}

/** An http(s) base URL; returned without a trailing slash so paths can be appended. */
export function adminUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // URL reports no more than "Invalid URL"; the hint below is more useful than its cause.
    throw new InvalidArgumentError("It must be an http:// or https:// URL, e.g. http://127.0.0.1:18080.");
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "") {
    throw new InvalidArgumentError("It must be an http:// or https:// URL without query or fragment, e.g. http://127.0.0.1:18080.");
  }
  return url.href.replace(/\/+$/, "");
}

/** `host:port` or `[v6]:port` with port 1–65535, as gRPC expects in a bootstrap `server_uri`. */
export function hostPort(value: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new InvalidArgumentError("It must be HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:18000 or [::1]:18000.");
  }
  return value;
}

/** `sqlite`, `memory` or `etcd://host:port[,host:port…]`. */
export function storeSpec(value: string): string {
  if (value === "sqlite" || value === "memory") return value;
  const endpoints = value.startsWith("etcd://") ? value.slice("etcd://".length).split(",") : [];
  if (endpoints.length === 0 || !endpoints.every((e) => /^[^:,/\s]+:\d{1,5}$/.test(e) || /^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(e))) {
    throw new InvalidArgumentError("It must be sqlite, memory or etcd://HOST:PORT[,HOST:PORT...].");
  }
  return value;
}

/** A DNS domain such as `mesh` or `svc.example`: dot-separated DNS labels, at most 253 characters. */
export function dnsDomain(value: string): string {
  const name = value.endsWith(".") ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253 || !name.split(".").every((label) => DNS_LABEL.test(label))) {
    throw new InvalidArgumentError("It must be a DNS name of dot-separated labels ([a-z0-9-], 1-63 characters each), e.g. mesh.");
  }
  return name;
}

/** `127.0.0.1:50051`, `[::1]:50051`. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The id `register` uses when `--id` is not given: address and port as one
 * DNS label, e.g. `127-0-0-1-50051`, `fe80--1-50051` (hyphens at the ends
 * are dropped, as a label may not start or end with one).
 */
export function defaultInstanceId(address: string, port: number): string {
  const label = `${address}-${port}`.toLowerCase().replace(/[^a-z0-9]/g, "-");
  return label.replace(/^-+|-+$/g, "");
}

/** A DNS label: `[a-z0-9-]`, 1–63 characters, no hyphen at either end. */
export function dnsLabel(value: string): string {
  if (!DNS_LABEL.test(value)) throw new InvalidArgumentError("It must be a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end).");
  return value;
}

/** The host name as a DNS label (lowercase, other characters as `-`), the default `--replica-id`. */
export function defaultReplicaId(host: string = hostname()): string {
  const label = host.toLowerCase().replace(/[^a-z0-9]/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return label || "replica";
}
