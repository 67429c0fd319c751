import assert from "node:assert/strict";
import { test } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import { answerQuery, createZone } from "../../src/dns/index.js";
import { createQueryHandler } from "../../src/dns/query-handler.js";
import { createSilentLogger } from "../../src/log/index.js";
import { fuzzPackets } from "../helpers/dns-fuzz.js";
import { entry, view } from "../helpers/registry-view.js";

// At most two records at a name (ANY), so a response matches the fresh answer at rotation 0 or 1.
const VIEW = view(1, [entry("greeter", [{ id: "a" }, { id: "b", address: "fd00::2", port: 9 }]), entry("big", [{ id: "x" }])]);
const ZONE = createZone({ domain: "mesh", ttlSeconds: 5, nameserverAddresses: ["127.0.0.53"] });

test("dns cache - for 3,000 seeded random and mutated messages, every response is byte for byte the fresh answer, and the cache keeps to its budget", () => {
  const budget = 64 * 1024;
  const { handle, cacheUsage } = createQueryHandler({ zone: () => ZONE, view: () => VIEW, logger: createSilentLogger(), clock: createFakeClock(), cacheBytes: budget });
  const packets = fuzzPackets(13, 3000, { maxJunk: 300 });
  // Each packet twice: the second time, any kept answer is used.
  let compared = 0;
  for (const packet of [...packets, ...packets]) {
    for (const transport of ["udp", "tcp"] as const) {
      const got = handle(packet, transport, { address: "192.0.2.1", port: 53 }).response;
      const fresh = [0, 1].map((rotation) => answerQuery(packet, { zone: ZONE, view: VIEW, transport, rotation }).response);
      if (!fresh.some((f) => (f && got ? f.equals(got) : f === got))) assert.fail(`${transport} ${packet.toString("hex")}: got ${got?.toString("hex")}, fresh ${fresh[0]?.toString("hex")}`);
      if (got) compared++;
    }
    assert.ok(cacheUsage().bytes <= budget);
  }
  assert.ok(compared > 6000, `${compared} responses compared`);
  assert.ok(cacheUsage().entries > 0);
});
