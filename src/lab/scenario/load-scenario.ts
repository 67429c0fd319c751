import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NotFoundError, SteadyError } from "../../errors/index.js";
import type { Scenario } from "./model.js";
import { ScenarioError, parseScenario } from "./parse-scenario.js";

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** One shipped scenario, for `steadymesh lab list`. */
export interface ScenarioListing {
  readonly name: string;
  readonly file: string;
  /** The first line of its description. */
  readonly summary: string;
  /** Scenario seconds from start to end. */
  readonly durationSec: number;
  /** Default speed: scenario seconds per real second. */
  readonly speed: number;
}

/**
 * The shipped scenarios' folder, `scenarios/` at the package root. The root
 * is found by walking up from this module, so it is the same from `src/`
 * (tsx) and from `dist/`.
 */
export function scenariosDir(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "scenarios"))) return join(dir, "scenarios");
    if (dirname(dir) === dir) throw new NotFoundError(`no scenarios/ folder next to a package.json in ${start} or any folder above it`);
  }
}

/**
 * Loads a scenario by name (`spotify-2022-03-08` → `scenarios/spotify-2022-03-08.yaml`
 * in `dir`, by default the shipped ones) or by path (anything with a slash or
 * a .yaml/.yml ending, relative to the working directory).
 * Throws NotFoundError for an unknown name or a missing file, and
 * ScenarioError (every problem, each with its path) for a bad file.
 */
export function loadScenario(pathOrName: string, dir: string = scenariosDir()): Scenario {
  const byName = !/[\\/]/.test(pathOrName) && !/\.ya?ml$/i.test(pathOrName);
  if (byName && !NAME.test(pathOrName)) {
    throw new ScenarioError(pathOrName, [{ path: "", message: `not a scenario name or a .yaml path; shipped scenarios are ${shippedNames(dir).join(", ")}` }]);
  }
  const file = byName ? join(dir, `${pathOrName}.yaml`) : resolve(pathOrName);
  if (byName && !existsSync(file)) {
    throw new NotFoundError(`unknown scenario "${pathOrName}"; shipped scenarios are ${shippedNames(dir).join(", ")} (or give a path to a .yaml file)`);
  }
  const scenario = parseScenario(readScenarioFile(file), file);
  if (byName && scenario.name !== pathOrName) {
    throw new ScenarioError(file, [{ path: "name", message: `must match the file name "${pathOrName}", got "${scenario.name}"` }]);
  }
  return scenario;
}

/** The shipped scenarios (or those in `dir`), sorted by name; a broken file throws its ScenarioError. */
export function listScenarios(dir: string = scenariosDir()): ScenarioListing[] {
  return shippedNames(dir).map((name) => {
    const scenario = loadScenario(name, dir);
    return { name, file: scenario.file, summary: scenario.description.split("\n")[0] ?? "", durationSec: scenario.durationSec, speed: scenario.speed };
  });
}

function shippedNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((entry) => extname(entry) === ".yaml")
    .map((entry) => basename(entry, ".yaml"))
    .sort();
}

function readScenarioFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new NotFoundError(`scenario file ${file} does not exist`, { cause: error });
    throw new SteadyError("invalid-argument", `cannot read scenario file ${file}: ${(error as Error).message}`, { cause: error });
  }
}
