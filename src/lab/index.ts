/** The outage lab's scenarios and reports. */
export * from "./scenario/index.js";
export * from "./report/index.js";
