import { SteadyError } from "../errors/index.js";

/**
 * Bad input with several problems the CLI reports one per line (a policy
 * file's), rather than joined into its usual single error line. `message`
 * is the summary for callers that show one line only.
 */
export class ProblemsError extends SteadyError {
  readonly lines: readonly string[];
  constructor(lines: readonly string[], summary: string, options?: { cause?: unknown }) {
    super("invalid-argument", summary, options);
    this.lines = lines;
  }
}
