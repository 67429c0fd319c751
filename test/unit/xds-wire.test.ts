import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLUSTER_TYPE, ENDPOINT_TYPE, loadCodec } from "../../src/proto/index.js";
import { createResource } from "../../src/snapshot/assemble.js";
import { createResponseWire } from "../../src/xds/wire.js";

const codec = loadCodec();
const cla = (name: string, port: number) =>
  createResource(ENDPOINT_TYPE, name, codec.encodeResource(ENDPOINT_TYPE, { cluster_name: name, endpoints: [{ locality: { region: "r", zone: "z" }, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: port } } }, health_status: "HEALTHY", load_balancing_weight: { value: 1 } }] }] }));

describe("xds wire", () => {
  it("xds wire - a SotW response built from shared parts decodes to the same message as one encoded whole", () => {
    const wire = createResponseWire(codec);
    const resources = [cla("a", 1), cla("b", 2)];
    const bytes = wire.sotw({ version: "v1", typeUrl: ENDPOINT_TYPE, nonce: "7" }, resources);
    const whole = codec.encodeDiscoveryResponse({ version_info: "v1", resources: resources.map((r) => ({ type_url: r.typeUrl, value: r.body })), type_url: ENDPOINT_TYPE, nonce: "7", control_plane: { identifier: "steadymesh" } });
    assert.deepEqual(codec.decodeDiscoveryResponse(bytes), codec.decodeDiscoveryResponse(whole));
  });

  it("xds wire - a Delta response built from shared parts decodes to the same message as one encoded whole", () => {
    const wire = createResponseWire(codec);
    const resources = [cla("a", 1)];
    const bytes = wire.delta({ systemVersion: "s1", typeUrl: ENDPOINT_TYPE, nonce: "3", removed: ["gone", "old"] }, resources);
    const decoded = codec.decodeDeltaDiscoveryResponse(bytes);
    const whole = codec.encodeDeltaDiscoveryResponse({
      system_version_info: "s1",
      resources: resources.map((r) => ({ name: r.name, aliases: [], version: r.version, resource: { type_url: r.typeUrl, value: r.body } })),
      type_url: ENDPOINT_TYPE, removed_resources: ["gone", "old"], removed_resource_names: [], nonce: "3", control_plane: { identifier: "steadymesh" },
    });
    assert.deepEqual(decoded, codec.decodeDeltaDiscoveryResponse(whole));
  });

  it("xds wire - each resource version is encoded once per protocol, each SotW resource list once", () => {
    const wire = createResponseWire(codec);
    const a = cla("a", 1);
    const list = [a, cla("b", 2)];
    for (let nonce = 1; nonce <= 50; nonce++) {
      wire.sotw({ version: "v", typeUrl: ENDPOINT_TYPE, nonce: String(nonce) }, list);
      wire.delta({ systemVersion: "v", typeUrl: ENDPOINT_TYPE, nonce: String(nonce), removed: [] }, [a]);
    }
    wire.sotw({ version: "w", typeUrl: ENDPOINT_TYPE, nonce: "51" }, [a]);
    assert.deepEqual(wire.counts(), { sotwEntries: 2, deltaEntries: 1, sotwBlocks: 2 });
  });

  it("xds wire - an empty SotW response has only its header", () => {
    const wire = createResponseWire(codec);
    const decoded = codec.decodeDiscoveryResponse(wire.sotw({ version: "", typeUrl: CLUSTER_TYPE, nonce: "1" }, []));
    assert.deepEqual([decoded.resources, decoded.type_url, decoded.nonce], [[], CLUSTER_TYPE, "1"]);
  });
});
