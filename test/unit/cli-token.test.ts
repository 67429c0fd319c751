import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createTokenAuthority, type TokenAuthority } from "../../src/auth/index.js";
import { resolveToken, tokenHint } from "../../src/cli/admin-token.js";
import { main } from "../../src/cli/index.js";
import { createSystemClock } from "../../src/clock/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations } from "./generation-fixtures.js";

async function run(args: readonly string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", ...args], { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("cli - token commands against an admin API with authentication on", () => {
  let registry: Registry;
  let authority: TokenAuthority;
  let admin: AdminServer;
  let url: string;
  let operator: string;
  let dir: string;

  before(async () => {
    const backend = createMemoryStore();
    registry = await createRegistry(backend);
    authority = createTokenAuthority({ tokens: backend.tokens, clock: createSystemClock() });
    operator = (await authority.issue({ scope: "operator", name: "admin" })).token;
    admin = createAdminServer({ auth: { required: true, authority }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
    url = `http://127.0.0.1:${(await admin.listen("127.0.0.1", 0)).port}`;
    dir = await mkdtemp(join(tmpdir(), "steadymesh-cli-token-"));
  });
  after(async () => {
    await admin.close();
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("cli token - create prints the token alone on one line; it works, list shows no secret, revoke ends it", async () => {
    const created = await run(["token", "create", "--scope", "write", "--name", "deployer", "--ttl", "12h", "--admin", url, "--token", operator]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^smt_[A-Za-z0-9_-]{43}\n$/);
    const secret = created.stdout.trim();
    const file = join(dir, "deployer-token");
    await writeFile(file, `${secret}\n`);
    const registered = await run(["register", "web", "--address", "127.0.0.1", "--port", "5000", "--admin", url, "--token-file", file, "--wait-ms", "0"]);
    assert.equal(registered.code, 0, registered.stderr);
    const listed = await run(["token", "list", "--admin", url, "--token", operator]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+SCOPE\s+CREATED\s+EXPIRES\nadmin\s+operator\s+\S+\s+never\ndeployer\s+write\s+\S+\s+\S+Z\n$/);
    assert.ok(!listed.stdout.includes(secret) && !listed.stdout.includes(operator));
    assert.deepEqual(await run(["token", "revoke", "deployer", "--admin", url, "--token", operator]), { code: 0, stdout: "revoked token deployer\n", stderr: "" });
    const refused = await run(["list", "--admin", url, "--token-file", file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^steadymesh: error: invalid token: .*\(the token came from --token-file .*deployer-token\)\n$/);
    assert.ok(!refused.stderr.includes(secret));
  });

  it("cli token - 403 names the scope needed; a --token-file that cannot be read is an error", async () => {
    const reader = (await authority.issue({ scope: "read" })).token;
    const denied = await run(["token", "list", "--admin", url, "--token", reader]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /; 'steadymesh token list' needs scope operator \(the token came from --token\)\n$/);
    const write = await run(["register", "web", "--address", "127.0.0.1", "--port", "5001", "--admin", url, "--token", reader]);
    assert.match(write.stderr, /^steadymesh: error: token "[^"]+" has scope read; 'steadymesh register' needs scope write \(or operator\) \(the token came from --token\)\n$/);
    assert.doesNotMatch(denied.stderr + write.stderr, /\/v1\//, "the CLI names commands, not API routes");
    const none = await run(["list", "--admin", url, "--token-file", join(dir, "missing")]);
    assert.match(none.stderr, /^steadymesh: error: --token-file .*missing: cannot read it \(ENOENT\)/);
  });

  it("cli token - bad --scope, --ttl and --name are one-line errors naming the flag and what is allowed; --help works", async () => {
    const scope = await run(["token", "create", "--scope", "admin", "--admin", url]);
    assert.match(scope.stderr, /^steadymesh: error: option '--scope <scope>' argument 'admin' is invalid\. It must be read, write, operator or identity:<service>/);
    const ttl = await run(["token", "create", "--scope", "read", "--ttl", "10y", "--admin", url]);
    assert.match(ttl.stderr, /^steadymesh: error: option '--ttl <duration>' argument '10y' is invalid\. It must be a duration such as 90s, 30m, 12h or 7d, from 1s to 3650d/);
    assert.equal((await run(["token", "create", "--scope", "read", "--ttl", "0s"])).code, 1);
    assert.match((await run(["token", "create", "--scope", "read", "--name", "Bad_Name"])).stderr, /--name <name>.*DNS label/);
    for (const sub of ["create", "list", "revoke"]) {
      const help = await run(["token", sub, "--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /--token <token>/);
    }
  });
});

describe("cli - where the admin token comes from", () => {
  it("cli token source - --token, then --token-file, then STEADYMESH_TOKEN, then ./.steadymesh/admin-token, else none", async () => {
    const dir = await mkdtemp(join(tmpdir(), "steadymesh-token-source-"));
    try {
      await mkdir(join(dir, ".steadymesh"));
      await writeFile(join(dir, ".steadymesh", "admin-token"), "from-default-file\n");
      await writeFile(join(dir, "given"), "from-token-file\n");
      const env = { STEADYMESH_TOKEN: "from-env" };
      assert.deepEqual(resolveToken({ token: "from-flag" }, env, dir), { token: "from-flag", source: "--token" });
      assert.equal(resolveToken({ tokenFile: join(dir, "given") }, env, dir).token, "from-token-file");
      assert.deepEqual(resolveToken({}, env, dir), { token: "from-env", source: "STEADYMESH_TOKEN" });
      assert.equal(resolveToken({}, {}, dir).token, "from-default-file");
      assert.deepEqual(resolveToken({}, {}, tmpdir()), { source: "none" });
      assert.match(tokenHint("none"), /^no token was sent: pass --token or --token-file, set STEADYMESH_TOKEN/);
      assert.throws(() => resolveToken({ token: "a", tokenFile: "b" }, {}, dir), /give --token or --token-file, not both/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
