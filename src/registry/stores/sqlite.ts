import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SteadyError, UnavailableError } from "../../errors/index.js";
import { createSilentLogger, type Logger } from "../../log/index.js";
import type { Instance, Service } from "../model.js";
import type { Backend, ChangeEvent, Mutation, StoreState } from "../store.js";
import { applyMutations, freezeInstance, freezeService, type Tables } from "./apply.js";
import { createFeed } from "./feed.js";
import { createGroupCommit, type ItemOutcome } from "./group-commit.js";
import { createSqliteGenerationLog, GENERATION_SCHEMA } from "./generation-log-sqlite.js";
import { createSqliteTokenStore, TOKEN_SCHEMA } from "./token-store-sqlite.js";

/**
 * Bumped when the tables change shape; a file from a newer steadymesh is
 * refused rather than misread. Version 2 added the generation log's tables:
 * a version-1 file gains them, empty, on open (every statement of the schema
 * is IF NOT EXISTS), and its registry tables are left as they are. Version 3
 * added the generation log's spans (generation-log-sqlite.ts) the same way:
 * a version-2 file's generations stay readable from their old rows. The
 * unique-endpoint index (instances_by_endpoint) is made the same way on open
 * of any older file: an index, not a change of shape. So are the admin
 * tokens table (token-store-sqlite.ts) and the `secrets` table (Secrets in
 * store.ts: the built-in CA), which an older version ignores.
 */
const SCHEMA_VERSION = 3;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
  INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);
  CREATE TABLE IF NOT EXISTS services (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS instances (
    service TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (service, id)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS instances_by_endpoint ON instances (service, value ->> '$.address', value ->> '$.port');
  CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
${GENERATION_SCHEMA}${TOKEN_SCHEMA}`;

/** Commits written in one transaction at most: bounds how long one batch holds the event loop. */
const MAX_BATCH = 256;

export interface SqliteStoreOptions {
  /** Created if missing; the database is `<dataDir>/registry.db`. */
  readonly dataDir: string;
  readonly logger?: Logger;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isLockError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED";
}

/**
 * WAL with `locking_mode = EXCLUSIVE`: the first write transaction takes a
 * lock that this connection holds until it closes, and SQLite releases it if
 * the process dies. A second opener (another process, or another connection
 * in this one) gets SQLITE_BUSY at once (`timeout: 0`) instead of sharing the
 * file. The lock is also why watch() only needs to see this connection's
 * commits: no other process can write.
 */
function prepareDatabase(db: Database.Database): void {
  db.pragma("locking_mode = EXCLUSIVE");
  db.pragma("journal_mode = WAL");
  // A registry write is rare and must survive power loss once acknowledged.
  db.pragma("synchronous = FULL");
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new UnavailableError(`registry.db has schema version ${version}, newer than this steadymesh supports (${SCHEMA_VERSION})`);
  }
  db.transaction(() => {
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function openDatabase(dataDir: string): Database.Database {
  const file = join(dataDir, "registry.db");
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 0 });
    prepareDatabase(db);
    return db;
  } catch (err) {
    db?.close();
    if (isLockError(err)) throw new UnavailableError(`data dir ${dataDir} is in use by another steadymesh process`, { cause: err });
    if (err instanceof SteadyError) throw err;
    throw new UnavailableError(`cannot open ${file}: ${describe(err)}`, { cause: err });
  }
}

function sqliteTables(db: Database.Database): Tables & { revision(): number; setRevision(revision: number): void; allServices(): Service[]; allInstances(): Instance[] } {
  const getService = db.prepare<[string], string>("SELECT value FROM services WHERE name = ?").pluck();
  const putService = db.prepare<[string, string]>("INSERT OR REPLACE INTO services (name, value) VALUES (?, ?)");
  const deleteService = db.prepare<[string]>("DELETE FROM services WHERE name = ?");
  const getInstance = db.prepare<[string, string], string>("SELECT value FROM instances WHERE service = ? AND id = ?").pluck();
  const listInstances = db.prepare<[string], string>("SELECT value FROM instances WHERE service = ? ORDER BY id").pluck();
  const putInstance = db.prepare<[string, string, string]>("INSERT OR REPLACE INTO instances (service, id, value) VALUES (?, ?, ?)");
  // Matches instances_by_endpoint's expressions, so it is an index lookup, not a scan of the service.
  const findEndpoint = db.prepare<[string, string, number, string], string>(
    "SELECT value FROM instances WHERE service = ? AND value ->> '$.address' = ? AND value ->> '$.port' = ? AND id <> ? LIMIT 1",
  ).pluck();
  const deleteInstance = db.prepare<[string, string]>("DELETE FROM instances WHERE service = ? AND id = ?");
  const getRevision = db.prepare<[], number>("SELECT value FROM meta WHERE key = 'revision'").pluck();
  const setRevision = db.prepare<[number]>("UPDATE meta SET value = ? WHERE key = 'revision'");
  const allServices = db.prepare<[], string>("SELECT value FROM services ORDER BY name").pluck();
  const allInstances = db.prepare<[], string>("SELECT value FROM instances ORDER BY service, id").pluck();
  const service = (json: string | undefined) => (json === undefined ? undefined : freezeService(JSON.parse(json) as Service));
  const instance = (json: string | undefined) => (json === undefined ? undefined : freezeInstance(JSON.parse(json) as Instance));
  return {
    getService: (name) => service(getService.get(name)),
    putService: (value) => void putService.run(value.name, JSON.stringify(value)),
    deleteService: (name) => void deleteService.run(name),
    getInstance: (name, id) => instance(getInstance.get(name, id)),
    listInstances: (name) => listInstances.all(name).map((json) => instance(json)!),
    findEndpoint: (name, address, port, exceptId) => instance(findEndpoint.get(name, address, port, exceptId))?.id,
    putInstance: (value) => void putInstance.run(value.service, value.id, JSON.stringify(value)),
    deleteInstance: (name, id) => void deleteInstance.run(name, id),
    revision: () => getRevision.get() ?? 0,
    setRevision: (revision) => void setRevision.run(revision),
    allServices: () => allServices.all().map((json) => service(json)!),
    allInstances: () => allInstances.all().map((json) => instance(json)!),
  };
}

/**
 * The embedded default Store: `<dataDir>/registry.db`, one SQLite
 * transaction per commit, values as JSON, the revision in the `meta` table so
 * it keeps rising across restarts, and the generation log in the same file
 * on the same connection. Throws UnavailableError when the data dir
 * cannot be created or opened, or is in use by another process.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Backend> {
  const { dataDir } = options;
  const logger = options.logger ?? createSilentLogger();
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new UnavailableError(`cannot create data dir ${dataDir}: ${describe(err)}`, { cause: err });
  }
  const db = openDatabase(dataDir);
  const tables = sqliteTables(db);
  const feed = createFeed(logger);
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new UnavailableError(`sqlite store for ${dataDir} is closed`);
  };
  const failure = (what: string, err: unknown): Error =>
    err instanceof SteadyError ? err : new UnavailableError(`sqlite ${what} failed in ${dataDir}: ${describe(err)}`, { cause: err });
  // One commit: a savepoint inside its batch's transaction (better-sqlite3 nests transactions as savepoints), so a commit that throws undoes only itself.
  const writeOne = db.transaction((mutations: readonly Mutation[]): readonly ChangeEvent[] => {
    const revision = tables.revision() + 1;
    const events = applyMutations(tables, mutations, revision);
    if (events.length > 0) tables.setRevision(revision);
    return events;
  });
  // One batch: one immediate transaction, so one fsync (synchronous = FULL) makes every commit in it durable.
  const writeBatch = db.transaction((batch: readonly (readonly Mutation[])[]): ItemOutcome<readonly ChangeEvent[]>[] =>
    batch.map((mutations) => {
      try {
        return { ok: true, value: writeOne(mutations) };
      } catch (error) {
        return { ok: false, error: failure("commit", error) };
      }
    }),
  );
  const group = createGroupCommit((batch: readonly (readonly Mutation[])[]) => {
    let outcomes: ItemOutcome<readonly ChangeEvent[]>[];
    try {
      outcomes = writeBatch.immediate(batch);
    } catch (err) {
      throw failure("commit", err);
    }
    // Durable now: watchers hear of each commit, in revision order, before its writer does.
    for (const outcome of outcomes) if (outcome.ok && outcome.value.length > 0) feed.publish(outcome.value);
    return outcomes;
  }, MAX_BATCH);
  const getSecret = db.prepare<[string], string>("SELECT value FROM secrets WHERE name = ?").pluck();
  const insertSecret = db.prepare<[string, string]>("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)");
  // One process holds the file (the exclusive lock above), so insert-then-read in one transaction is the whole race.
  const putSecret = db.transaction((name: string, value: string): string => {
    insertSecret.run(name, value);
    return getSecret.get(name)!;
  });
  const read = db.transaction((): StoreState => ({ revision: tables.revision(), services: tables.allServices(), instances: tables.allInstances() }));

  logger.info({ dataDir, revision: tables.revision() }, "sqlite store opened");
  return {
    kind: "sqlite",
    generations: createSqliteGenerationLog(db, { ensureOpen, failure }),
    tokens: createSqliteTokenStore(db, { ensureOpen, failure }),
    secrets: {
      async get(name) {
        ensureOpen();
        try {
          return getSecret.get(name);
        } catch (err) {
          throw failure("secret read", err);
        }
      },
      async putIfAbsent(name, value) {
        ensureOpen();
        try {
          return putSecret.immediate(name, value);
        } catch (err) {
          throw failure("secret write", err);
        }
      },
    },
    async load() {
      ensureOpen();
      return read();
    },
    async commit(mutations) {
      ensureOpen();
      const events = await group.submit(mutations);
      if (events.length === 0) return { revision: tables.revision(), events };
      return { revision: events[0]!.revision, events };
    },
    commitStats: () => group.stats(),
    watch: (onEvents) => feed.watch(onEvents),
    async close() {
      if (closed) return;
      // What was submitted before close is written, not dropped.
      group.flush();
      closed = true;
      feed.clear();
      db.close();
      logger.info({ dataDir }, "sqlite store closed");
    },
  };
}
