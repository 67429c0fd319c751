/**
 * The one admin API call the bench makes in bulk: a JSON PUT on a keep-alive
 * agent (node:http, lighter than fetch), rejecting unless the answer is 2xx.
 */
import { request, type Agent } from "node:http";

export function put(agent: Agent, port: number, path: string, body: unknown): Promise<void> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: "127.0.0.1", port, path, method: "PUT", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
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
