/**
 * The floors of src/, enforced (`npm test` runs `depcruise`). A folder may
 * import its own floor's neighbours and anything below; never upwards. The
 * floors are drawn in docs/architecture.md.
 */
const FLOORS = [
  ["errors", "clock", "log", "metrics", "collections"], // plumbing, imports nothing of ours
  ["proto"], // generated types, the codec, the ADS service definition
  ["resources"], // one module per xDS resource type: decode, validate, equal
  ["client", "registry"], // the steady: resolver (its own package); the registry and its stores
  ["snapshot", "dns", "health", "auth", "identity"], // what the registry's view becomes: xDS resources, DNS answers, health; admin tokens over its token store; the built-in CA, stored with the registry
  ["xds"], // the ADS server and the snapshot cache
  ["guard", "faults", "events"], // the push guard; fault injection around the xDS server; the web console's data and live events
  ["admin", "console"], // the HTTP API; the web console's sessions, cookie, headers and files
  ["server"], // wires everything up for `serve`
  ["cli", "demo", "lab"], // entry points
];

const folders = (list) => `^src/(${list.join("|")})/`;

const upward = FLOORS.slice(0, -1).map((floor, i) => ({
  name: `no-upward-from-${floor.join("-")}`,
  comment: `${floor.join(", ")} may import only floors below it (see docs/architecture.md)`,
  severity: "error",
  from: { path: folders(floor) },
  to: { path: folders(FLOORS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "client-stands-alone",
      comment: "the steady: resolver ships as @steadymesh/client: it may import only proto, resources, clock and errors of ours",
      severity: "error",
      from: { path: "^src/client/" },
      to: { path: "^src/", pathNot: "^src/(client|proto|resources|clock|errors)/" },
    },
    {
      name: "cache-without-grpc",
      comment: "the snapshot cache knows groups and snapshots, not transports",
      severity: "error",
      from: { path: "^src/xds/snapshot-cache\\.ts$" },
      to: { path: "@grpc/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "unknown-floor",
      comment: "every folder of src/ has a floor in .dependency-cruiser.cjs",
      severity: "error",
      from: { path: "^src/", pathNot: folders(FLOORS.flat()) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
