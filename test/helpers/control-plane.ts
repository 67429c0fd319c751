import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, SERVE_DEFAULTS, type RunningServer, type ServeOptions } from "../../src/server/index.js";
import { testLogger } from "./test-logs.js";

export interface TestControlPlane extends RunningServer {
  readonly adminUrl: string;
  /** The operator token serve wrote to `<dataDir>/admin-token` (empty with `auth: false`). */
  readonly adminToken: string;
  /** `<dataDir>/admin-token`, where serve wrote adminToken. */
  readonly adminTokenFile: string;
  /** `--admin URL --token T`, for CLI commands run against this control plane. */
  readonly cliArgs: readonly string[];
  /** The Authorization header of adminToken, plus `extra`. */
  headers(extra?: Record<string, string>): Record<string, string>;
  /** PUTs an instance through the admin API; throws on a non-2xx answer. */
  register(service: string, id: string, port: number, extra?: object): Promise<void>;
  deregister(service: string, id: string): Promise<void>;
  /** Sends a request to the admin API and returns the status and JSON body. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/**
 * Starts steadymesh in-process on free loopback ports, with a memory store
 * unless told otherwise, and a 10 ms push quiet period (production: 100 ms)
 * so that a registration reaches clients before the next step of a test;
 * test/unit/spine.test.ts covers the delays themselves. Authentication is on
 * as in production: without a `dataDir` a temporary one (removed on close)
 * receives the admin token, and `api` sends it. Under test/run.sh it logs at
 * info into the suite's log dir (test/helpers/test-logs.ts), else nothing.
 */
export async function startControlPlane(overrides: Partial<ServeOptions> = {}): Promise<TestControlPlane> {
  const temporary = overrides.dataDir === undefined ? await tempDir("steadymesh-cp-") : undefined;
  const dataDir = overrides.dataDir ?? temporary!.path;
  const server = await startServer({
    ...SERVE_DEFAULTS,
    dataDir,
    store: "memory",
    xdsPort: 0,
    adminPort: 0,
    dnsPort: 0,
    pushMinDelayMs: 10,
    pushMaxDelayMs: 1000,
    logger: testLogger("control-plane"),
    ...overrides,
  });
  const adminUrl = `http://${server.admin.host}:${server.admin.port}`;
  const auth = overrides.auth ?? SERVE_DEFAULTS.auth;
  const adminToken = auth ? (await readFile(join(dataDir, "admin-token"), "utf8")).trim() : "";
  const headers = (extra: Record<string, string> = {}): Record<string, string> => (auth ? { authorization: `Bearer ${adminToken}`, ...extra } : extra);
  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(adminUrl + path, {
      method,
      headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  return {
    ...server,
    close: async () => {
      await server.close();
      await temporary?.cleanup();
    },
    adminUrl,
    adminToken,
    adminTokenFile: join(dataDir, "admin-token"),
    cliArgs: ["--admin", adminUrl, ...(auth ? ["--token", adminToken] : [])],
    headers,
    api,
    async register(service, id, port, extra = {}) {
      const res = await api("PUT", `/v1/services/${service}/instances/${id}`, { address: "127.0.0.1", port, ...extra });
      if (res.status >= 300) throw new Error(`register ${service}/${id}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async deregister(service, id) {
      const res = await api("DELETE", `/v1/services/${service}/instances/${id}`);
      if (res.status >= 300) throw new Error(`deregister ${service}/${id}: ${res.status} ${JSON.stringify(res.body)}`);
    },
  };
}

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(prefix = "steadymesh-test-"): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
