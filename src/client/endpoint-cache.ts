import { mkdir, open, rename, unlink } from "node:fs/promises";
import { isIP } from "node:net";
import { basename, join } from "node:path";
import { z } from "zod";
import { createSystemClock, type Clock } from "../clock/index.js";
import { ValidationError, formatIssues } from "../errors/index.js";
import type { ResolvedEndpoint } from "./endpoint.js";
import { CacheWriteError, EmptyEndpointsError, InvalidCacheTargetError, describeCause } from "./errors.js";
import { silentClientLogger, type ClientLogger } from "./logger.js";
import { issuesFrom, rule, show } from "./zod-issues.js";

/**
 * The last-known-good endpoints of each target, persisted so that a client
 * restarting during a control-plane outage still has somewhere to send RPCs.
 * One versioned JSON file per target; writes are atomic and durable; reads
 * never throw for what is in a file, they report a miss with the reason.
 */

/** Value of the `format` field of every cache file. */
export const CACHE_FORMAT = "steadymesh.endpoints";
/** The only `formatVersion` this client reads and writes. */
export const CACHE_FORMAT_VERSION = 1;
/** Files larger than this are not read: no real endpoint list comes near it, a corrupted file might. */
export const MAX_CACHE_FILE_BYTES = 4 * 1024 * 1024;

/** Starts with a letter or digit, so a target can never name a hidden (temp) file, `.` or `..`. */
const TARGET = /^[a-z0-9][a-z0-9._-]{0,199}$/;
const FILE_SUFFIX = ".endpoints.json";

/** Which discovery path produced the cached endpoints; the cache itself is never a source of a save. */
export type CacheSource = "xds" | "dns";

/** A usable cache file. */
export interface CacheEntry {
  readonly ok: true;
  /** At least one endpoint, in the order saved. */
  readonly endpoints: readonly ResolvedEndpoint[];
  readonly source: CacheSource;
  readonly version?: string;
  /** ISO 8601 time of the save, as written in the file. */
  readonly savedAt: string;
  readonly path: string;
}

/** No usable cache file; `reason` is one line fit for a log or an event. */
export interface CacheMiss {
  readonly ok: false;
  readonly reason: string;
}

export interface CacheSaveInput {
  readonly endpoints: readonly ResolvedEndpoint[];
  readonly source: CacheSource;
  /** The xDS version_info or any other label of the data; stored as is. */
  readonly version?: string;
}

export interface EndpointCacheOptions {
  /** Created (mode 0700) on the first save when missing. */
  readonly dir: string;
  readonly logger?: ClientLogger;
  /** Stamps `savedAt`; the system clock by default. */
  readonly clock?: Clock;
}

export interface EndpointCache {
  readonly dir: string;
  /** `<dir>/<target>.endpoints.json`; throws InvalidCacheTargetError for a bad target. */
  pathFor(target: string): string;
  /**
   * Reads the target's file. Rejects only with InvalidCacheTargetError; every
   * problem with the file itself is a CacheMiss (and a warn log, except a missing file).
   */
  load(target: string): Promise<CacheEntry | CacheMiss>;
  /**
   * Replaces the target's file atomically and durably. Saves of one target
   * through this object run one at a time in call order, so the last call wins.
   * Rejects with InvalidCacheTargetError, EmptyEndpointsError, ValidationError
   * (a bad endpoint, with its path) before touching disk, or CacheWriteError;
   * after a rejection the previous file is still in place (a failed directory
   * fsync is the exception: the new file is in place but may not be durable).
   */
  save(target: string, input: CacheSaveInput): Promise<void>;
}

const PORT_RULE = "an integer from 1 to 65535";
const WEIGHT_RULE = "an integer from 1 to 4294967295";
const ADDRESS_RULE = "an IPv4 or IPv6 literal";
const LOCALITY_RULE = "a string";

const endpointSchema = z.object({
  address: z.string(rule(ADDRESS_RULE)).refine((address) => isIP(address) !== 0, rule(ADDRESS_RULE)),
  port: z.int(rule(PORT_RULE)).min(1, rule(PORT_RULE)).max(65535, rule(PORT_RULE)),
  weight: z.int(rule(WEIGHT_RULE)).min(1, rule(WEIGHT_RULE)).max(4294967295, rule(WEIGHT_RULE)),
  zone: z.string(rule(LOCALITY_RULE)).optional(),
  region: z.string(rule(LOCALITY_RULE)).optional(),
});

const SOURCE_RULE = rule(`"xds" or "dns"`);
const saveSchema = z.object({
  endpoints: z.array(endpointSchema, rule("an array of endpoints")),
  source: z.enum(["xds", "dns"], SOURCE_RULE),
  version: z.string(rule("a string")).optional(),
});

const fileSchema = saveSchema.extend({
  target: z.string(rule("a string")),
  savedAt: z.iso.datetime({ offset: true, ...rule("an ISO 8601 date-time") }),
});

const noKeys = (): readonly string[] => [];

/** Copies only the fields of the contract, and drops empty localities, as the xDS decoder does. */
function cleanEndpoint(e: z.infer<typeof endpointSchema>): ResolvedEndpoint {
  return Object.freeze({
    address: e.address,
    port: e.port,
    weight: e.weight,
    ...(e.zone ? { zone: e.zone } : {}),
    ...(e.region ? { region: e.region } : {}),
  });
}

/** Creates a cache over one directory. Use one object per directory: saves are serialized per object. */
export function createEndpointCache(options: EndpointCacheOptions): EndpointCache {
  const { dir } = options;
  const logger = options.logger ?? silentClientLogger;
  const clock = options.clock ?? createSystemClock();
  const writer = createAtomicWriter(dir, logger);
  const tails = new Map<string, Promise<void>>();

  function pathFor(target: string): string {
    if (!TARGET.test(target)) throw new InvalidCacheTargetError(target);
    return join(dir, `${target}${FILE_SUFFIX}`);
  }

  /** Chains `write` after the target's previous save, whether that one succeeded or not. */
  function enqueue(target: string, write: () => Promise<void>): Promise<void> {
    const previous = tails.get(target) ?? Promise.resolve();
    // An earlier failure was already delivered to its own caller; it must not block later saves.
    const run = previous.then(write, write);
    tails.set(target, run);
    const forget = (): void => {
      if (tails.get(target) === run) tails.delete(target);
    };
    run.then(forget, forget);
    return run;
  }

  return {
    dir,
    pathFor,
    async load(target) {
      const path = pathFor(target);
      const result = await readEntry(path, target);
      if (result === undefined) {
        logger.debug({ target, path }, "no endpoint cache file");
        return { ok: false, reason: `no cache file at ${path}` };
      }
      if (!result.ok) logger.warn({ target, path, reason: result.reason }, "endpoint cache file unusable; ignoring it");
      return result;
    },
    async save(target, input) {
      const path = pathFor(target);
      const body = serialize(target, input, new Date(clock.now()).toISOString());
      await enqueue(target, () => writer.write(path, body));
      logger.debug({ target, path, endpoints: input.endpoints.length, source: input.source }, "endpoint cache written");
    },
  };
}

/** Validates a save and renders the file body; throws before any disk access. */
function serialize(target: string, input: CacheSaveInput, savedAt: string): string {
  if (Array.isArray(input.endpoints) && input.endpoints.length === 0) throw new EmptyEndpointsError(target);
  const parsed = saveSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(issuesFrom(parsed.error, noKeys));
  const { endpoints, source, version } = parsed.data;
  const file = {
    format: CACHE_FORMAT,
    formatVersion: CACHE_FORMAT_VERSION,
    target,
    source,
    ...(version !== undefined ? { version } : {}),
    savedAt,
    endpoints: endpoints.map(cleanEndpoint),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Reads and checks one file; undefined when there is none. Never throws. */
async function readEntry(path: string, target: string): Promise<CacheEntry | CacheMiss | undefined> {
  let text: string;
  try {
    const read = await readSmallFile(path);
    if (typeof read !== "string") return read;
    text = read;
  } catch (err) {
    return { ok: false, reason: `cannot read ${path}: ${describeCause(err)}` };
  }
  return parseEntry(text, target, path);
}

/** The file's text, undefined for a missing file, a miss for an oversized one; throws other I/O errors. */
async function readSmallFile(path: string): Promise<string | CacheMiss | undefined> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_CACHE_FILE_BYTES) {
      return { ok: false, reason: `${path} is ${size} bytes, more than the ${MAX_CACHE_FILE_BYTES}-byte limit` };
    }
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/** Checks the envelope first, so a foreign or newer file gets a reason about that and not a field list. */
function parseEntry(text: string, target: string, path: string): CacheEntry | CacheMiss {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `invalid JSON in ${path}: ${describeCause(err)}` };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, reason: `${path} does not hold a JSON object` };
  }
  const envelope = json as Record<string, unknown>;
  if (envelope.format !== CACHE_FORMAT) {
    return { ok: false, reason: `${path} is not a steadymesh endpoints file (format ${show(envelope.format)}, expected "${CACHE_FORMAT}")` };
  }
  if (envelope.formatVersion !== CACHE_FORMAT_VERSION) {
    return { ok: false, reason: `${path} has formatVersion ${show(envelope.formatVersion)}; this client reads ${CACHE_FORMAT_VERSION}` };
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `invalid cache file ${path}: ${formatIssues(issuesFrom(parsed.error, noKeys))}` };
  const file = parsed.data;
  if (file.target !== target) return { ok: false, reason: `${path} is for target ${show(file.target)}, not ${show(target)}` };
  if (file.endpoints.length === 0) return { ok: false, reason: `${path} lists no endpoints` };
  return {
    ok: true,
    endpoints: Object.freeze(file.endpoints.map(cleanEndpoint)),
    source: file.source,
    ...(file.version !== undefined ? { version: file.version } : {}),
    savedAt: file.savedAt,
    path,
  };
}

interface AtomicWriter {
  /** Replaces `path` with `body`: temp file in the same directory, fsync, rename, fsync of the directory. */
  write(path: string, body: string): Promise<void>;
}

function createAtomicWriter(dir: string, logger: ClientLogger): AtomicWriter {
  let sequence = 0;
  return {
    async write(path, body) {
      // The leading dot and `.tmp` suffix keep temp files out of the target namespace (targets start with [a-z0-9]).
      const temp = join(dir, `.${basename(path)}.${process.pid}.${++sequence}.tmp`);
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeAndSync(temp, body);
        await rename(temp, path);
      } catch (err) {
        await removeTemp(temp, logger);
        throw new CacheWriteError(path, err);
      }
      try {
        await syncDirectory(dir);
      } catch (err) {
        throw new CacheWriteError(path, err);
      }
    },
  };
}

async function writeAndSync(path: string, body: string): Promise<void> {
  // "wx": a leftover temp file with this name is never reused; the write fails instead.
  const handle = await open(path, "wx", 0o600);
  try {
    await handle.writeFile(body, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the rename itself durable: without it a power cut can bring back the old file or none. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeTemp(temp: string, logger: ClientLogger): Promise<void> {
  try {
    await unlink(temp);
  } catch (err) {
    // The write error is what the caller needs; a stray temp file is harmless because load never reads one.
    logger.debug({ temp, err: describeCause(err) }, "could not remove endpoint cache temp file");
  }
}
