/**
 * The demo music backend (issue 4): the login path of a music service —
 * `accounts`, `login`, `playback` (gRPC) and an HTTP `gateway` — as real
 * processes that register in steadymesh. The lab starts them with
 * `spawnDemo`; a person can run `src/demo/main.ts <kind> --help`.
 */
export { DEMO_KINDS, DISCOVERY_MODES, SERVICE_OF_KIND, type DemoKind, type DiscoveryMode } from "./kinds.js";
export { spawnDemo, demoCommand, DemoStartError, type DemoSpawnOptions, type DemoProcess, type DemoExit } from "./spawn-demo.js";
export { demoCredentials } from "./user-table.js";
