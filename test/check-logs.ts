/**
 * `node --import tsx test/check-logs.ts DIR`: run by test/run.sh after the
 * suite; exits 1 when a log in DIR holds an admin token (printed masked).
 */
import { formatReport, scanLogDir } from "./helpers/token-log-check.js";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: check-logs.ts DIR (the suite's log dir)\n");
  process.exit(2);
}
const { files, hits } = await scanLogDir(dir);
for (const line of formatReport(dir, files, hits)) process.stdout.write(`${line}\n`);
process.exit(hits.length === 0 ? 0 : 1);
