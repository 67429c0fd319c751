/**
 * A Greeter backend with a gRPC health service in its own process (see
 * spawnBackend in greeter.ts). argv[2] is JSON `{ id, port?, healthServices? }`.
 * Prints `{"port":N}` once listening; then each stdin line is a serving
 * status (SERVING, NOT_SERVING…) to report, answered with `ok`. Exits when
 * stdin closes, so it never outlives the test.
 */
import { createInterface } from "node:readline";
import type { ServingStatus } from "grpc-health-check";
import { startBackend } from "./greeter.js";

const options = JSON.parse(process.argv[2] ?? "{}") as { id: string; port?: number; healthServices?: string[] };
const backend = await startBackend(options.id, options);
process.stdout.write(`${JSON.stringify({ port: backend.port })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  backend.setServing(line.trim() as ServingStatus);
  process.stdout.write("ok\n");
});
lines.on("close", () => process.exit(0));
