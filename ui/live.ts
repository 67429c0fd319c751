/**
 * The console's one live connection: an EventSource on /v1/events (cookie
 * auth). Pages subscribe to event names; the header shows whether it is open.
 * EventSource reconnects by itself (the server says `retry: 2000`); on every
 * (re)open, subscribers of "open" refetch what they show, since events sent
 * while disconnected are lost.
 */

import { useEffect } from "preact/hooks";

export type LiveState = "open" | "connecting";
type Listener = (data: unknown) => void;

const EVENTS = ["hello", "registry", "health", "generation", "nack", "acks", "clients"] as const;

let source: EventSource | undefined;
let state: LiveState = "connecting";
const listeners = new Map<string, Set<Listener>>();
const stateListeners = new Set<(state: LiveState) => void>();

/** Opens the stream (once); call after login. */
export function startLive(): void {
  if (source) return;
  source = new EventSource("/v1/events", { withCredentials: true });
  source.onopen = () => setState("open");
  source.onerror = () => {
    setState("connecting");
    // EventSource retries a dropped connection itself, but gives up on an
    // answer that is not a stream (401 once the session is gone, 503 while
    // the server starts): then ask again after the server's retry interval.
    if (source?.readyState === EventSource.CLOSED) restartSoon();
  };
  for (const name of EVENTS) source.addEventListener(name, (event) => dispatch(name, (event as MessageEvent<string>).data));
}

/** Closes it (on logout). */
export function stopLive(): void {
  if (restartTimer !== undefined) clearTimeout(restartTimer);
  restartTimer = undefined;
  source?.close();
  source = undefined;
  setState("connecting");
}

/**
 * Set by main.tsx: before the stream is opened again, checks the session and
 * answers whether to reconnect (false once the session is gone: the login
 * form shows instead).
 */
let sessionAlive: () => Promise<boolean> = async () => true;
let restartTimer: ReturnType<typeof setTimeout> | undefined;

export function beforeRestart(check: () => Promise<boolean>): void {
  sessionAlive = check;
}

function restartSoon(): void {
  if (restartTimer !== undefined) return;
  restartTimer = setTimeout(() => {
    restartTimer = undefined;
    const closed = source;
    if (!closed) return;
    sessionAlive().then((alive) => {
      // Only if nothing (a logout, a login) replaced the closed stream meanwhile.
      if (source !== closed) return;
      closed.close();
      source = undefined;
      if (alive) startLive();
      else setState("connecting");
    });
  }, 2000);
}

/** Calls `listener` with each `name` event's parsed data; "open" fires on each (re)connect. Returns the unsubscribe. */
export function subscribe(name: string, listener: Listener): () => void {
  let set = listeners.get(name);
  if (!set) listeners.set(name, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}

export function liveState(): LiveState {
  return state;
}

export function onLiveState(listener: (state: LiveState) => void): () => void {
  stateListeners.add(listener);
  return () => stateListeners.delete(listener);
}

function setState(next: LiveState): void {
  if (next === state) return;
  state = next;
  if (next === "open") dispatch("open", undefined);
  for (const listener of stateListeners) listener(next);
}

function dispatch(name: string, raw: string | undefined): void {
  let data: unknown = undefined;
  if (raw !== undefined) {
    try {
      data = JSON.parse(raw);
    } catch {
      console.warn(`steadymesh console: a ${name} event with bad JSON was ignored`);
      return;
    }
  }
  for (const listener of listeners.get(name) ?? []) listener(data);
}

/**
 * Wraps `fn` so it runs at most once per `ms` (the last call in a window
 * runs at its end): registry events can come hundreds a second, a page
 * refetches at most 4 times a second.
 */
export function throttle(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = 0;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const throttled = () => {
    if (timer !== undefined) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(run, wait);
  };
  throttled.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return throttled;
}

/**
 * A page's live refresh: calls `reload`, at most once every `ms`, when one of
 * `events` arrives and `concerns` (when given) says its data is about what
 * the page shows. "open" (a reconnect) always refetches. `key` names what
 * `concerns` depends on (a service name, a generation id).
 */
export function useLiveReload(events: readonly string[], reload: () => void, ms: number, concerns?: (event: string, data: unknown) => boolean, key?: string | number): void {
  useEffect(() => {
    const refresh = throttle(reload, ms);
    const offs = ["open", ...events].map((name) => subscribe(name, (data) => (name === "open" || !concerns || concerns(name, data)) && refresh()));
    return () => {
      offs.forEach((off) => off());
      refresh.cancel();
    };
    // `events` and `concerns` are fixed per page; `key` says when what they look at changes.
  }, [reload, ms, key]);
}
