import { readFileSync } from "node:fs";
import { lstat, readFile } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NotFoundError, ValidationError, show } from "../errors/index.js";

/** The package whose root holds `dist/ui`. */
const PACKAGE_NAME = "steadymesh";

/** What an asset or report directory name may be: no separators, no dot files (so no `.` or `..`). */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
const REPORT_NAME = /^[A-Za-z0-9._-]{1,100}$/;
/** The files of a lab report the console may show. */
export const LAB_REPORT_FILES = ["report.html", "report.png", "report.svg", "report.json"] as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/** The Content-Type of a file by its extension; unknown ones are bytes (nosniff keeps the browser from guessing). */
export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream";
}

/**
 * `dist/ui` of the installed package: the nearest directory above this
 * module whose package.json is named steadymesh. Works from `src/` (tsx) and
 * from `dist/` (built) alike; undefined when no such package.json is found.
 */
export function defaultUiDir(from: string = import.meta.url): string | undefined {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    if (packageNameAt(dir) === PACKAGE_NAME) return join(dir, "dist", "ui");
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function packageNameAt(dir: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    return typeof parsed === "object" && parsed !== null && typeof (parsed as { name?: unknown }).name === "string" ? (parsed as { name: string }).name : undefined;
  } catch {
    // No package.json here (or not JSON): keep walking up.
    return undefined;
  }
}

/** A regular file's bytes; undefined when it does not exist or is not a regular file (directories, symlinks). */
export async function readRegularFile(path: string): Promise<Buffer | undefined> {
  try {
    const stat = await lstat(path);
    return stat.isFile() ? await readFile(path) : undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG") return undefined;
    throw err;
  }
}

/**
 * One file of `<uiDir>/assets`. A name with a separator, a leading dot or
 * any character outside [A-Za-z0-9._-] never reaches the file system, so no
 * path can leave the directory; such names, and missing files, are 404.
 */
export async function readAsset(uiDir: string, name: string): Promise<{ body: Buffer; type: string }> {
  const body = FILE_NAME.test(name) ? await readRegularFile(join(uiDir, "assets", name)) : undefined;
  if (body === undefined) throw new NotFoundError(`no console asset ${show(name)}; assets are the files of dist/ui/assets`);
  return { body, type: contentTypeOf(name) };
}

/** `<dir>/<name>/<file>` of the lab reports: 400 for a bad name or file, 404 when it is not there. */
export async function readLabReportFile(dir: string, name: string, file: string): Promise<{ body: Buffer; type: string }> {
  const issues = [];
  if (!REPORT_NAME.test(name) || name === "." || name.includes("..")) issues.push({ path: "name", message: `must be a report directory name ([A-Za-z0-9._-], 1-100 characters, not "." and no ".."), got ${show(name)}` });
  if (!(LAB_REPORT_FILES as readonly string[]).includes(file)) issues.push({ path: "file", message: `must be one of ${LAB_REPORT_FILES.join(", ")}, got ${show(file)}` });
  if (issues.length > 0) throw new ValidationError(issues);
  const body = await readRegularFile(join(dir, name, file));
  if (body === undefined) throw new NotFoundError(`lab report ${show(name)} has no ${file} in ${dir}`);
  return { body, type: contentTypeOf(file) };
}
