import type { FastifyRequest } from "fastify";
import { ValidationError } from "../errors/index.js";

/**
 * The deepest nesting of objects and arrays a request body may have. The
 * API's deepest body is 2 (an instance's `metadata`, a service's
 * `healthCheck`); deeper input is refused before it is parsed, because
 * rendering or validating a value tens of thousands of levels deep overflows
 * the stack.
 */
export const MAX_JSON_DEPTH = 32;

type Done = (err: Error | null, body?: unknown) => void;
/** fastify's own JSON parser (getDefaultJsonParser): empty-body, syntax and prototype-poisoning checks. */
export type JsonParser = (request: FastifyRequest, body: string, done: Done) => void;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Wraps fastify's JSON parser with the depth limit; a body nested deeper is a 400 naming `body`. */
export function withDepthLimit(json: JsonParser, maxDepth = MAX_JSON_DEPTH): JsonParser {
  return (request, body, done) => {
    if (nestingExceeds(body, maxDepth)) {
      done(new ValidationError([{ path: "body", message: `JSON nested too deeply; at most ${maxDepth} levels of objects and arrays are allowed` }]));
      return;
    }
    json(request, body, done);
  };
}

/**
 * True when `text` opens more than `maxDepth` objects or arrays inside one
 * another, brackets inside strings not counted. One pass; it does not check
 * that the text is JSON (the parser does that next).
 */
export function nestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
