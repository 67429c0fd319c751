import type { Outcome } from "../workload/index.js";

/**
 * One request from a virtual user to a demo gateway. A failure's code is the
 * gRPC status name the gateway reports (`UNAVAILABLE`, `DEADLINE_EXCEEDED`…),
 * else the HTTP status, else `GATEWAY_UNREACHABLE`.
 */
export async function gatewayCall(port: number, method: "GET" | "POST", path: string, body?: unknown, token?: string): Promise<Outcome & { token?: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      signal: AbortSignal.timeout(3000),
      headers: { ...(body !== undefined && { "content-type": "application/json" }), ...(token && { authorization: `Bearer ${token}` }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const json = (await res.json().catch(() => ({}))) as { token?: string; code?: string };
    if (res.ok) return { ok: true, ...(json.token && { token: json.token }) };
    return { ok: false, code: json.code ?? String(res.status) };
  } catch (err) {
    return { ok: false, code: err instanceof Error && err.name === "TimeoutError" ? "GATEWAY_TIMEOUT" : "GATEWAY_UNREACHABLE" };
  }
}
