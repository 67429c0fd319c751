/** Admin API authentication: token scopes, issuing and checking tokens, and the first operator token of a data dir. */
export { allows, describeNeed, parseScope, SCOPE_FORMS, type Need, type Scope } from "./scopes.js";
export {
  createTokenAuthority,
  parseTokenRequest,
  MAX_TOKEN_TTL_MS,
  MIN_TOKEN_TTL_MS,
  type IssuedToken,
  type Principal,
  type TokenAuthority,
  type TokenInfo,
  type TokenRequest,
} from "./token-authority.js";
export { ensureAdminToken, ADMIN_TOKEN_FILE, ADMIN_TOKEN_NAME, type AdminTokenOutcome } from "./admin-token-file.js";
