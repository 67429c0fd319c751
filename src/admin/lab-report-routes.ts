import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { noQuery } from "./console-params.js";
import type { RouteSpec } from "./routes.js";

/** The files of a report directory the console may show (H2 serves them under /ui/lab-reports). */
export const LAB_REPORT_FILES = ["report.html", "report.png", "report.svg", "report.json"] as const;
/** Reports one answer lists, newest first. */
export const LAB_REPORTS_SHOWN = 500;
/** A report.json larger than this is listed as unreadable rather than read. */
const REPORT_JSON_MAX_BYTES = 32 * 1024 * 1024;
const REPORT_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const VERDICTS = ["pass", "fail", "inconclusive"];

export interface LabReport {
  readonly name: string;
  readonly scenario: string;
  readonly verdict: "pass" | "fail" | "inconclusive" | "unreadable";
  /** When report.json was last written (its mtime), ISO 8601. */
  readonly finishedAt: string;
  readonly files: readonly string[];
}

/**
 * `GET /v1/lab-reports`: the lab's reports under `dir` (`serve --lab-reports`),
 * each subdirectory with a report.json, newest first. A report.json that does
 * not parse, or lacks a scenario or verdict, is listed as `unreadable`; a
 * missing directory is an empty list. Names outside [A-Za-z0-9._-] are
 * skipped: the console could not link to them.
 */
export function createLabReportRoutes(dir: string | undefined): readonly RouteSpec[] {
  const root = resolve(dir ?? "lab-reports");
  return [
    {
      method: "GET",
      url: "/v1/lab-reports",
      scope: "read",
      handler: async (request) => {
        noQuery(request.query);
        return { dir: root, reports: await listLabReports(root) };
      },
    },
  ];
}

export async function listLabReports(root: string): Promise<LabReport[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return [];
    throw err;
  });
  const reports: LabReport[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !REPORT_NAME.test(entry.name) || entry.name.startsWith("..")) continue;
    const report = await readReport(join(root, entry.name), entry.name);
    if (report) reports.push(report);
  }
  reports.sort((a, b) => (a.finishedAt < b.finishedAt ? 1 : a.finishedAt > b.finishedAt ? -1 : a.name < b.name ? -1 : 1));
  return reports.slice(0, LAB_REPORTS_SHOWN);
}

/** One report directory, or undefined when it holds no report.json. */
async function readReport(path: string, name: string): Promise<LabReport | undefined> {
  const json = join(path, "report.json");
  const info = await stat(json).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const files: string[] = [];
  for (const file of LAB_REPORT_FILES) if ((await stat(join(path, file)).catch(() => undefined))?.isFile()) files.push(file);
  const finishedAt = info.mtime.toISOString();
  const parsed = info.size <= REPORT_JSON_MAX_BYTES ? await readFile(json, "utf8").then(parseReport, () => undefined) : undefined;
  return { name, scenario: parsed?.scenario ?? "", verdict: parsed?.verdict ?? "unreadable", finishedAt, files };
}

function parseReport(text: string): { scenario: string; verdict: LabReport["verdict"] } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // A half-written or foreign file: the list shows it as unreadable.
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { scenario, verdict } = value as Record<string, unknown>;
  if (typeof scenario !== "string" || typeof verdict !== "string" || !VERDICTS.includes(verdict)) return undefined;
  return { scenario, verdict: verdict as LabReport["verdict"] };
}
