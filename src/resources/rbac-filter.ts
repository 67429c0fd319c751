import { SteadyError } from "../errors/index.js";
import { RBAC_TYPE_NAME, typeUrlOf, type Any, type Codec } from "../proto/index.js";
import { unpackAny } from "./decode.js";
import { asMessage, messages, sub, whichOf, type Findings, type Message } from "./fields.js";

export const RBAC_URL = typeUrlOf(RBAC_TYPE_NAME);

/** Principal.identifier members gRPC evaluates (rbac.js parsePrincipal); any other matches nothing. */
const PRINCIPALS = ["and_ids", "or_ids", "not_id", "any", "authenticated", "direct_remote_ip", "remote_ip", "source_ip", "header", "url_path", "metadata", "filter_state"] as const;
/** Permission.rule members. */
const PERMISSIONS = ["and_rules", "or_rules", "not_rule", "any", "header", "url_path", "destination_ip", "destination_port", "destination_port_range", "metadata", "requested_server_name", "matcher", "uri_template"] as const;
const STRING_PATTERNS = ["exact", "prefix", "suffix", "safe_regex", "contains"] as const;

/**
 * Reports what grpc-js-xds (rbac-filter.js parseTopLevelRbacConfig and
 * rbac.js parseConfig) NACKs in the RBAC HTTP filter of a server Listener
 * (gRFC A41), plus Envoy's field rules:
 * - `rules` is set (without it gRPC fails to parse the filter);
 * - its action is ALLOW or DENY (LOG is refused);
 * - each policy has at least one permission and one principal (Envoy), and
 *   an `authenticated` principal's principal_name has a match pattern.
 * gRPC servers register the filter only with GRPC_XDS_EXPERIMENTAL_RBAC=true;
 * without it they NACK the Listener (fail closed), which this check cannot see.
 */
export function validateRbacFilter(codec: Codec, any: Any, findings: Findings): void {
  let rbac: Message | undefined;
  try {
    rbac = asMessage(unpackAny(codec, RBAC_TYPE_NAME, any));
  } catch (error) {
    if (!(error instanceof SteadyError)) throw error;
    findings.noteDecodeError(error.message);
    findings.add("", error.message);
    return;
  }
  const rules = sub(rbac, "rules");
  if (!rules) {
    findings.add("rules", "is required; gRPC servers refuse an RBAC filter without rules");
    return;
  }
  const action = rules["action"] ?? "ALLOW";
  if (action !== "ALLOW" && action !== "DENY") findings.add("rules.action", `${String(action)} is not supported by gRPC; allowed: ALLOW, DENY`);
  for (const [name, value] of Object.entries(asMessage(rules["policies"]) ?? {})) {
    const policy = asMessage(value) ?? {};
    const at = findings.at(`rules.policies[${JSON.stringify(name)}]`);
    const permissions = messages(policy["permissions"]);
    const principals = messages(policy["principals"]);
    if (permissions.length === 0) at.add("permissions", "must not be empty (Envoy); use { any: true } for every request");
    if (principals.length === 0) at.add("principals", "must not be empty (Envoy); use { any: true } for every caller");
    permissions.forEach((permission, i) => {
      if (whichOf(permission, PERMISSIONS) === undefined) at.add(`permissions[${i}]`, "has no rule; it would match nothing");
    });
    principals.forEach((principal, i) => checkPrincipal(principal, at.at(`principals[${i}]`)));
  }
}

function checkPrincipal(principal: Message, findings: Findings): void {
  const which = whichOf(principal, PRINCIPALS);
  if (which === undefined) {
    findings.add("", "has no identifier; it would match no caller");
    return;
  }
  if (which !== "authenticated") return;
  const name = sub(sub(principal, which), "principal_name");
  if (name && whichOf(name, STRING_PATTERNS) === undefined) {
    findings.add("authenticated.principal_name", `has no match pattern; allowed: ${STRING_PATTERNS.join(", ")}`);
  }
}
