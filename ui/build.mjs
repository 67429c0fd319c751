// Bundles the web console (ui/) into dist/ui: index.html, assets/app.js
// (+ .map) and assets/app.css (ours and uPlot's). `npm run build` runs it, so
// `npm ci` (prepare) does too. The HTML is a static shell with no inline
// script or style: the console's CSP is `script-src 'self'; style-src 'self'`.
import { build } from "esbuild";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const started = Date.now();
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "ui");
const assets = join(out, "assets");
const require = createRequire(import.meta.url);

await rm(out, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

await build({
  entryPoints: [join(root, "ui", "main.tsx")],
  outfile: join(assets, "app.js"),
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  sourcemap: "linked",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  logLevel: "warning",
});

const uplotCss = await readFile(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
const appCss = await readFile(join(root, "ui", "app.css"), "utf8");
await writeFile(join(assets, "app.css"), `${uplotCss}\n${appCss}`);

await writeFile(
  join(out, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>steadymesh console</title>
<link rel="stylesheet" href="/ui/assets/app.css">
<script type="module" src="/ui/assets/app.js"></script>
</head>
<body>
<div id="app"></div>
<noscript>The steadymesh console needs JavaScript; the same data is on the admin API (/v1/...).</noscript>
</body>
</html>
`,
);

const sizes = [];
for (const file of ["app.js", "app.css"]) sizes.push(`${file} ${((await stat(join(assets, file))).size / 1024).toFixed(1)} KiB`);
console.log(`ui: dist/ui built in ${Date.now() - started} ms (${sizes.join(", ")})`);
