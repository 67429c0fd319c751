/**
 * Lab scenarios: YAML files in `scenarios/`, validated against a schema that
 * reports every problem with its path, loaded with times in scenario seconds.
 */
export {
  DEMO_SERVICES, CONTROL_PLANES, DISCOVERY_MODES, FAULT_KINDS, FAULT_LAYERS, ACTIONS, SLO_WINDOWS, SLO_GATEWAYS, GRPC_STATUS_NAMES, LOGIN_BALANCER,
  type DemoService, type ControlPlaneName, type DiscoveryMode, type FaultKind, type FaultLayer, type Action, type SloWindow, type SloGateways, type GrpcStatusName,
  type Scenario, type Source, type Topology, type Canary, type Cohort, type Workload, type TimelineEntry, type Slo,
} from "./model.js";
export { parseScenario, ScenarioError } from "./parse-scenario.js";
export { loadScenario, listScenarios, scenariosDir, type ScenarioListing } from "./load-scenario.js";
export { plannedDisruptions, type Disruption, type DisruptionKind } from "./disruptions.js";
export { formatClock } from "./clock-time.js";
