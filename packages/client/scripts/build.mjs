#!/usr/bin/env node
// Builds @steadymesh/client into packages/client/dist from the repository's
// sources: the client's entry (src/client/index.ts) and its import closure,
// which tsc follows, so a new module the client imports is picked up with no
// list to update. It fails, naming the import chain, when that closure reaches
// the server side or a package this one does not declare; then it copies the
// envoy protos the codec reads into dist/protos and loads them once.
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const SRC_DIR = join(PACKAGE_DIR, "..", "..", "src");
const DIST_DIR = join(PACKAGE_DIR, "dist");

/** Folders of src/ that belong to the control plane; the client must load none of them. */
const FORBIDDEN = ["xds", "registry", "admin", "server", "snapshot", "guard", "dns", "lab", "demo", "health", "cli", "faults", "log", "metrics"];

class BuildError extends Error {}

function fail(message) {
  throw new BuildError(`@steadymesh/client build: ${message}`);
}

function loadProgram() {
  const configPath = join(PACKAGE_DIR, "tsconfig.json");
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) fail(ts.flattenDiagnosticMessageText(error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, PACKAGE_DIR, undefined, configPath);
  if (parsed.errors.length > 0) fail(ts.formatDiagnostics(parsed.errors, formatHost()));
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  return { program, entry: parsed.fileNames[0], options: parsed.options };
}

function formatHost() {
  return { getCanonicalFileName: (f) => f, getCurrentDirectory: () => PACKAGE_DIR, getNewLine: () => "\n" };
}

/** Every module the entry reaches (type-only imports too: the .d.ts files need them), with who imported it first. */
function walkClosure(entry, options) {
  const parents = new Map([[entry, null]]);
  const packages = new Map();
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const { fileName: specifier } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!specifier.startsWith(".")) {
        if (!packages.has(specifier)) packages.set(specifier, file);
        continue;
      }
      const resolved = ts.resolveModuleName(specifier, file, options, ts.sys).resolvedModule?.resolvedFileName;
      if (!resolved) fail(`cannot resolve ${specifier} from ${shortName(file)}`);
      if (!parents.has(resolved)) {
        parents.set(resolved, file);
        queue.push(resolved);
      }
    }
  }
  return { parents, packages };
}

function shortName(file) {
  return relative(join(SRC_DIR, ".."), file);
}

function chain(parents, file) {
  const names = [];
  for (let at = file; at; at = parents.get(at)) names.unshift(shortName(at));
  return names.join(" → ");
}

function checkClosure({ parents, packages }) {
  for (const file of parents.keys()) {
    const inSrc = relative(SRC_DIR, file);
    if (inSrc.startsWith("..")) fail(`the client imports ${file}, outside src/: ${chain(parents, file)}`);
    const folder = inSrc.split(sep)[0];
    if (FORBIDDEN.includes(folder)) {
      fail(`the client's import closure reaches src/${folder}/, which is the control plane's: ${chain(parents, file)}`);
    }
  }
  const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8"));
  const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
  for (const [specifier, importer] of packages) {
    const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
    if (specifier.startsWith("node:") || builtinModules.includes(name)) continue;
    if (!declared.has(name)) {
      fail(`${chain(parents, importer)} imports ${specifier}, which packages/client/package.json does not declare`);
    }
  }
}

function emit(program) {
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
  if (diagnostics.length > 0) fail(`tsc:\n${ts.formatDiagnostics(diagnostics, formatHost())}`);
}

/** Copies the protos the codec reads, then loads them through the built codec, so a missing file fails here. */
async function bundleProtos() {
  const loader = await import(pathToFileURL(join(DIST_DIR, "proto", "loader.js")).href);
  const { from, files } = loader.xdsProtoFiles();
  for (const file of files) {
    mkdirSync(dirname(join(DIST_DIR, "protos", file)), { recursive: true });
    cpSync(join(from, file), join(DIST_DIR, "protos", file));
  }
  const proto = await import(pathToFileURL(join(DIST_DIR, "proto", "index.js")).href);
  proto.loadCodec();
  return files.length;
}

async function main() {
  const { program, entry, options } = loadProgram();
  const closure = walkClosure(entry, options);
  checkClosure(closure);
  rmSync(DIST_DIR, { recursive: true, force: true });
  emit(program);
  const protos = await bundleProtos();
  const folders = [...new Set([...closure.parents.keys()].map((f) => relative(SRC_DIR, f).split(sep)[0]))].sort();
  console.log(`@steadymesh/client: ${closure.parents.size} modules from src/{${folders.join(",")}}, ${protos} protos`);
}

main().catch((error) => {
  console.error(error instanceof BuildError ? error.message : error);
  process.exitCode = 1;
});
