/** Fault injection for the outage lab: decorators around the real xDS components, and the lab's faults on top. */
export { createFaultInjector, type Fault, type FaultInjector, type StreamAdmission } from "./fault-injector.js";
export { createLabFaults, type LabFault, type LabFaults, type LabFaultsDeps } from "./lab-faults.js";
export {
  LAB_FAULT_KINDS,
  MAX_FAULT_DURATION_MS,
  MAX_FAULT_SERVICES,
  STREAM_FAULT_KINDS,
  parseFaultSpec,
  type LabFaultKind,
  type LabFaultSpec,
} from "./fault-spec.js";
export { GRPC_STATUS_CODES, GRPC_STATUS_NAMES, type GrpcStatusName } from "./grpc-status.js";
