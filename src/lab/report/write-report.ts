import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderChart } from "./chart.js";
import { renderHtml } from "./html.js";
import type { LabResult, ReportFiles } from "./model.js";
import { toReportJson } from "./report-json.js";

/**
 * Writes report.json, report.html and report.png for a run into `outDir`
 * (created if needed) and returns their paths. The chart is rendered once:
 * the PNG and the HTML show the same SVG.
 */
export async function writeReport(outDir: string, result: LabResult): Promise<ReportFiles> {
  await mkdir(outDir, { recursive: true });
  const { svg, png } = await renderChart(result);
  const files: ReportFiles = { json: join(outDir, "report.json"), html: join(outDir, "report.html"), png: join(outDir, "report.png") };
  await Promise.all([
    writeFile(files.json, `${JSON.stringify(toReportJson(result), null, 2)}\n`),
    writeFile(files.html, renderHtml(result, svg)),
    writeFile(files.png, png),
  ]);
  return files;
}
