import type Database from "better-sqlite3";
import type { GenerationLog, StoredGeneration, StoredResource } from "../generation-log.js";
import { compareResources, readGenerationInput, type GenerationInput } from "./generation-log-input.js";

/**
 * The GenerationLog's tables in registry.db (schema version 2). A body is
 * stored once per content, keyed by its sha256, however many generations
 * list it; `generation_resources` names the bodies of each generation.
 */
export const GENERATION_SCHEMA = `
  CREATE TABLE IF NOT EXISTS generations (id INTEGER PRIMARY KEY, record TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS generation_resources (
    generation INTEGER NOT NULL, type_url TEXT NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (generation, type_url, name)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS generation_resources_by_hash ON generation_resources (hash);
  CREATE TABLE IF NOT EXISTS resource_bodies (hash TEXT PRIMARY KEY, body BLOB NOT NULL) STRICT;
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

/** Binds without copying: better-sqlite3 takes a BLOB parameter as a Buffer. */
function asBuffer(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * A GenerationLog on the store's own connection, so it shares the data dir
 * lock. `put` and `retain` are each one immediate transaction. Bodies a
 * replacement orphans stay until the next `retain` drops them.
 */
export function createSqliteGenerationLog(db: Database.Database, options: SqliteGenerationLogOptions): GenerationLog {
  const upsertRecord = db.prepare<[number, string]>("INSERT INTO generations (id, record) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record");
  const clearResources = db.prepare<[number]>("DELETE FROM generation_resources WHERE generation = ?");
  // All of a generation's rows in one statement: [[typeUrl, name, hash], …] bound as one JSON array (a statement per row costs ~5 µs each in calls alone).
  const insertResources = db.prepare<[number, string]>(
    "INSERT INTO generation_resources (generation, type_url, name, hash) SELECT ?, value ->> 0, value ->> 1, value ->> 2 FROM json_each(?)",
  );
  const insertBody = db.prepare<[string, Buffer]>("INSERT OR IGNORE INTO resource_bodies (hash, body) VALUES (?, ?)");
  const selectRecords = db.prepare<[], { id: number; record: string }>("SELECT id, record FROM generations ORDER BY id");
  const selectResources = db.prepare<[number], ResourceRow>(
    "SELECT r.type_url AS typeUrl, r.name AS name, b.body AS body FROM generation_resources r JOIN resource_bodies b ON b.hash = r.hash WHERE r.generation = ?",
  );
  // `keep` is bound as one JSON array, however many ids it holds.
  const deleteRecords = db.prepare<[string]>("DELETE FROM generations WHERE id NOT IN (SELECT value FROM json_each(?))");
  const deleteResources = db.prepare<[string]>("DELETE FROM generation_resources WHERE generation NOT IN (SELECT value FROM json_each(?))");
  const deleteBodies = db.prepare("DELETE FROM resource_bodies WHERE NOT EXISTS (SELECT 1 FROM generation_resources r WHERE r.hash = resource_bodies.hash)");

  // Hashes whose bodies this connection has stored since the last prune: most of a generation's bodies are its parent's.
  const storedBodies = new Set<string>();
  const write = db.transaction((input: GenerationInput) => {
    upsertRecord.run(input.id, input.json);
    if (!input.resources) return;
    clearResources.run(input.id);
    for (const { hash, body } of input.resources) {
      if (storedBodies.has(hash)) continue;
      insertBody.run(hash, asBuffer(body));
      storedBodies.add(hash);
    }
    insertResources.run(input.id, JSON.stringify(input.resources.map(({ typeUrl, name, hash }) => [typeUrl, name, hash])));
  });
  const prune = db.transaction((keep: string) => {
    deleteRecords.run(keep);
    deleteResources.run(keep);
    deleteBodies.run();
  });

  const guarded = <T>(what: string, run: () => T): T => {
    options.ensureOpen();
    try {
      return run();
    } catch (err) {
      throw options.failure(`generations.${what}`, err);
    }
  };

  return {
    async put(generation, resources) {
      const input = readGenerationInput(generation, resources);
      try {
        guarded("put", () => write.immediate(input));
      } catch (err) {
        // The transaction rolled back: bodies it inserted are gone again.
        storedBodies.clear();
        throw err;
      }
    },
    async list() {
      return guarded("list", () => selectRecords.all()).map(({ id, record }): StoredGeneration => ({ id, record: JSON.parse(record) as Record<string, unknown> }));
    },
    async resources(id) {
      const rows = guarded("resources", () => selectResources.all(id));
      if (rows.length === 0) return undefined;
      // Sorted here, not by ORDER BY: SQLite compares UTF-8 bytes, which differs from JavaScript's order above U+FFFF.
      return rows.sort(compareResources).map(({ typeUrl, name, body }): StoredResource => ({ typeUrl, name, body: new Uint8Array(body) }));
    },
    async retain(keep) {
      storedBodies.clear();
      guarded("retain", () => prune.immediate(JSON.stringify([...keep])));
    },
  };
}
