/** The `steadymesh` executable: runs the CLI on this process's arguments and sets its exit code. */
import { main } from "./index.js";

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`steadymesh: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
