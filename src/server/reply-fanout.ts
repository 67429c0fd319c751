import type { ClientReply } from "../xds/index.js";

/** Client replies from the xDS server to whoever watches them (the push guard's canary). */
export interface ReplyFanout {
  /** Give this to the xDS server as its `onReply`. */
  readonly emit: (reply: ClientReply) => void;
  /** Calls `listener` with every reply emitted until the returned function is called. */
  readonly watch: (listener: (reply: ClientReply) => void) => () => void;
}

export function createReplyFanout(): ReplyFanout {
  const listeners = new Set<(reply: ClientReply) => void>();
  return {
    emit: (reply) => {
      for (const listener of listeners) listener(reply);
    },
    watch: (listener) => {
      const own = (reply: ClientReply) => listener(reply);
      listeners.add(own);
      return () => void listeners.delete(own);
    },
  };
}
