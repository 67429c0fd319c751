import { request as httpRequest, type IncomingMessage } from "node:http";

/**
 * A reader of the admin API's `GET /v1/events` over a real socket, for the
 * console tests: the server-sent events parsed as they arrive.
 */
export interface EventStream {
  readonly response: IncomingMessage;
  readonly raw: () => string;
  events(): { id: number; event: string; data: any }[];
  /** The newest event of this type so far, or the first to come. */
  next(event: string, timeoutMs?: number): Promise<any>;
  ended: Promise<void>;
}

export async function openEvents(port: number, headers: Record<string, string> = {}): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/v1/events", headers }, (response) => {
      let text = "";
      const waiters: (() => void)[] = [];
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
        for (const wake of waiters.splice(0)) wake();
      });
      const ended = new Promise<void>((done) => response.on("close", done));
      const events = () =>
        // Only whole events: the text after the last blank line may still be arriving.
        text.split("\n\n").slice(0, -1).filter((block) => block.includes("event: ")).map((block) => {
          const field = (name: string) => block.split("\n").find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
          return { id: Number(field("id")), event: field("event")!, data: JSON.parse(field("data")!) };
        });
      resolve({
        response, raw: () => text, events, ended,
        async next(event, timeoutMs = 2000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const found = events().filter((e) => e.event === event);
            if (found.length > 0) return found.at(-1)!.data;
            if (Date.now() > deadline) throw new Error(`no ${event} event within ${timeoutMs} ms; got ${text}`);
            await new Promise<void>((wake) => {
              waiters.push(wake);
              setTimeout(wake, 50);
            });
          }
        },
      });
    });
    req.on("error", reject);
    req.end();
  });
}

