import type { GenerationLog } from "../generation-log.js";
import { readGenerationInput } from "./generation-log-input.js";

interface ResourceRef {
  readonly typeUrl: string;
  readonly name: string;
  readonly hash: string;
}

/**
 * A GenerationLog in maps, for the memory store. Records are kept as JSON
 * text and bodies by content hash, so what is handed out is always a fresh
 * copy and equal bodies are held once. `ensureOpen` throws UnavailableError
 * once the owning store is closed.
 */
export function createMemoryGenerationLog(ensureOpen: () => void): GenerationLog {
  const records = new Map<number, string>();
  /** Per generation id, in (typeUrl, name) order; absent when the generation has none. */
  const refs = new Map<number, readonly ResourceRef[]>();
  const bodies = new Map<string, Uint8Array>();

  /** Run by retain only: bodies a replacing put orphans stay until then, as in the sqlite backend. */
  const dropUnreferencedBodies = (): void => {
    const used = new Set([...refs.values()].flatMap((list) => list.map((ref) => ref.hash)));
    for (const hash of bodies.keys()) if (!used.has(hash)) bodies.delete(hash);
  };

  return {
    async put(generation, resources) {
      ensureOpen();
      const input = readGenerationInput(generation, resources);
      records.set(input.id, input.json);
      if (!input.resources) return;
      if (input.resources.length === 0) {
        refs.delete(input.id);
        return;
      }
      for (const { hash, body } of input.resources) if (!bodies.has(hash)) bodies.set(hash, body);
      refs.set(input.id, input.resources.map(({ typeUrl, name, hash }) => ({ typeUrl, name, hash })));
    },
    async list() {
      ensureOpen();
      return [...records].sort(([a], [b]) => a - b).map(([id, json]) => ({ id, record: JSON.parse(json) as Record<string, unknown> }));
    },
    async resources(id) {
      ensureOpen();
      return refs.get(id)?.map(({ typeUrl, name, hash }) => ({ typeUrl, name, body: new Uint8Array(bodies.get(hash)!) }));
    },
    async retain(keep) {
      ensureOpen();
      for (const id of records.keys()) if (!keep.has(id)) records.delete(id);
      for (const id of refs.keys()) if (!keep.has(id)) refs.delete(id);
      dropUnreferencedBodies();
    },
  };
}
