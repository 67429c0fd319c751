/**
 * DNS over TCP frames each message with a 2-byte big-endian length (RFC 1035
 * §4.2.2, RFC 7766). This reader collects bytes as they arrive and hands out
 * whole messages; it does no I/O.
 *
 * Why not dns-packet's `streamEncode`/`streamDecode` (its DNS-over-TCP
 * framing): they frame decoded packets, and this server frames bytes. Queries
 * go to the handler as bytes (it decodes them itself, within its limits, and
 * answers undecodable ones with FORMERR), and answers come out as bytes
 * encoded once (the answer cache), which `streamEncode` would decode and
 * encode again. `streamDecode` also decodes past the declared length into the
 * next message, reports the decoded length rather than where the next frame
 * starts, throws on fewer than 2 bytes, and cannot refuse an oversized
 * prefix before its bytes arrive. The tests check that these frames and
 * dns-packet's are the same bytes.
 */
export interface FrameReader {
  push(chunk: Buffer): void;
  /**
   * The next whole message; `undefined` until one has fully arrived, or
   * `{ tooLarge }` when the next length prefix exceeds the limit (the stream
   * cannot be resynchronised after that, so the connection should close).
   */
  next(): Buffer | { readonly tooLarge: number } | undefined;
  /** Bytes received and not yet handed out. */
  buffered(): number;
}

/** A reader that refuses messages over `maxMessageBytes` (the length prefix alone decides). */
export function createFrameReader(maxMessageBytes: number): FrameReader {
  let pending: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    },
    next() {
      if (pending.length < 2) return undefined;
      const length = pending.readUInt16BE(0);
      if (length > maxMessageBytes) return { tooLarge: length };
      if (pending.length < 2 + length) return undefined;
      const message = pending.subarray(2, 2 + length);
      pending = pending.subarray(2 + length);
      return message;
    },
    buffered: () => pending.length,
  };
}

/** `message` with its 2-byte length prefix, ready to write to a TCP stream. */
export function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(message.length);
  return Buffer.concat([prefix, message]);
}
