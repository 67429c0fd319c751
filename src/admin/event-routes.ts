import type { ServerResponse } from "node:http";
import { createSystemClock, type Clock } from "../clock/index.js";
import type { EventHub, HubEvent } from "../events/index.js";
import type { Metrics } from "../metrics/index.js";
import { needEvents, noQuery } from "./console-params.js";
import type { RouteSpec } from "./routes.js";

/** A comment line goes out this often, so proxies and browsers keep an idle stream open. */
export const PING_EVERY_MS = 15_000;
/** A connection whose unsent output passes this is closed: the browser reconnects and refetches. */
export const MAX_UNSENT_BYTES = 1024 * 1024;
/** NACK events per second per connection; the rest are counted in the next one's `dropped`. */
export const NACKS_PER_SECOND = 20;
/** What a browser waits before reconnecting (the stream's `retry:`). */
export const RETRY_MS = 2000;
/** Open streams one admin server keeps at most; one more gets 503 (each holds a socket, a subscription and its unsent output). */
export const MAX_EVENT_STREAMS = 1000;

/** The open event streams of one admin server: close() ends each, so the server's close does not wait on them. */
export interface EventStreams {
  readonly open: Set<() => void>;
  /** The most that may be open at once (MAX_EVENT_STREAMS unless a test says otherwise). */
  readonly limit: number;
  closeAll(): void;
}

export function createEventStreams(limit = MAX_EVENT_STREAMS): EventStreams {
  const open = new Set<() => void>();
  return {
    open,
    limit,
    closeAll() {
      for (const end of [...open]) end();
    },
  };
}

export interface EventRouteDeps {
  readonly events?: EventHub | undefined;
  /** `steadymesh_event_streams` counts the open streams. */
  readonly metrics?: Pick<Metrics, "eventStreams"> | undefined;
  /** Timers of the ping and the NACK limit; the system clock by default. */
  readonly clock?: Clock | undefined;
}

/**
 * `GET /v1/events`: the hub's events as server-sent events (B of the
 * console contract), written straight to the socket (the reply is
 * hijacked): `retry:`, a `hello`, then each event with an increasing `id:`,
 * and `: ping` every PING_EVERY_MS. A slow reader is cut off once
 * MAX_UNSENT_BYTES wait for it; NACKs are limited per connection.
 */
export function createEventRoutes(deps: EventRouteDeps, streams: EventStreams): readonly RouteSpec[] {
  const clock = deps.clock ?? createSystemClock();
  return [
    {
      method: "GET",
      url: "/v1/events",
      scope: "read",
      handler: async (request, reply) => {
        noQuery(request.query);
        const events = needEvents(deps.events);
        if (request.method === "HEAD") return reply.type("text/event-stream").send("");
        if (streams.open.size >= streams.limit) {
          const error = `too many open event streams (${streams.limit}): close one, or retry later`;
          request.log.warn({ method: request.method, url: request.url, status: 503, error }, "admin request rejected");
          return reply.code(503).header("retry-after", "5").send({ error });
        }
        reply.hijack();
        openStream(reply.raw, events, clock, streams, deps.metrics);
        return reply;
      },
    },
  ];
}

function openStream(res: ServerResponse, events: EventHub, clock: Clock, streams: EventStreams, metrics: EventRouteDeps["metrics"]): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    // Once ended (server shutdown, a slow reader) the socket goes too: nothing else is sent on it.
    connection: "close",
  });
  let nextId = 1;
  let closed = false;
  const nacks = { second: -1, sent: 0, dropped: 0 };
  let cancelPing: (() => void) | undefined;

  function write(text: string): void {
    if (closed) return;
    res.write(text);
    if (res.writableLength > MAX_UNSENT_BYTES) end();
  }
  function send(type: string, data: unknown): void {
    write(`id: ${nextId++}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }
  function onEvent(event: HubEvent): void {
    if (event.type !== "nack") return send(event.type, event.data);
    const second = Math.floor(clock.now() / 1000);
    if (second !== nacks.second) {
      nacks.second = second;
      nacks.sent = 0;
    }
    if (nacks.sent >= NACKS_PER_SECOND) return void nacks.dropped++;
    nacks.sent++;
    send("nack", nacks.dropped > 0 ? { ...event.data, dropped: nacks.dropped } : event.data);
    nacks.dropped = 0;
  }
  function ping(): void {
    write(": ping\n\n");
    if (!closed) cancelPing = clock.setTimeout(ping, PING_EVERY_MS);
  }
  function cleanup(): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    cancelPing?.();
    streams.open.delete(end);
    metrics?.eventStreams.dec();
  }
  function end(): void {
    cleanup();
    res.end();
  }

  const unsubscribe = events.subscribe(onEvent);
  streams.open.add(end);
  metrics?.eventStreams.inc();
  res.on("close", cleanup);
  write(`retry: ${RETRY_MS}\n\n`);
  const { revision, generation } = events.position();
  send("hello", { revision, generation, at: new Date(clock.now()).toISOString() });
  cancelPing = clock.setTimeout(ping, PING_EVERY_MS);
}
