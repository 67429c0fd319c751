import { SteadyError } from "../errors/index.js";
import { HTTP_FAULT_TYPE_NAME, typeUrlOf, type Any, type Codec } from "../proto/index.js";
import { unpackAny } from "./decode.js";
import { asMessage, enumName, num, sub, whichOf, type Findings } from "./fields.js";

export const FAULT_URL = typeUrlOf(HTTP_FAULT_TYPE_NAME);

/** FractionalPercent denominators gRPC reads (fraction.js); another leaves the fraction without one. */
const DENOMINATORS = ["HUNDRED", "TEN_THOUSAND", "MILLION"];

/**
 * Reports what grpc-js-xds (fault-injection-filter.js parseHTTPFaultConfig,
 * gRFC A33) refuses in an HTTPFault, as a Listener's filter or a route's
 * override, plus Envoy's field rules:
 * - the bytes decode as an HTTPFault;
 * - a delay has a percentage and a fixed_delay (> 0, Envoy) or header_delay;
 * - an abort has a percentage and an http_status (200–599, Envoy),
 *   grpc_status or header_abort;
 * - a percentage's denominator is HUNDRED, TEN_THOUSAND or MILLION.
 * An empty HTTPFault (the Listener's, overridden per route) is valid.
 */
export function validateFaultFilter(codec: Codec, any: Any, findings: Findings): void {
  let fault;
  try {
    fault = asMessage(unpackAny(codec, HTTP_FAULT_TYPE_NAME, any));
  } catch (error) {
    if (!(error instanceof SteadyError)) throw error;
    findings.noteDecodeError(error.message);
    findings.add("", error.message);
    return;
  }
  const delay = sub(fault, "delay");
  if (delay) {
    checkPercentage(sub(delay, "percentage"), findings.at("delay.percentage"));
    const which = whichOf(delay, ["fixed_delay", "header_delay"]);
    if (which === undefined) findings.add("delay", "needs fixed_delay or header_delay");
    else if (which === "fixed_delay") {
      const fixed = sub(delay, "fixed_delay");
      if ((num(fixed?.["seconds"]) ?? 0) <= 0 && (num(fixed?.["nanos"]) ?? 0) <= 0) findings.add("delay.fixed_delay", "must be greater than 0");
    }
  }
  const abort = sub(fault, "abort");
  if (abort) {
    checkPercentage(sub(abort, "percentage"), findings.at("abort.percentage"));
    const which = whichOf(abort, ["http_status", "grpc_status", "header_abort"]);
    if (which === undefined) findings.add("abort", "needs http_status, grpc_status or header_abort");
    else if (which === "http_status") {
      const status = num(abort["http_status"]) ?? 0;
      if (status < 200 || status >= 600) findings.add("abort.http_status", `must be 200-599, got ${status}`);
    }
  }
}

function checkPercentage(percentage: ReturnType<typeof sub>, findings: Findings): void {
  if (!percentage) {
    findings.add("", "is required; gRPC clients refuse a fault without one");
    return;
  }
  const denominator = enumName(percentage["denominator"] ?? "HUNDRED");
  if (!DENOMINATORS.includes(denominator)) findings.add("denominator", `${denominator} is not a denominator; allowed: ${DENOMINATORS.join(", ")}`);
}
