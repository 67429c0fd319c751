/** The `steadymesh` executable: runs the CLI on this process's arguments and sets its exit code. */
import { readVersion, VERSION_FLAGS } from "./version.js";

function reportCrash(err: unknown): void {
  process.stderr.write(`steadymesh: error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

// A reader that stops early (`steadymesh lab list | head`) closes the pipe: that ends the output, it is no error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(process.exitCode ?? 0);
});

const args = process.argv.slice(2);
if (args.length === 1 && VERSION_FLAGS.includes(args[0]!)) {
  // Answered here, without loading every command's modules (about 100 ms).
  try {
    process.stdout.write(`${readVersion()}\n`);
  } catch (err) {
    reportCrash(err);
  }
} else {
  import("./index.js").then(({ main }) => main(process.argv)).then(
    (code) => {
      process.exitCode = code;
    },
    reportCrash,
  );
}
