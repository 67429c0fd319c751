import { parseTokenRequest, type TokenAuthority } from "../auth/index.js";
import { NotFoundError } from "../errors/index.js";
import { param, type RouteSpec } from "./routes.js";

/** The 404 of every `/v1/tokens` route on a server built without a token authority. */
export const TOKENS_OFF_MESSAGE = "this server keeps no admin API tokens";

/**
 * `/v1/tokens` (README, "Security → admin API tokens"), operator only.
 * POST answers the new token's secret, the only time it is ever shown;
 * GET lists names, scopes and times, never secrets.
 */
export function createTokenRoutes(authority: TokenAuthority | undefined): readonly RouteSpec[] {
  function tokens(): TokenAuthority {
    if (!authority) throw new NotFoundError(TOKENS_OFF_MESSAGE);
    return authority;
  }
  return [
    {
      method: "POST",
      url: "/v1/tokens",
      scope: "operator",
      handler: async (request, reply) => {
        const issued = await tokens().issue(parseTokenRequest(request.body ?? {}));
        return reply.code(201).send(issued);
      },
    },
    {
      method: "GET",
      url: "/v1/tokens",
      scope: "operator",
      handler: async () => ({ tokens: await tokens().list() }),
    },
    {
      method: "DELETE",
      url: "/v1/tokens/:name",
      scope: "operator",
      handler: async (request) => {
        const name = param(request, "name");
        await tokens().revoke(name);
        return { revoked: name };
      },
    },
  ];
}
