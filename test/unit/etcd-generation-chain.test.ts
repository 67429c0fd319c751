import assert from "node:assert/strict";
import { test } from "node:test";
import { UnavailableError } from "../../src/errors/index.js";
import { chainOf, decodeEntry, encodeEntry, fold, replay, type ChainEntry, type Ref } from "../../src/registry/stores/etcd-generation-chain.js";

const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

test("etcd generation chain - replay applies each entry's removals and upserts in order, sorted by (typeUrl, name)", () => {
  const whole: ChainEntry = { base: null, upserts: [[EDS, "b", "h1"], [CDS, "a", "h2"], [EDS, "a", "h3"]], removals: [] };
  const next: ChainEntry = { base: 1, upserts: [[EDS, "a", "h4"]], removals: [[EDS, "b"], [CDS, "zz"]] };
  assert.deepEqual(replay([whole]), [[CDS, "a", "h2"], [EDS, "a", "h3"], [EDS, "b", "h1"]]);
  assert.deepEqual(replay([whole, next]), [[CDS, "a", "h2"], [EDS, "a", "h4"]]);
});

test("etcd generation chain - chainOf walks bases back to a whole entry and refuses a missing or newer base", () => {
  const bases = new Map<number, number | null>([[1, null], [3, 1], [4, 3], [7, 4]]);
  assert.deepEqual(chainOf(7, (id) => bases.get(id)), [1, 3, 4, 7]);
  assert.deepEqual(chainOf(1, (id) => bases.get(id)), [1]);
  assert.throws(() => chainOf(7, (id) => (id === 3 ? undefined : bases.get(id))), UnavailableError);
  assert.throws(() => chainOf(4, (id) => (id === 3 ? 5 : bases.get(id))), UnavailableError);
});

test("etcd generation chain - an entry larger than one part splits and reads back equal; parts missing are refused", () => {
  const upserts: Ref[] = Array.from({ length: 12_000 }, (_, i) => [EDS, `service-${i}-\u{1f600}`, "ab".repeat(32)]);
  const entry: ChainEntry = { base: 9, upserts, removals: [[CDS, "gone"]] };
  const { head, parts } = encodeEntry(entry);
  assert.ok(parts.length > 1, `${parts.length} parts`);
  assert.ok(parts.every((part) => part.byteLength <= 512 * 1024));
  assert.equal(head.base, 9);
  assert.equal(head.parts, parts.length);
  assert.deepEqual(decodeEntry(10, head, parts), entry);
  assert.throws(() => decodeEntry(10, head, parts.slice(1)), UnavailableError);
  assert.notEqual(encodeEntry(entry).head.tag, head.tag, "each write gets its own tag");
});

test("etcd generation chain - folding dropped entries into the next kept one reads back the same resources (seeded random chains)", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let round = 0; round < 60; round++) {
    const entries: ChainEntry[] = [];
    const length = 2 + Math.floor(random() * 10);
    for (let i = 0; i < length; i++) {
      const upserts: Ref[] = [];
      const removals: [string, string][] = [];
      const used = new Set<string>();
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        const typeUrl = random() < 0.5 ? CDS : EDS;
        const name = `s${Math.floor(random() * 6)}`;
        if (used.has(typeUrl + name)) continue;
        used.add(typeUrl + name);
        if (i > 0 && random() < 0.3) removals.push([typeUrl, name]);
        else upserts.push([typeUrl, name, `h${round}.${i}.${k}`]);
      }
      entries.push({ base: i === 0 ? null : i, upserts, removals });
    }
    // Keep entry `kept` and fold the ones from `from` up to it: whole when `from` is 0.
    const kept = 1 + Math.floor(random() * (length - 1));
    const from = Math.floor(random() * kept);
    const merged = fold(from === 0 ? null : from, entries.slice(from, kept + 1));
    const expected = replay(entries.slice(0, kept + 1));
    assert.deepEqual(replay([...entries.slice(0, from), merged]), expected, `round ${round}: fold ${from}..${kept}`);
    if (from === 0) assert.deepEqual(merged.removals, [], "a whole entry lists no removals");
  }
});
