import assert from "node:assert/strict";
import { after, test } from "node:test";
import { ENDPOINT_TYPE, loadCodec } from "../../src/proto/index.js";
import { tempDir } from "../helpers/control-plane.js";
import { openRawAds } from "../helpers/raw-ads.js";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.js";

const codec = loadCodec();
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function api(base: string, auth: Pick<ServeProcess, "headers">, method: string, path: string, body?: unknown): Promise<any> {
  const headers = auth.headers(body === undefined ? {} : { "content-type": "application/json" });
  const res = await fetch(base + path, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function edsPorts(xdsPort: number): Promise<number[]> {
  const s = openRawAds(xdsPort, codec);
  try {
    s.send({ node: { id: "restart-check", cluster: "test", user_agent_name: "raw" }, type_url: ENDPOINT_TYPE, resource_names: ["greeter"] });
    const r = await s.next();
    return r.resources.flatMap((x) => codec.decodeResource(ENDPOINT_TYPE, x.value).endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? 0))).sort((a, b) => a - b);
  } finally {
    s.close();
  }
}

test("guard - generations and their statuses survive a restart of serve; a held generation stays held", async () => {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const args = ["--data-dir", dir.path, "--guard-drain-interval-ms", "600000"];
  const first = await startServeProcess(args);
  for (let i = 1; i <= 10; i++) await api(first.adminUrl, first, "PUT", `/v1/services/greeter/instances/i${i}`, { address: "127.0.0.1", port: 9000 + i });
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all(Array.from({ length: 9 }, (_, k) => api(first.adminUrl, first, "DELETE", `/v1/services/greeter/instances/i${k + 2}`)));
  let before: Array<{ id: number; status: string }> = [];
  for (let i = 0; i < 50 && before.at(-1)?.status !== "held"; i++) {
    await new Promise((r) => setTimeout(r, 50));
    before = (await api(first.adminUrl, first, "GET", "/v1/generations")).generations;
  }
  assert.equal(before.at(-1)?.status, "held", JSON.stringify(before));
  assert.ok(before.some((g) => g.status === "pushed"));
  assert.equal(await first.stop("SIGTERM"), 0);

  const second = await startServeProcess(args);
  cleanups.push(() => second.stop());
  // The registry builds the same held snapshot again: no new generation, and clients still get all 10.
  await new Promise((r) => setTimeout(r, 500));
  const afterRestart = (await api(second.adminUrl, second, "GET", "/v1/generations")).generations;
  assert.deepEqual(afterRestart, before);
  assert.deepEqual(await edsPorts(second.xdsPort), Array.from({ length: 10 }, (_, k) => 9001 + k));
  const approved = await api(second.adminUrl, second, "POST", `/v1/generations/${before.at(-1)!.id}/approve`);
  assert.equal(approved.status, "pushed");
  assert.deepEqual(await edsPorts(second.xdsPort), [9001]);
});
