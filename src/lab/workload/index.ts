/** The lab's virtual users and what they measure. */
export { createRng } from "./rng.js";
export { startUserPool, type Outcome, type UserPool, type UserPoolOptions } from "./users.js";
