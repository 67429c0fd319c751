import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { ProtoLoadError } from "./errors.js";

/**
 * The .proto files we parse, relative to the include dirs. Their imports pull
 * in the rest (about 70 files of the 594 shipped).
 */
const ENTRY_FILES = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/service/discovery/v3/discovery.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  // Security (issue 16): TLS contexts of server Listeners and Clusters, and the RBAC HTTP filter (gRFC A29, A36, A41).
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/filters/http/rbac/v3/rbac.proto",
  // Traffic policy (issue 18): the fault injection HTTP filter (gRFC A33); it imports common/fault/v3/fault.proto.
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  // DNS fallback (issue 19): the aggregate cluster's ClusterConfig (gRFC A37).
  "envoy/extensions/clusters/aggregate/v3/cluster.proto",
] as const;

/** The four trees under `@grpc/grpc-js-xds/deps/`; every import resolves against one of them. */
const INCLUDE_DIRS = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"] as const;

/**
 * A `protos/` folder beside this module's folder, with the same four trees,
 * wins over @grpc/grpc-js-xds: the @steadymesh/client package ships the
 * files it needs there (see `xdsProtoFiles`) so that it does not depend on
 * grpc-js-xds. The repository has no such folder.
 */
const BUNDLED_PROTOS = fileURLToPath(new URL("../protos/", import.meta.url));

/**
 * Parses the envoy protos (bundled, or shipped with the installed
 * @grpc/grpc-js-xds) into a fresh, fully resolved protobufjs Root (field
 * names kept in snake_case).
 * Synchronous and uncached: each call parses again, so call it once at start-up.
 *
 * Measured (Node 20, 2 vCPUs): 65–80 ms when idle, 125–165 ms under load;
 * about 70 files are parsed. The `build` section of `npm run bench` records it.
 *
 * @throws ProtoLoadError when the package or a proto file is missing or does not parse.
 */
export function loadXdsRoot(): protobuf.Root {
  return loadRoot(findIncludeDirs(), () => {});
}

/**
 * The proto files a load reads from the include dirs: `from`, the folder
 * that holds the four trees, and `files`, paths relative to it
 * (`envoy-api/envoy/…`). That is what a package that bundles its protos
 * must copy into its `protos/` folder. `google/protobuf/*` files found in
 * protobufjs are left out, since protobufjs comes with them.
 *
 * @throws ProtoLoadError as loadXdsRoot does.
 */
export function xdsProtoFiles(): { from: string; files: string[] } {
  const includeDirs = findIncludeDirs();
  const from = dirname(includeDirs[0] ?? "");
  const files = new Set<string>();
  loadRoot(includeDirs, (file) => {
    if (includeDirs.some((dir) => file.startsWith(dir + "/"))) files.add(relative(from, file));
  });
  return { from, files: [...files].sort() };
}

function loadRoot(includeDirs: readonly string[], onFile: (file: string) => void): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const file = resolveImport(includeDirs, target);
    onFile(file);
    return file;
  };
  try {
    root.loadSync([...ENTRY_FILES], { keepCase: true });
    root.resolveAll();
  } catch (cause) {
    if (cause instanceof ProtoLoadError) throw cause;
    throw new ProtoLoadError(`cannot load the envoy protos from ${dirname(includeDirs[0] ?? "")}: ${String(cause)}`, {
      cause,
    });
  }
  return root;
}

function findIncludeDirs(): string[] {
  if (existsSync(join(BUNDLED_PROTOS, INCLUDE_DIRS[0]))) return INCLUDE_DIRS.map((dir) => join(BUNDLED_PROTOS, dir));
  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    packageDir = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
  } catch (cause) {
    if (cause instanceof ProtoLoadError) throw cause;
    throw new ProtoLoadError("cannot find @grpc/grpc-js-xds, which ships the envoy protos; is it installed?", { cause });
  }
  return INCLUDE_DIRS.map((dir) => join(packageDir, "deps", dir));
}

/**
 * protobufjs bundles any/struct/duration/wrappers itself, but not
 * descriptor.proto (imported by the udpa/xds annotations), and grpc-js-xds
 * does not ship it either: protobufjs's own copy is the fallback for
 * `google/protobuf/*`. Returning null for anything else would make protobufjs
 * skip the import silently, so a missing file is an error instead.
 */
function resolveImport(includeDirs: readonly string[], target: string): string {
  if (isAbsolute(target)) return target;
  for (const dir of includeDirs) {
    const candidate = join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  if (target.startsWith("google/protobuf/")) {
    const require = createRequire(import.meta.url);
    const candidate = join(dirname(require.resolve("protobufjs/package.json")), target);
    if (existsSync(candidate)) return candidate;
  }
  throw new ProtoLoadError(`cannot find ${target} in any include dir: ${includeDirs.join(", ")}`);
}
