import { readFileSync } from "node:fs";

/** Arguments that ask only for the version: bin.ts answers them before it loads the rest of the CLI. */
export const VERSION_FLAGS: readonly string[] = ["--version", "-V"];

/**
 * steadymesh's version, read from package.json when asked, so that it is
 * the installed package's own. src/cli and dist/cli both sit two folders
 * below package.json.
 */
export function readVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  const version: unknown = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== "string") throw new Error("package.json has no version");
  return version;
}
