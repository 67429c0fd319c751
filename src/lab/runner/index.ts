/** The lab runner: real processes on loopback, a fault timeline, virtual users, and a report. */
export { runScenario, type RunOptions, type RunOutcome } from "./run.js";
