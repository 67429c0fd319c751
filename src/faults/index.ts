/** Fault injection for the outage lab: decorators around the real xDS components. */
export { createFaultInjector, type Fault, type FaultInjector, type StreamAdmission } from "./fault-injector.js";
