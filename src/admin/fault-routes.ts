import { NotFoundError } from "../errors/index.js";
import { parseFaultSpec, type LabFaults } from "../faults/index.js";
import { param, type RouteSpec } from "./routes.js";

/** The exact answer (404) of every `/v1/faults` route when serve runs without `--enable-faults`. */
export const FAULTS_OFF_MESSAGE = "fault injection is off; start serve with --enable-faults";

/**
 * `/v1/faults` (README, "Admin HTTP API"). The routes exist either way,
 * so that without `--enable-faults` they say how to turn faults on instead of
 * answering "no route".
 */
export function createFaultRoutes(faults: LabFaults | undefined): readonly RouteSpec[] {
  function enabled(): LabFaults {
    if (!faults) throw new NotFoundError(FAULTS_OFF_MESSAGE);
    return faults;
  }
  return [
    {
      method: "POST",
      url: "/v1/faults",
      scope: "operator",
      handler: async (request, reply) => {
        const lab = enabled();
        return reply.code(201).send({ fault: lab.add(parseFaultSpec(request.body)) });
      },
    },
    {
      method: "GET",
      url: "/v1/faults",
      scope: "read",
      handler: async () => ({ faults: enabled().list() }),
    },
    {
      method: "DELETE",
      url: "/v1/faults",
      scope: "operator",
      handler: async () => ({ faults: enabled().clear() }),
    },
    {
      method: "DELETE",
      url: "/v1/faults/:id",
      scope: "operator",
      handler: async (request) => {
        const lab = enabled();
        return { fault: lab.remove(param(request, "id")) };
      },
    },
  ];
}
