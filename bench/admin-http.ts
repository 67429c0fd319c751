/**
 * The one admin API call the bench makes in bulk: a JSON PUT on a keep-alive
 * agent (node:http, lighter than fetch), rejecting unless the answer is 2xx.
 */
import { request, type Agent } from "node:http";

/** Where the bench's admin calls go: the port, and the token `serve` wrote to its data dir (none with `--auth off`). */
export interface AdminTarget {
  readonly adminPort: number;
  readonly adminToken?: string | undefined;
}

/** The Authorization header for `target`'s token, or none. */
export function authHeader(target: AdminTarget): Record<string, string> {
  return target.adminToken === undefined ? {} : { authorization: `Bearer ${target.adminToken}` };
}

export function put(agent: Agent, target: AdminTarget, path: string, body: unknown): Promise<void> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: "127.0.0.1", port: target.adminPort, path, method: "PUT", headers: { ...authHeader(target), "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => (res.statusCode! >= 200 && res.statusCode! < 300 ? resolve() : reject(new Error(`PUT ${path}: ${res.statusCode} ${text.slice(0, 200)}`))));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}
