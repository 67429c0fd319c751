import assert from "node:assert/strict";
import { test } from "node:test";
import { createDeltaBroadcast } from "../../bench/xds/broadcast.js";
import type { GatedStream } from "../../src/xds/index.js";

function stream(protocol: "sotw" | "delta"): GatedStream & { readonly sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  return { protocol, sent, send: (bytes) => void sent.push(bytes), end: () => assert.fail("the broadcast never ends a stream") };
}

test("bench broadcast - writes the same bytes to every open Delta stream, and only those", () => {
  const broadcast = createDeltaBroadcast();
  const [d1, d2, sotw] = [stream("delta"), stream("delta"), stream("sotw")];
  const admissions = [d1, d2, sotw].map((s) => broadcast.attachStream(s));
  assert.ok(admissions.every((a) => "detach" in a), "no stream is refused");
  const bytes = Uint8Array.of(1, 2, 3);
  assert.equal(broadcast.broadcastEncoded(bytes), 2);
  assert.deepEqual([d1.sent, d2.sent, sotw.sent], [[bytes], [bytes], []]);

  const first = admissions[0]!;
  if ("detach" in first) first.detach();
  assert.equal(broadcast.broadcastEncoded(bytes), 1, "a closed stream is forgotten");
  assert.equal(d1.sent.length, 1);
  assert.equal(d2.sent.length, 2);
});
