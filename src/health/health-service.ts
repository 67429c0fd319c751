import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`, as names. */
export const SERVING_STATUSES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;
export type ServingStatus = (typeof SERVING_STATUSES)[number];

export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: ServingStatus;
}

/**
 * grpc/health/v1/health.proto (the standard gRPC health checking protocol),
 * as a protobufjs descriptor: two small messages and one service, kept here
 * rather than as a file so it needs no path lookup from src/ or dist/.
 */
const HEALTH_PROTO: Parameters<typeof protoLoader.fromJSON>[0] = {
  nested: {
    grpc: { nested: { health: { nested: { v1: { nested: {
      HealthCheckRequest: { fields: { service: { type: "string", id: 1 } } },
      HealthCheckResponse: {
        fields: { status: { type: "ServingStatus", id: 1 } },
        nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
      },
      Health: {
        methods: {
          Check: { requestType: "HealthCheckRequest", responseType: "HealthCheckResponse", comment: "" },
          Watch: { requestType: "HealthCheckRequest", responseType: "HealthCheckResponse", responseStream: true, comment: "" },
        },
      },
    } } } } } },
  },
};

/** The client constructor of `grpc.health.v1.Health`; its `.service` is the definition a server adds. */
export function loadHealthService(): grpc.ServiceClientConstructor {
  const definition = protoLoader.fromJSON(HEALTH_PROTO, { keepCase: true, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  return pkg.grpc.health.v1.Health;
}

/** A `grpc.health.v1.Health` server for a backend, with statuses it can change while it runs. */
export interface HealthStatusService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Sets the status served for `service` (`""` is the whole server) and tells its watchers. */
  setStatus(service: string, status: ServingStatus): void;
}

/**
 * Serves the standard protocol: Check answers the status set for the
 * requested service, or NOT_FOUND when none was set; Watch sends the current
 * status (SERVICE_UNKNOWN when none) and then every change.
 */
export function createHealthStatusService(initial: Readonly<Record<string, ServingStatus>> = { "": "SERVING" }): HealthStatusService {
  const statuses = new Map<string, ServingStatus>(Object.entries(initial));
  const watchers = new Map<string, Set<(status: ServingStatus) => void>>();
  const implementation: grpc.UntypedServiceImplementation = {
    Check(call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: grpc.sendUnaryData<HealthCheckResponse>) {
      const status = statuses.get(call.request.service);
      if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
      else callback(null, { status });
    },
    Watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const service = call.request.service;
      const send = (status: ServingStatus) => void call.write({ status });
      const set = watchers.get(service) ?? new Set();
      watchers.set(service, set);
      set.add(send);
      call.on("cancelled", () => set.delete(send));
      send(statuses.get(service) ?? "SERVICE_UNKNOWN");
    },
  };
  return {
    definition: loadHealthService().service,
    implementation,
    setStatus(service, status) {
      statuses.set(service, status);
      for (const send of watchers.get(service) ?? []) send(status);
    },
  };
}
