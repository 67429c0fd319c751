/** The lab's report: report.json, report.html and report.png for a run, and the numbers behind them. */
export type { LabResult, CohortStats, ColdStarts, Counts, SeriesPoint, FaultWindow, PhaseWindow, SloResult, ReportStory, CohortStory, StoryEvent, ScheduledRestarts, ReportFiles, MachineTime, Verdict } from "./model.js";
export { verdictOf, machineLine } from "./model.js";
export { createTally, type Tally } from "./tally.js";
export { evaluateSlos } from "./evaluate-slos.js";
export { storyFromScenario, plannedFaultWindows } from "./story.js";
export { renderChart, svgToPng } from "./chart.js";
export { writeReport } from "./write-report.js";
