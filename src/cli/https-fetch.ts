import { request } from "node:https";

/**
 * A `fetch` for the admin API over HTTPS that trusts only `ca` (PEM), for
 * `--ca FILE`: node's own fetch cannot be given a CA without the undici
 * package. Only what createAdminClient uses: method, headers, a string body
 * and an abort signal. Like fetch, a failure to connect rejects with
 * TypeError("fetch failed") whose `cause` is the socket's error.
 */
export function fetchWithCa(ca: string): typeof fetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
      const body = typeof init.body === "string" ? init.body : undefined;
      const outgoing = request(
        url,
        { method: init.method ?? "GET", headers: { ...(init.headers as Record<string, string> | undefined), ...(body !== undefined && { "content-length": String(Buffer.byteLength(body)) }) }, ca, ...(init.signal && { signal: init.signal }) },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("error", (err) => reject(new TypeError("fetch failed", { cause: err })));
          incoming.on("end", () => {
            const status = incoming.statusCode ?? 500;
            // A Response cannot carry a body with 204 or 304.
            const text = status === 204 || status === 304 ? null : Buffer.concat(chunks).toString("utf8");
            resolve(new Response(text, { status, statusText: incoming.statusMessage ?? "" }));
          });
        },
      );
      outgoing.on("error", (err) => reject(err.name === "AbortError" ? (init.signal?.reason ?? err) : new TypeError("fetch failed", { cause: err })));
      outgoing.end(body);
    });
}
