import { createRequire } from "node:module";

type Re2Constructor = new (pattern: string, flags: string) => unknown;

/**
 * The RE2 engine stock Node clients compile safe_regex matchers with:
 * grpc-js-xds 1.14 (matcher.js) does `new RE2(`^${regex}$`, "u")` from
 * re2-wasm when it builds its routes, after validation, so a regex RE2
 * refuses passes its validator and then breaks the client's route table.
 * re2-wasm is grpc-js-xds's dependency, not ours: it is looked up through
 * grpc-js-xds, and where that is not installed (the @steadymesh/client
 * package) there is no engine and regexes are not checked, as grpc-js-xds's
 * own validator does not check them.
 */
let engine: Re2Constructor | null | undefined;

function loadEngine(): Re2Constructor | null {
  if (engine !== undefined) return engine;
  try {
    const fromXds = createRequire(createRequire(import.meta.url).resolve("@grpc/grpc-js-xds/package.json"));
    engine = (fromXds("re2-wasm") as { RE2: Re2Constructor }).RE2;
  } catch (error) {
    // Not installed here: documented above; nothing to check against.
    void error;
    engine = null;
  }
  return engine;
}

/** Why RE2 refuses `regex` as grpc-js-xds compiles it, or undefined when it compiles (or no engine is installed). */
export function re2Problem(regex: string): string | undefined {
  const RE2 = loadEngine();
  if (!RE2) return undefined;
  try {
    new RE2(`^${regex}$`, "u");
    return undefined;
  } catch (error) {
    return `${JSON.stringify(regex)} is not an RE2 regex (${error instanceof Error ? error.message : String(error)})`;
  }
}
