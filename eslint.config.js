// ESLint: typescript-eslint's recommended rules on every TypeScript file. The
// layer rules (which folder may import which) are dependency-cruiser's, in
// .dependency-cruiser.cjs; both run in `npm test` (test/run.sh).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "packages/*/dist/", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      // `_name` marks a value that is deliberately unused (a destructured-away field, a required parameter).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", caughtErrors: "none" }],
      // A closure may read a variable that is assigned once, later (wiring two components that need each other).
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests read JSON bodies and child-process messages whose shape is what they assert.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // The web console runs in the browser (ui/build.mjs, which runs in node, gets the block below).
    files: ["ui/**/*.ts", "ui/**/*.tsx"],
    languageOptions: { globals: { window: "readonly", document: "readonly", location: "readonly", history: "readonly", console: "readonly", fetch: "readonly", EventSource: "readonly", setTimeout: "readonly", clearTimeout: "readonly" } },
  },
  {
    // The examples are plain Node ESM (TypeScript files get their globals from the compiler).
    files: ["**/*.mjs", "**/*.js", "**/*.cjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", module: "writable", require: "readonly" } },
  },
);
