import { SteadyError } from "../errors/index.js";
import { DOWNSTREAM_TLS_CONTEXT_TYPE_NAME, UPSTREAM_TLS_CONTEXT_TYPE_NAME, typeUrlOf, type Codec } from "../proto/index.js";
import { unpackAny } from "./decode.js";
import { anyOf, asMessage, isSet, messages, strings, sub, text, whichOf, wrapped, type Findings, type Message } from "./fields.js";

/** The only transport socket gRPC servers take (validateTransportSocket, listener-resource-type.js). */
const TLS_SOCKET_NAME = "envoy.transport_sockets.tls";
const DOWNSTREAM_URL = typeUrlOf(DOWNSTREAM_TLS_CONTEXT_TYPE_NAME);
const UPSTREAM_URL = typeUrlOf(UPSTREAM_TLS_CONTEXT_TYPE_NAME);

/** Every member of CommonTlsContext.validation_context_type, and the two gRPC reads. */
const VALIDATION_CONTEXTS = [
  "validation_context",
  "combined_validation_context",
  "validation_context_sds_secret_config",
  "validation_context_certificate_provider",
  "validation_context_certificate_provider_instance",
] as const;
const SUPPORTED_VALIDATION_CONTEXTS = ["validation_context", "combined_validation_context"];

/**
 * Which side the transport socket is on: a server Listener's filter chain
 * (DownstreamTlsContext) or a Cluster (UpstreamTlsContext).
 */
export type TlsSide = "downstream" | "upstream";

/**
 * Reports what grpc-js-xds NACKs in a transport_socket (validateTransportSocket
 * of listener-resource-type.js and cluster-resource-type.js), gRFC A29:
 * - downstream: named `envoy.transport_sockets.tls`; a DownstreamTlsContext
 *   without require_sni and with the default OCSP policy; an identity
 *   certificate from a provider instance; a validation context when
 *   require_client_certificate is set;
 * - upstream: an UpstreamTlsContext whose validation context takes its CA
 *   from a provider instance; no inline certificates without a provider;
 * - both: certificates only from provider instances (no tls_params, no
 *   custom_handshaker, no spki/hash pinning, CRL, SCT or custom validator).
 * Provider instance names must be non-empty. Whether each client's or
 * server's bootstrap has them is for the push guard's hold, not for this check.
 */
export function validateTransportSocket(codec: Codec, socket: Message, side: TlsSide, findings: Findings): void {
  if (side === "downstream" && text(socket["name"]) !== TLS_SOCKET_NAME) {
    findings.add("name", `must be ${TLS_SOCKET_NAME} for gRPC servers, got ${JSON.stringify(text(socket["name"]))}`);
  }
  const any = anyOf(socket, "typed_config");
  const expected = side === "downstream" ? DOWNSTREAM_URL : UPSTREAM_URL;
  if (!any) {
    findings.add("typed_config", `is required; it must hold a ${expected}`);
    return;
  }
  if (any.type_url !== expected) {
    findings.add("typed_config.type_url", `must be ${expected}, got ${JSON.stringify(any.type_url)}`);
    return;
  }
  let context: Message | undefined;
  try {
    context = asMessage(unpackAny(codec, side === "downstream" ? DOWNSTREAM_TLS_CONTEXT_TYPE_NAME : UPSTREAM_TLS_CONTEXT_TYPE_NAME, any));
  } catch (error) {
    if (!(error instanceof SteadyError)) throw error;
    findings.noteDecodeError(error.message);
    findings.add("typed_config", error.message);
    return;
  }
  if (context) checkTlsContext(context, side, findings.at("typed_config"));
}

function checkTlsContext(context: Message, side: TlsSide, findings: Findings): void {
  if (side === "downstream") {
    if (wrapped(context, "require_sni") === true) findings.add("require_sni", "must not be set; gRPC servers do not support SNI");
    const ocsp = context["ocsp_staple_policy"] ?? "LENIENT_STAPLING";
    if (ocsp !== "LENIENT_STAPLING") findings.add("ocsp_staple_policy", `${String(ocsp)} is not supported by gRPC; allowed: LENIENT_STAPLING`);
  }
  const common = sub(context, "common_tls_context");
  if (!common) {
    findings.add("common_tls_context", "is required");
    return;
  }
  const at = findings.at("common_tls_context");
  const validation = validationContextOf(common, at);
  if (side === "downstream" && wrapped(context, "require_client_certificate") === true && !validation) {
    findings.add("require_client_certificate", "needs a validation_context: a server cannot check client certificates without a CA");
  }
  if (validation) checkValidationContext(validation.message, side, at.at(validation.path));
  else if (side === "upstream") at.add("validation_context", "is required: a client must check the server's certificate against a CA provider instance");
  const identity = sub(common, "tls_certificate_provider_instance");
  if (identity) checkInstance(identity, at.at("tls_certificate_provider_instance"));
  else if (side === "downstream") at.add("tls_certificate_provider_instance", "is required: a gRPC server takes its certificate from a provider instance");
  else if (messages(common["tls_certificates"]).length > 0 || messages(common["tls_certificate_sds_secret_configs"]).length > 0) {
    at.add("tls_certificates", "are not supported by gRPC; use tls_certificate_provider_instance");
  }
  for (const field of ["tls_params", "custom_handshaker"]) {
    if (isSet(common, field)) at.add(field, "must not be set; gRPC does not support it");
  }
}

/** The validation context gRPC reads, with its path; undefined after reporting an unsupported one. */
function validationContextOf(common: Message, findings: Findings): { message: Message; path: string } | undefined {
  const which = whichOf(common, VALIDATION_CONTEXTS);
  if (which === undefined) return undefined;
  if (!SUPPORTED_VALIDATION_CONTEXTS.includes(which)) {
    findings.add(which, `is not supported by gRPC; allowed: ${SUPPORTED_VALIDATION_CONTEXTS.join(", ")}`);
    return undefined;
  }
  if (which === "validation_context") return { message: sub(common, which) ?? {}, path: which };
  const inner = sub(sub(common, which), "default_validation_context");
  if (!inner) {
    findings.add(`${which}.default_validation_context`, "is required");
    return undefined;
  }
  return { message: inner, path: `${which}.default_validation_context` };
}

function checkValidationContext(validation: Message, side: TlsSide, findings: Findings): void {
  for (const field of ["verify_certificate_spki", "verify_certificate_hash"]) {
    if (strings(validation[field]).length > 0) findings.add(field, "must be empty; gRPC does not support certificate pinning");
  }
  if (wrapped(validation, "require_signed_certificate_timestamp") === true) findings.add("require_signed_certificate_timestamp", "must not be set; gRPC does not support it");
  for (const field of ["crl", "custom_validator_config"]) {
    if (isSet(validation, field)) findings.add(field, "must not be set; gRPC does not support it");
  }
  const ca = sub(validation, "ca_certificate_provider_instance");
  if (ca) checkInstance(ca, findings.at("ca_certificate_provider_instance"));
  else if (side === "upstream") findings.add("ca_certificate_provider_instance", "is required: gRPC clients take the CA from a provider instance");
  if (side === "upstream") {
    messages(validation["match_subject_alt_names"]).forEach((matcher, i) => {
      if (whichOf(matcher, ["exact", "prefix", "suffix", "safe_regex", "contains"]) === undefined) {
        findings.add(`match_subject_alt_names[${i}]`, "has no match pattern; a client would match no certificate; allowed: exact, prefix, suffix, safe_regex, contains");
      }
    });
  }
}

function checkInstance(instance: Message, findings: Findings): void {
  if (text(instance["instance_name"]) === "") findings.add("instance_name", "must name a certificate_providers entry of the bootstrap");
}
