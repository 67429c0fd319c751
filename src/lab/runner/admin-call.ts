import type { ControlPlaneProcess } from "./control-plane.js";

/** How long one admin API call of the lab may take: a stalled control plane must not stall the timeline. */
const ADMIN_TIMEOUT_MS = 5000;

/**
 * One call to a lab control plane's admin API, authenticated with its
 * operator token; resolves with the JSON body (undefined for an empty one),
 * throws with the method, path, status and the API's error text.
 */
export async function adminCall(plane: ControlPlaneProcess, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(plane.adminUrl + path, {
    method,
    signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
    headers: body === undefined ? plane.adminHeaders() : { ...plane.adminHeaders(), "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text === "" ? undefined : parseJson(text);
  if (!res.ok) throw new Error(`${plane.name} control plane: ${method} ${path}: ${res.status} ${errorText(json, text)}`);
  return json;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // Not JSON (a proxy's page, a crash): the caller reports the raw text with the status.
    return { error: `${text.slice(0, 300)} (not JSON: ${err instanceof Error ? err.message : String(err)})` };
  }
}

/** The API's one-line `error` field (its body is always `{ "error": message }` on failure), else the raw text. */
function errorText(json: unknown, text: string): string {
  const error = typeof json === "object" && json !== null ? (json as { error?: unknown }).error : undefined;
  return typeof error === "string" ? error : text.slice(0, 300);
}
