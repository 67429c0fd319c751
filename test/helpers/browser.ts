import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/**
 * Debian's Chromium driven through playwright-core, for the web console's
 * acceptance test (issue 20). CI installs the `chromium` package (.ci/run);
 * playwright's own browser downloads are never used, so nothing is fetched.
 */
export const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Where the README's console screenshots go. */
export const SHOTS_DIR = join(ROOT, "docs/console");
const AXE = join(ROOT, "node_modules/axe-core/axe.min.js");
export const VIEWPORT = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export interface ConsoleBrowser {
  readonly browser: Browser;
  /** A fresh context (own cookies) at 1280×800. */
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium. `--no-sandbox` only as root (a container's CI),
 * where Chromium refuses to start with its sandbox; as any other user the
 * sandbox stays on. A missing browser fails with one line saying how to get it.
 */
export async function launchBrowser(): Promise<ConsoleBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\``);
  const asRoot = process.getuid?.() === 0;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...(asRoot ? ["--no-sandbox"] : []), "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    browser,
    newContext: () => browser.newContext({ viewport: VIEWPORT }),
    close: () => browser.close(),
  };
}

/**
 * Logs in through the console's own form (`/ui/login`: label "Admin token",
 * button "Log in") and waits until the form is gone, i.e. the server took the
 * token and the app went on to a page. A refused token fails with the text
 * of the app's `role="alert"`.
 */
export async function login(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/ui/login`);
  const form = page.getByRole("form", { name: "Log in" });
  await form.getByLabel("Admin token").fill(token);
  await form.getByRole("button", { name: "Log in" }).click();
  const gone = form.waitFor({ state: "detached", timeout: 10_000 }).then(() => undefined);
  const alert = page.getByRole("alert").filter({ hasText: /\S/ }).first();
  // Settles only with the alert's text; a login that works never shows one.
  const refused = alert.waitFor({ timeout: 10_000 }).then(() => alert.innerText(), () => new Promise<never>(() => undefined));
  const text = await Promise.race([gone, refused]);
  if (text !== undefined) throw new Error(`login refused: ${text}`);
}

/**
 * Waits for `<main data-ready="true">` (the page's first data arrived, section
 * D of the console contract) and answers the page's `performance.now()` at
 * that moment: ms since the navigation started, checked every animation frame.
 */
export async function waitReady(page: Page, timeoutMs = 15_000): Promise<number> {
  const handle = await page.waitForFunction(() => (document.querySelector('main[data-ready="true"]') ? performance.now() : 0), undefined, { polling: "raf", timeout: timeoutMs });
  return Math.round((await handle.jsonValue()) as number);
}

/** One axe-core rule broken on the page, with the CSS selectors of the offending elements. */
export interface AxeViolation {
  readonly id: string;
  readonly impact: string;
  readonly help: string;
  readonly targets: readonly string[];
}

let axeSource: string | undefined;

/**
 * Runs axe-core on the page and answers its serious and critical violations.
 * axe is put into the page through DevTools evaluation (page.evaluate), which
 * the page's Content-Security-Policy does not govern: a `<script>` tag would be
 * refused by `script-src 'self'`, as it should be.
 */
export async function axeScan(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(AXE, "utf8");
  const injected = await page.evaluate(`${axeSource};\ntypeof window.axe === "object"`);
  if (injected !== true) throw new Error("axe-core did not load into the page");
  return page.evaluate(async () => {
    type Result = { violations: Array<{ id: string; impact?: string | null; help: string; nodes: Array<{ target: unknown[] }> }> };
    const axe = (window as unknown as { axe: { run(context: Document): Promise<Result> } }).axe;
    const result = await axe.run(document);
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact!, help: v.help, targets: v.nodes.map((n) => n.target.map(String).join(" ")) }));
  });
}

/** Violations as lines for a failure message: "page: rule (impact): help — targets". */
export function describeViolations(page: string, violations: readonly AxeViolation[]): string[] {
  return violations.map((v) => `${page}: ${v.id} (${v.impact}): ${v.help} — ${v.targets.slice(0, 5).join(", ")}${v.targets.length > 5 ? ` and ${v.targets.length - 5} more` : ""}`);
}

/**
 * A full-page PNG of the page at docs/console/`file` (1280 wide); with
 * `phone`, the viewport is 390×844 for the shot and back to 1280×800 after.
 * Answers the file's path.
 */
export async function shot(page: Page, file: string, options: { phone?: boolean } = {}): Promise<string> {
  const path = join(SHOTS_DIR, file);
  await mkdir(dirname(path), { recursive: true });
  if (options.phone) await page.setViewportSize(PHONE);
  try {
    // Two frames, so a layout change from the resize (or a chart's draw) is painted.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await page.screenshot({ path, fullPage: true, animations: "disabled", caret: "hide" });
  } finally {
    if (options.phone) await page.setViewportSize(VIEWPORT);
  }
  return path;
}
