import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { createMetrics, registerClientGauges } from "../../src/metrics/index.js";
import { ALERTS_FILE, dashboardExpressions, exposedNames, metricNamesIn, ruleExpressions } from "../helpers/ops-files.js";

const run = promisify(execFile);

/** promtool's path, or undefined when it is not installed (Debian package `prometheus`; CI installs it). */
async function promtool(): Promise<string | undefined> {
  try {
    return (await run("sh", ["-c", "command -v promtool"])).stdout.trim() || undefined;
  } catch {
    // `command -v` exits 1 when promtool is absent: the caller skips with a message.
    return undefined;
  }
}

describe("ops files", () => {
  it("ops - promtool check rules accepts ops/prometheus/alerts.yml", async (t) => {
    const path = await promtool();
    if (!path) return t.skip("promtool not installed (Debian package `prometheus`; .ci/run installs it): alert rules not checked here");
    const { stdout } = await run(path, ["check", "rules", ALERTS_FILE]);
    assert.match(stdout, /SUCCESS: \d+ rules found/);
  });

  it("ops - metricNamesIn takes metric names and leaves out functions, keywords, labels, strings, ranges and variables", () => {
    assert.deepEqual(metricNamesIn('histogram_quantile(0.99, sum by (instance, le) (rate(a_seconds_bucket{instance=~"$instance", x="y_total"}[5m]))) > 1'), ["a_seconds_bucket"]);
    assert.deepEqual(metricNamesIn("b_total > 0 unless on (service) c_up == bool 1 offset 5m"), ["b_total", "c_up"]);
    assert.deepEqual(metricNamesIn("time() - max(d_seconds{instance=~\"${instance}\"}) + 1e3"), ["d_seconds"]);
  });

  it("ops - exposedNames counts a histogram's _bucket, _sum and _count as its name and every sample's name", () => {
    const names = exposedNames("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\n# TYPE c counter\nc_total 3\nplain 1\n");
    assert.deepEqual([...names].sort(), ["c", "c_total", "h", "h_bucket", "h_count", "h_sum", "plain"]);
  });

  it("ops - the alert rules cover a held generation, NACKing clients, the store, propagation p99 and event-loop stalls", () => {
    const rules = ruleExpressions();
    const byName = new Map(rules.map((r) => [r.rule, r.expr]));
    assert.match(byName.get("SteadymeshGenerationHeld") ?? "", /steadymesh_generations_held/);
    assert.match(byName.get("SteadymeshClientsNacking") ?? "", /steadymesh_xds_clients_nacking/);
    assert.match(byName.get("SteadymeshStoreUnreachable") ?? "", /steadymesh_store_up == 0/);
    assert.match(byName.get("SteadymeshPushPropagationSlow") ?? "", /histogram_quantile\(0\.99, .*steadymesh_push_propagation_seconds_bucket.*\) > 1$/);
    assert.match(byName.get("SteadymeshEventLoopStall") ?? "", /steadymesh_event_loop_delay_max_seconds/);
    for (const { rule, expr } of rules) assert.ok(metricNamesIn(expr).length > 0, `${rule} reads no metric`);
  });

  it("ops - every metric the rules and the dashboard read is registered by createMetrics (the live check: test/integration/ops-metrics.test.ts)", async () => {
    const metrics = createMetrics();
    registerClientGauges(metrics, () => ({ behind: 0, nacking: 0 }));
    const exposed = exposedNames(await metrics.registry.metrics());
    const queries = [...ruleExpressions().map((r) => ({ where: `rule ${r.rule}`, expr: r.expr })), ...dashboardExpressions().map((d) => ({ where: `panel ${d.panel}`, expr: d.expr }))];
    const missing = queries.flatMap((q) => metricNamesIn(q.expr).filter((name) => !exposed.has(name)).map((name) => `${q.where}: ${name}`));
    assert.deepEqual(missing, []);
    assert.ok(dashboardExpressions().length >= 20, "the dashboard has its panels");
  });
});
