/** Fault injection for the outage lab: decorators around the real components (below and above the push guard), and the lab's faults on top. */
export { createFaultInjector, type Fault, type FaultInjector, type StreamAdmission } from "./fault-injector.js";
export { createPipelineFaults, applySnapshotFaults, type PipelineFault, type PipelineFaults, type PipelineFaultsDeps } from "./pipeline-faults.js";
export { RESOURCE_FAULT_KINDS, resourceFaults, type ResourceFaultKind, type SnapshotFault } from "./faulty-resources.js";
export { createLabFaults, type LabFault, type LabFaults, type LabFaultsDeps } from "./lab-faults.js";
export {
  FAULT_LAYERS,
  LAB_FAULT_KINDS,
  MAX_FAULT_DURATION_MS,
  MAX_FAULT_SERVICES,
  STREAM_FAULT_KINDS,
  parseFaultSpec,
  type FaultLayer,
  type LabFaultKind,
  type LabFaultRequest,
  type LabFaultSpec,
} from "./fault-spec.js";
export { GRPC_STATUS_CODES, GRPC_STATUS_NAMES, type GrpcStatusName } from "./grpc-status.js";
