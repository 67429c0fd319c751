import assert from "node:assert/strict";
import { test } from "node:test";
import { addFlip, decayedPenalty, releaseDelay, settle, UNDAMPED } from "../../src/health/damping.js";
import { DAMPING_DEFAULTS } from "../../src/health/index.js";
import { CHECK, metricValue, putChecked, setupHealth } from "./health-fixtures.js";

const P = DAMPING_DEFAULTS;

test("health damping - the penalty halves every half-life", () => {
  const state = { penalty: 4000, at: 0, suppressed: false };
  assert.equal(decayedPenalty(state, P, P.halfLifeMs), 2000);
  assert.equal(decayedPenalty(state, P, 2 * P.halfLifeMs), 1000);
  assert.equal(decayedPenalty(state, P, -5), 4000, "no growth backwards in time");
});

test("health damping - suppressed above the suppress limit, released only below the reuse limit, capped at the maximum", () => {
  let state = UNDAMPED;
  for (let i = 0; i < 3; i++) state = addFlip(state, P, 0);
  assert.deepEqual(state, { penalty: 3000, at: 0, suppressed: false }, "at the limit is not above it");
  state = addFlip(state, P, 0);
  assert.equal(state.suppressed, true);
  for (let i = 0; i < 10; i++) state = addFlip(state, P, 0);
  assert.equal(state.penalty, P.maxPenalty);
  // 8000 → 1000 takes three half-lives: the longest possible hold.
  assert.equal(releaseDelay(state, P), 3 * P.halfLifeMs + 1);
  assert.equal(settle(state, P, 3 * P.halfLifeMs - 1).suppressed, true);
  assert.equal(settle(state, P, 3 * P.halfLifeMs + 1).suppressed, false);
  // Between the limits, a suppressed instance stays suppressed and an unsuppressed one is not suppressed.
  assert.equal(settle({ penalty: 2000, at: 0, suppressed: true }, P, 0).suppressed, true);
  assert.equal(releaseDelay({ penalty: 2000, at: 0, suppressed: false }, P), undefined);
});

test("health damping - a flapping instance is held unhealthy from its fourth flip until the penalty decays", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", { ...CHECK, healthyThreshold: 1, unhealthyThreshold: 1 }, [1]);
  for (const answer of ["fail", "pass", "fail"] as const) {
    h.prober.answer(1, answer);
    await h.advance(1000);
  }
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  h.prober.answer(1, "pass");
  await h.advance(1000); // the fourth flip, back to healthy: held
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  assert.equal(await metricValue(h.metrics, "steadymesh_health_suppressed_instances"), 1);
  const warning = h.logLines().find((line) => line.msg === "instance is flapping; damping holds it unhealthy until its penalty decays");
  assert.equal(warning?.id, "i1");
  // Penalty ≈ 3932 at the fourth flip: below 1000 after 60 s × log2(3.932) ≈ 118.5 s of passing checks.
  await h.advance(115_000, 250);
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  await h.advance(5000, 250);
  assert.equal(h.instance("svc", "i1")?.health, "healthy");
  assert.equal(await metricValue(h.metrics, "steadymesh_health_suppressed_instances"), 0);
  const held = h.logLines().filter((line) => line.to === "unhealthy").at(-1);
  assert.match(String(held?.why), /^1 grpc check\(s\) failed in a row \(last: connection refused\)$/);
  await h.close();
});

test("health damping - a backend that goes down and comes back (two flips) is never held", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1]);
  h.prober.answer(1, "fail");
  await h.advance(3000);
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  h.prober.answer(1, "pass");
  await h.advance(2000);
  assert.equal(h.instance("svc", "i1")?.health, "healthy");
  assert.equal(await metricValue(h.metrics, "steadymesh_health_suppressed_instances"), 0);
  await h.close();
});

test("health damping - the hold's reason is logged with the instance's transition", async () => {
  const h = await setupHealth({ damping: { ...P, suppressLimit: 1500 } });
  await putChecked(h.registry, "svc", { ...CHECK, healthyThreshold: 1, unhealthyThreshold: 1 }, [1]);
  h.prober.answer(1, "fail");
  await h.advance(1000);
  h.prober.answer(1, "pass");
  await h.advance(1000); // second flip: above 1500, held
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  await h.registry.putInstance("svc", "i1", { address: "10.0.0.1", port: 1 }); // an operator sets it healthy by hand
  await h.advance(1000);
  const line = h.logLines().filter((l) => l.to === "unhealthy").at(-1);
  assert.match(String(line?.why), /^\d grpc check\(s\) passed in a row, but held unhealthy for flapping \(penalty \d+ > 1500, released below 1000\)$/);
  await h.close();
});
