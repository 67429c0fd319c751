import type { ServiceJson } from "../admin/index.js";
import { formatIssues } from "../errors/index.js";
import { cell } from "./table.js";

/** A service whose configuration does not build, as `status --json` prints it: its name and its `build` field. */
export type FailingServiceJson = { readonly service: string } & NonNullable<ServiceJson["build"]>;

/** The services of a `GET /v1/services` answer that carry a `build` field, in the answer's order. */
export function failingServices(services: readonly ServiceJson[]): FailingServiceJson[] {
  return services.flatMap((service) => (service.build ? [{ service: service.name, ...service.build }] : []));
}

/** `clients keep the resources of revision 6` or `clients get none of its resources`. */
function served(failing: FailingServiceJson): string {
  return failing.servedRevision === undefined ? "clients get none of its resources" : `clients keep the resources of revision ${failing.servedRevision}`;
}

/** `greeter: not updated since <time> (revision 7); clients keep … : <every problem>`, one line. */
export function describeFailing(failing: FailingServiceJson): string {
  return cell(`${failing.service}: configuration not updated since ${failing.since} (revision ${failing.sinceRevision}); ${served(failing)}: ${formatIssues(failing.problems)}`);
}

/** `services whose configuration is not being updated: greeter (since …, revision 7; clients keep …), …`, one line. */
export function summarizeFailing(failing: readonly FailingServiceJson[]): string {
  const each = failing.map((f) => `${f.service} (since ${f.since}, revision ${f.sinceRevision}; ${served(f)})`);
  return `services whose configuration is not being updated: ${each.join(", ")}; see steadymesh list SERVICE for why`;
}
