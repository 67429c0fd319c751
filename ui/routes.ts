/**
 * Which console page a path under /ui shows; no DOM use, so the node test
 * runner can test it (test/unit/ui-format.test.ts).
 */

export type Route =
  | { page: "overview" }
  | { page: "login" }
  | { page: "services" }
  | { page: "service"; name: string }
  | { page: "clients" }
  | { page: "generations"; id?: number }
  | { page: "lab"; name?: string }
  | { page: "not-found" };

/** Which page a path shows. */
export function routeOf(path: string): Route {
  const pathname = path.split("?")[0]!.replace(/\/+$/, "") || "/ui";
  const parts = pathname.split("/").slice(2).map(decode);
  const [first, second] = parts;
  if (parts.length === 0) return { page: "overview" };
  if (first === "login" && parts.length === 1) return { page: "login" };
  if (first === "services") return second === undefined ? { page: "services" } : parts.length === 2 ? { page: "service", name: second } : { page: "not-found" };
  if (first === "clients" && parts.length === 1) return { page: "clients" };
  if (first === "generations") {
    if (second === undefined) return { page: "generations" };
    const id = /^[1-9]\d{0,14}$/.test(second) ? Number(second) : undefined;
    return id !== undefined && parts.length === 2 ? { page: "generations", id } : { page: "not-found" };
  }
  if (first === "lab" && parts.length <= 2) return second === undefined ? { page: "lab" } : { page: "lab", name: second };
  return { page: "not-found" };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
