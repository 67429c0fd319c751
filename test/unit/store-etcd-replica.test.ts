/**
 * The etcd replica claim's waits and retries, on a fake clock over a fake
 * etcd that models one key, its `Create == 0` transaction and leases. The
 * claim against a real etcd is in test/integration/store-etcd.test.ts.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import type { Etcd3 } from "etcd3";
import { UnavailableError } from "../../src/errors/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { claimReplica } from "../../src/registry/stores/etcd-replica.js";
import { createFakeClock } from "../helpers/fake-clock.js";

const KEY = "/steadymesh/replicas/r1/owner";

class FakeLease extends EventEmitter {
  revoked = false;
  constructor(private readonly etcd: FakeEtcd) {
    super();
  }
  grant(): Promise<string> {
    return Promise.resolve(`lease-${this.etcd.attempts}`);
  }
  revoke(): Promise<void> {
    this.revoked = true;
    if (this.etcd.holder === this) this.etcd.holder = undefined;
    return Promise.resolve();
  }
}

/** One key; `holder` is the lease that holds it ("other" for another process). */
class FakeEtcd {
  holder: FakeLease | "other" | undefined;
  attempts = 0;
  readonly leases: FakeLease[] = [];
  lease(): FakeLease {
    const lease = new FakeLease(this);
    this.leases.push(lease);
    return lease;
  }
  put(key: string) {
    assert.equal(key, KEY);
    return { value: () => ({ lease: () => ({}) }) };
  }
  if(key: string, target: string, cmp: string, value: number) {
    assert.deepEqual([key, target, cmp, value], [KEY, "Create", "==", 0]);
    return {
      then: () => ({
        commit: () => {
          this.attempts++;
          const lease = this.leases[this.leases.length - 1]!;
          if (this.holder !== undefined) return Promise.resolve({ succeeded: false });
          this.holder = lease;
          return Promise.resolve({ succeeded: true });
        },
      }),
    };
  }
  asClient(): Etcd3 {
    return this as unknown as Etcd3;
  }
}

/** Lets the claim's promise chains run; time stands still. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test("store etcd replica - a held id is tried again each second on the clock, then given up after waitMs", async () => {
  const etcd = new FakeEtcd();
  etcd.holder = "other";
  const clock = createFakeClock(1_000_000);
  let outcome: unknown;
  const outcomeNow = (): unknown => outcome;
  claimReplica(etcd.asClient(), KEY, "r1", createSilentLogger(), clock, 3000).then(
    () => (outcome = "claimed"),
    (err: unknown) => (outcome = err),
  );
  await settle();
  assert.equal(etcd.attempts, 1);
  for (let second = 1; second <= 3; second++) {
    clock.advance(999);
    await settle();
    assert.equal(etcd.attempts, second, "no attempt before the second is over");
    clock.advance(1);
    await settle();
    assert.equal(etcd.attempts, second + 1);
  }
  assert.equal(outcomeNow(), undefined, "at exactly waitMs it still waits");
  clock.advance(1000);
  await settle();
  assert.equal(etcd.attempts, 5);
  const failure = outcomeNow();
  assert.ok(failure instanceof UnavailableError, String(failure));
  assert.match(failure.message, /replica id "r1" is in use/);
  assert.equal(clock.pending(), 0);
  assert.ok(etcd.leases.every((l) => l.revoked), "every lease of a failed attempt is revoked");
});

test("store etcd replica - an id freed while waiting is claimed at the next attempt", async () => {
  const etcd = new FakeEtcd();
  etcd.holder = "other";
  const clock = createFakeClock();
  const claim = claimReplica(etcd.asClient(), KEY, "r1", createSilentLogger(), clock, 10_000);
  await settle();
  etcd.holder = undefined;
  clock.advance(1000);
  await claim;
  assert.equal(etcd.attempts, 2);
  assert.equal(etcd.holder, etcd.leases[1]);
  assert.equal(clock.pending(), 0);
});

test("store etcd replica - a lost lease is claimed again every 2 s on the clock; release stops the retries", async () => {
  const etcd = new FakeEtcd();
  const clock = createFakeClock();
  const claim = await claimReplica(etcd.asClient(), KEY, "r1", createSilentLogger(), clock);
  const first = etcd.leases[0]!;
  etcd.holder = "other"; // another process took the id while this one was cut off
  first.emit("lost", new Error("lease expired"));
  assert.equal(clock.pending(), 1);
  clock.advance(1999);
  await settle();
  assert.equal(etcd.attempts, 1);
  clock.advance(1);
  await settle();
  assert.equal(etcd.attempts, 2, "tried again after 2 s");
  assert.equal(clock.pending(), 1, "still held by the other: another try is scheduled");
  etcd.holder = undefined;
  clock.advance(2000);
  await settle();
  assert.equal(etcd.attempts, 3);
  const second = etcd.leases[2]!;
  assert.equal(etcd.holder, second, "claimed again");
  assert.equal(clock.pending(), 0);

  etcd.holder = "other";
  second.emit("lost", new Error("lease expired again"));
  assert.equal(clock.pending(), 1);
  await claim.release();
  assert.equal(clock.pending(), 0, "release cancels the scheduled retry");
  clock.advance(10_000);
  await settle();
  assert.equal(etcd.attempts, 3);
});
