import type { Metrics } from "../metrics/index.js";
import type { Codec } from "../proto/index.js";
import type { Resource } from "../snapshot/index.js";

/** The header of a State-of-the-World response: everything but its resources. */
export interface SotwHeader {
  readonly version: string;
  readonly typeUrl: string;
  readonly nonce: string;
}

/** The header of a Delta response: everything but its resources. */
export interface DeltaHeader {
  readonly systemVersion: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly removed: readonly string[];
}

/** How much encoding the wire has done since it was made (what the encode-once test counts). */
export interface WireCounts {
  /** A resource version wrapped as a SotW `Any` entry. */
  readonly sotwEntries: number;
  /** A resource version wrapped as a Delta `Resource` entry. */
  readonly deltaEntries: number;
  /** A SotW answer's resource list joined into one block. */
  readonly sotwBlocks: number;
}

/**
 * Builds discovery responses as bytes from parts encoded once.
 *
 * Protobuf defines a concatenation of two encodings of a message as their
 * merge: repeated fields append, scalar fields take the last value. So a
 * response is its small per-stream header (nonce, version, type) followed by
 * the encoded `resources` entries, and each entry is made once per resource
 * version (resources are immutable and shared across snapshots by the build
 * cache) and kept for as long as the resource lives. A SotW answer's whole
 * resource list is also kept as one block, per answer object: the snapshot
 * cache hands every stream with the same subscription the same answer, so a
 * push to N such streams encodes its resources once and then writes N times.
 */
export interface ResponseWire {
  sotw(header: SotwHeader, resources: readonly Resource[]): Uint8Array;
  delta(header: DeltaHeader, resources: readonly Resource[]): Uint8Array;
  counts(): WireCounts;
}

const CONTROL_PLANE = { identifier: "steadymesh" } as const;

export function createResponseWire(codec: Codec, metrics?: Metrics): ResponseWire {
  const sotwEntries = new WeakMap<Resource, Uint8Array>();
  const deltaEntries = new WeakMap<Resource, Uint8Array>();
  const sotwBlocks = new WeakMap<readonly Resource[], Uint8Array>();
  const counts = { sotwEntries: 0, deltaEntries: 0, sotwBlocks: 0 };

  function sotwEntry(resource: Resource): Uint8Array {
    let entry = sotwEntries.get(resource);
    if (!entry) {
      // A response holding nothing but this resource encodes as exactly its `resources` entry.
      entry = codec.encodeDiscoveryResponse({ version_info: "", resources: [{ type_url: resource.typeUrl, value: resource.body }], type_url: "", nonce: "" });
      sotwEntries.set(resource, entry);
      counts.sotwEntries++;
      metrics?.xdsResourceEncodings.inc({ protocol: "sotw" });
    }
    return entry;
  }

  function deltaEntry(resource: Resource): Uint8Array {
    let entry = deltaEntries.get(resource);
    if (!entry) {
      entry = codec.encodeDeltaDiscoveryResponse({
        system_version_info: "",
        resources: [{ name: resource.name, aliases: [], version: resource.version, resource: { type_url: resource.typeUrl, value: resource.body } }],
        type_url: "",
        removed_resources: [],
        removed_resource_names: [],
        nonce: "",
      });
      deltaEntries.set(resource, entry);
      counts.deltaEntries++;
      metrics?.xdsResourceEncodings.inc({ protocol: "delta" });
    }
    return entry;
  }

  function sotwBlock(resources: readonly Resource[]): Uint8Array {
    let block = sotwBlocks.get(resources);
    if (!block) {
      block = Buffer.concat(resources.map(sotwEntry));
      sotwBlocks.set(resources, block);
      counts.sotwBlocks++;
    }
    return block;
  }

  return {
    sotw(header, resources) {
      const head = codec.encodeDiscoveryResponseHeader({ version_info: header.version, type_url: header.typeUrl, nonce: header.nonce, control_plane: CONTROL_PLANE });
      return Buffer.concat([head, sotwBlock(resources)]);
    },
    delta(header, resources) {
      const head = codec.encodeDeltaDiscoveryResponseHeader({
        system_version_info: header.systemVersion,
        type_url: header.typeUrl,
        nonce: header.nonce,
        removed_resources: header.removed,
        control_plane: CONTROL_PLANE,
      });
      return Buffer.concat([head, ...resources.map(deltaEntry)]);
    },
    counts: () => ({ ...counts }),
  };
}
