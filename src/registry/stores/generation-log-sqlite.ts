import type Database from "better-sqlite3";
import { ValidationError } from "../../errors/index.js";
import type { GenerationLog, ResourceKey, StoredGeneration, StoredResource } from "../generation-log.js";
import { compareResources, readGenerationInput, resourceKey, type GenerationInput, type HashedResource } from "./generation-log-input.js";

/**
 * The GenerationLog's tables in registry.db (schema version 3). A body is
 * stored once per content, keyed by its sha256. Which generations hold which
 * bodies is kept as spans: `resource_spans` has one row per version of a
 * resource, held by the generations from `first` up to (not including)
 * `last` (NULL: the newest generation stored with resources, and the next),
 * and `span_generations` lists the generations stored that way. A generation
 * that changes one resource of many ends one span and begins one, so the
 * file grows with what changed, not with the snapshot's size.
 * `generation_resources` holds the generations of schema version 2 (a row
 * per resource per generation): read as before, pruned by retain, never
 * written again.
 */
export const GENERATION_SCHEMA = `
  CREATE TABLE IF NOT EXISTS generations (id INTEGER PRIMARY KEY, record TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS generation_resources (
    generation INTEGER NOT NULL, type_url TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (generation, type_url, name)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS generation_resources_by_hash ON generation_resources (hash);
  CREATE TABLE IF NOT EXISTS resource_bodies (hash TEXT PRIMARY KEY, body BLOB NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS resource_spans (
    type_url TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER,
    PRIMARY KEY (type_url, name, first)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS resource_spans_open ON resource_spans (type_url, name) WHERE last IS NULL;
  CREATE INDEX IF NOT EXISTS resource_spans_by_hash ON resource_spans (hash);
  CREATE TABLE IF NOT EXISTS span_generations (generation INTEGER PRIMARY KEY) STRICT;
`;

export interface SqliteGenerationLogOptions {
  /** Throws UnavailableError once the owning store is closed. */
  ensureOpen(): void;
  /** Turns a failure of `what` into the error to throw: SteadyErrors as they are, anything else as UnavailableError naming the data dir. */
  failure(what: string, err: unknown): Error;
}

interface ResourceRow {
  typeUrl: string;
  name: string;
  body: Uint8Array;
}

/** A resource to hold: a new one with its body, or one already held (its body stored). */
type Target = Omit<HashedResource, "body"> & { readonly body?: Uint8Array };

/** Span edits per transaction when a generation is written, with a turn of the event loop between transactions. */
const WRITE_CHUNK = 256;

/** Rows retain deletes per statement, with a turn of the event loop between statements. */
const PRUNE_CHUNK = 2000;

/** Binds without copying: better-sqlite3 takes a BLOB parameter as a Buffer. */
function asBuffer(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** The span edits that store one generation's resources: `ends` first, then `begins`. */
interface WritePlan {
  readonly id: number;
  /** The newest generation is written again: its own edits are undone first (in the first chunk), and then the open spans the target lacks are ended. */
  readonly replaces: boolean;
  readonly ends: readonly ResourceKey[];
  readonly begins: readonly Target[];
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A GenerationLog on the store's own connection, so it shares the data dir
 * lock. `put` is one immediate transaction; `retain` is one, then deletes
 * what no kept generation holds in chunks, each its own statement.
 */
export function createSqliteGenerationLog(db: Database.Database, options: SqliteGenerationLogOptions): GenerationLog {
  const upsertRecord = db.prepare<[number, string]>("INSERT INTO generations (id, record) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record");
  const insertBody = db.prepare<[string, Buffer]>("INSERT OR IGNORE INTO resource_bodies (hash, body) VALUES (?, ?)");
  const selectRecords = db.prepare<[], { id: number; record: string }>("SELECT id, record FROM generations ORDER BY id");
  const newestSpanGeneration = db.prepare<[], number | null>("SELECT max(generation) FROM span_generations").pluck();
  const hasSpanGeneration = db.prepare<[number], number>("SELECT 1 FROM span_generations WHERE generation = ?").pluck();
  const addSpanGeneration = db.prepare<[number]>("INSERT INTO span_generations (generation) VALUES (?)");
  const openSpan = db.prepare<[string, string], string>("SELECT hash FROM resource_spans WHERE type_url = ? AND name = ? AND last IS NULL").pluck();
  const openSpans = db.prepare<[], { typeUrl: string; name: string; hash: string }>("SELECT type_url AS typeUrl, name, hash FROM resource_spans WHERE last IS NULL");
  const endSpan = db.prepare<[number, string, string]>("UPDATE resource_spans SET last = ? WHERE type_url = ? AND name = ? AND last IS NULL");
  const beginSpan = db.prepare<[string, string, string, number]>("INSERT INTO resource_spans (type_url, name, hash, first) VALUES (?, ?, ?, ?)");
  const undoBegun = db.prepare<[number]>("DELETE FROM resource_spans WHERE first = ?");
  const undoEnded = db.prepare<[number]>("UPDATE resource_spans SET last = NULL WHERE last = ?");
  const dropSpanGeneration = db.prepare<[number]>("DELETE FROM span_generations WHERE generation = ?");
  const selectSpanResources = db.prepare<[number, number], ResourceRow>(
    "SELECT s.type_url AS typeUrl, s.name AS name, b.body AS body FROM resource_spans s JOIN resource_bodies b ON b.hash = s.hash WHERE s.first <= ? AND (s.last IS NULL OR s.last > ?)",
  );
  const selectLegacyResources = db.prepare<[number], ResourceRow>(
    "SELECT r.type_url AS typeUrl, r.name AS name, b.body AS body FROM generation_resources r JOIN resource_bodies b ON b.hash = r.hash WHERE r.generation = ?",
  );
  const hasLegacy = db.prepare<[number], number>("SELECT 1 FROM generation_resources WHERE generation = ? LIMIT 1").pluck();
  const clearLegacy = db.prepare<[number]>("DELETE FROM generation_resources WHERE generation = ?");
  // `keep` is bound as one JSON array, however many ids it holds.
  const deleteRecords = db.prepare<[string]>("DELETE FROM generations WHERE id NOT IN (SELECT value FROM json_each(?))");
  const deleteSpanGenerations = db.prepare<[string]>("DELETE FROM span_generations WHERE generation NOT IN (SELECT value FROM json_each(?))");
  const deleteSpansAfter = db.prepare<[number]>("DELETE FROM resource_spans WHERE first > ?");
  const reopenAfter = db.prepare<[number]>("UPDATE resource_spans SET last = NULL WHERE last > ?");
  const deleteAllSpans = db.prepare("DELETE FROM resource_spans");
  // A span is dead when no generation stored with resources lies in [first, last); checked a chunk of rows at a time.
  const deleteDeadSpans = db.prepare<[number, number]>(
    `DELETE FROM resource_spans WHERE rowid IN (SELECT rowid FROM resource_spans WHERE rowid > ? ORDER BY rowid LIMIT ${PRUNE_CHUNK})
       AND NOT EXISTS (SELECT 1 FROM span_generations g WHERE g.generation >= resource_spans.first AND (resource_spans.last IS NULL OR g.generation < resource_spans.last))
       AND ? >= 0`,
  );
  const maxSpanRowid = db.prepare<[number], number | null>(`SELECT max(rowid) FROM (SELECT rowid FROM resource_spans WHERE rowid > ? ORDER BY rowid LIMIT ${PRUNE_CHUNK})`).pluck();
  const deleteLegacyChunk = db.prepare<[string]>(
    `DELETE FROM generation_resources WHERE rowid IN (SELECT rowid FROM generation_resources WHERE generation NOT IN (SELECT value FROM json_each(?)) LIMIT ${PRUNE_CHUNK})`,
  );
  const deleteBodiesChunk = db.prepare<[number]>(
    `DELETE FROM resource_bodies WHERE rowid IN (SELECT rowid FROM resource_bodies WHERE rowid > ? ORDER BY rowid LIMIT ${PRUNE_CHUNK})
       AND NOT EXISTS (SELECT 1 FROM resource_spans s WHERE s.hash = resource_bodies.hash)
       AND NOT EXISTS (SELECT 1 FROM generation_resources r WHERE r.hash = resource_bodies.hash)`,
  );
  const maxBodyRowid = db.prepare<[number], number | null>(`SELECT max(rowid) FROM (SELECT rowid FROM resource_bodies WHERE rowid > ? ORDER BY rowid LIMIT ${PRUNE_CHUNK})`).pluck();

  // Hashes whose bodies this connection has stored since the last prune: most of a generation's bodies are its parent's.
  const storedBodies = new Set<string>();
  const storeBody = (resource: Target): void => {
    // A target without a body is an open span's version: its body is stored already.
    if (!resource.body || storedBodies.has(resource.hash)) return;
    insertBody.run(resource.hash, asBuffer(resource.body));
    storedBodies.add(resource.hash);
  };
  const begin = (resource: Target, at: number): void => {
    const held = openSpan.get(resource.typeUrl, resource.name);
    if (held === resource.hash) return;
    if (held !== undefined) endSpan.run(at, resource.typeUrl, resource.name);
    beginSpan.run(resource.typeUrl, resource.name, resource.hash, at);
    storeBody(resource);
  };

  /**
   * The span edits that store `input`'s resources (none for a record alone),
   * after the checks; reads only. For changes against the newest generation
   * this costs what changed; a whole list, or changes that replace the
   * newest generation, is compared against every open span.
   */
  const planResources = (input: GenerationInput): WritePlan | undefined => {
    if (!input.resources && !input.changes) return undefined;
    const id = input.id;
    const newest = newestSpanGeneration.get() ?? undefined;
    if (input.changes && input.changes.base !== newest) {
      throw new ValidationError([{ path: "resources.base", message: `must be ${newest ?? "(none: give the resources whole)"}, the newest generation stored with resources, got ${input.changes.base}` }]);
    }
    if (newest !== undefined && id < newest) {
      if (hasSpanGeneration.get(id) !== undefined) return undefined;
      throw new ValidationError([{ path: "id", message: `resources can be given for generation ${newest}, the newest stored with them, or a newer one; got ${id}` }]);
    }
    if (input.changes && id !== newest) return { id, replaces: false, ends: input.changes.removals, begins: input.changes.upserts };
    // Whole, or changes that replace the newest generation's resources: the target set, then written as spans against what is open.
    const target = new Map<string, Target>();
    const open = openSpans.all();
    if (input.changes) {
      for (const span of open) target.set(resourceKey(span.typeUrl, span.name), span);
      for (const removal of input.changes.removals) target.delete(resourceKey(removal.typeUrl, removal.name));
      for (const upsert of input.changes.upserts) target.set(resourceKey(upsert.typeUrl, upsert.name), upsert);
    } else {
      for (const r of input.resources!) target.set(resourceKey(r.typeUrl, r.name), r);
    }
    const replaces = id === newest;
    // When the newest generation is rewritten its own spans are undone first, so what is open then is what it began from.
    const ends = replaces ? [] : open.filter((span) => !target.has(resourceKey(span.typeUrl, span.name)));
    return { id, replaces, ends, begins: [...target.values()] };
  };

  /** Undoes the span edits of an unfinished write of generation `id` (a failed chunk): what it began goes, what it ended is open again. */
  const undoUnfinished = db.transaction((id: number): void => {
    undoBegun.run(id);
    undoEnded.run(id);
  });

  /** One chunk of a plan's edits, in its own transaction; the first also undoes the newest generation when it is rewritten. */
  const writeChunk = db.transaction((plan: WritePlan, from: number, to: number, first: boolean): void => {
    if (first) clearLegacy.run(plan.id);
    if (first && plan.replaces) {
      undoBegun.run(plan.id);
      undoEnded.run(plan.id);
      dropSpanGeneration.run(plan.id);
      // What the target lacks is ended against the spans open once the generation is undone.
      const keep = new Set(plan.begins.map((r) => resourceKey(r.typeUrl, r.name)));
      for (const span of openSpans.all()) if (!keep.has(resourceKey(span.typeUrl, span.name))) endSpan.run(plan.id, span.typeUrl, span.name);
    }
    const ends = plan.ends.length;
    for (let k = from; k < to; k++) {
      if (k < ends) endSpan.run(plan.id, plan.ends[k]!.typeUrl, plan.ends[k]!.name);
      else begin(plan.begins[k - ends]!, plan.id);
    }
  });

  /** The generation is complete: its record, and its mark as stored with resources when it has them. */
  const finish = db.transaction((input: GenerationInput, withResources: boolean): void => {
    if (withResources) addSpanGeneration.run(input.id);
    upsertRecord.run(input.id, input.json);
  });

  /**
   * Writes `input`: span edits in chunks of WRITE_CHUNK, each its own
   * transaction with a turn of the event loop between them, then the record
   * and the generation's mark in one last transaction. Until that commits,
   * readers see the generations stored before (a span begun for the new one
   * starts after them; one it ended still covers them), and a crash leaves
   * edits that the next open undoes (repairUnfinished). Writes are one at a
   * time (`exclusive`), so no retain runs in between.
   */
  const writeGeneration = async (input: GenerationInput): Promise<void> => {
    const plan = guarded("put", () => planResources(input));
    const total = plan ? plan.ends.length + plan.begins.length : 0;
    try {
      for (let from = 0; plan && (from < total || from === 0); from += WRITE_CHUNK) {
        if (from > 0) await turn();
        guarded("put", () => writeChunk(plan, from, Math.min(total, from + WRITE_CHUNK), from === 0));
      }
      guarded("put", () => finish(input, plan !== undefined));
    } catch (err) {
      // Bodies of rolled-back chunks may be gone; earlier chunks' edits are undone.
      storedBodies.clear();
      if (plan && !plan.replaces) {
        try {
          guarded("put", () => undoUnfinished(plan.id));
        } catch {
          // The next open repairs it (repairUnfinished).
        }
      }
      throw err;
    }
  };

  /** Span edits a crash left behind: those of generations newer than the newest one marked as stored. Run on open. */
  const repairUnfinished = db.transaction((): void => {
    const newest = newestSpanGeneration.get() ?? undefined;
    if (newest === undefined) {
      deleteAllSpans.run();
      return;
    }
    deleteSpansAfter.run(newest);
    reopenAfter.run(newest);
  });
  repairUnfinished();

  let queue: Promise<unknown> = Promise.resolve();
  /** Runs `work` after every put and retain before it has finished. */
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  const prune = db.transaction((keep: string): void => {
    const before = newestSpanGeneration.get() ?? undefined;
    deleteRecords.run(keep);
    deleteSpanGenerations.run(keep);
    const newest = newestSpanGeneration.get() ?? undefined;
    if (newest === before) return;
    if (newest === undefined) {
      deleteAllSpans.run();
      return;
    }
    // Nothing is newer than the new newest generation: spans begun after it go, and those it holds stay open for the next one.
    deleteSpansAfter.run(newest);
    reopenAfter.run(newest);
  });

  const guarded = <T>(what: string, run: () => T): T => {
    options.ensureOpen();
    try {
      return run();
    } catch (err) {
      throw options.failure(`generations.${what}`, err);
    }
  };

  async function retainOnly(keep: ReadonlySet<number>): Promise<void> {
    const ids = JSON.stringify([...keep]);
    storedBodies.clear();
    guarded("retain", () => prune.immediate(ids));
    // What no kept generation holds goes a chunk per statement: a large log never holds the event loop for long.
    for (let after = 0; ; ) {
      const last = guarded("retain", () => maxSpanRowid.get(after));
      if (last === null || last === undefined) break;
      guarded("retain", () => deleteDeadSpans.run(after, 0));
      after = last;
      await turn();
    }
    while (guarded("retain", () => deleteLegacyChunk.run(ids)).changes > 0) await turn();
    for (let after = 0; ; ) {
      const last = guarded("retain", () => maxBodyRowid.get(after));
      if (last === null || last === undefined) break;
      guarded("retain", () => deleteBodiesChunk.run(after));
      after = last;
      await turn();
    }
  }

  return {
    async put(generation, resources) {
      const input = readGenerationInput(generation, resources);
      return exclusive(() => writeGeneration(input));
    },
    async list() {
      return guarded("list", () => selectRecords.all()).map(({ id, record }): StoredGeneration => ({ id, record: JSON.parse(record) as Record<string, unknown> }));
    },
    async resources(id) {
      const rows = guarded("resources", () => (hasSpanGeneration.get(id) !== undefined ? selectSpanResources.all(id, id) : hasLegacy.get(id) !== undefined ? selectLegacyResources.all(id) : []));
      if (rows.length === 0) return undefined;
      // Sorted here, not by ORDER BY: SQLite compares UTF-8 bytes, which differs from JavaScript's order above U+FFFF.
      return rows.sort(compareResources).map(({ typeUrl, name, body }): StoredResource => ({ typeUrl, name, body: new Uint8Array(body) }));
    },
    retain(keep) {
      return exclusive(() => retainOnly(keep));
    },
  };
}
