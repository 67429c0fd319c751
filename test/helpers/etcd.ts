import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "./free-ports.js";

/** Debian's etcd-server puts the binary here; .ci/run installs it when missing. */
export const ETCD_BINARY = "/usr/bin/etcd";

/** Real etcd processes on loopback, started by startEtcd. */
export interface EtcdCluster {
  /** Client endpoints, `127.0.0.1:port`, one per member in member order. */
  readonly endpoints: readonly string[];
  /** `etcd://127.0.0.1:p1,127.0.0.1:p2…`, the value of `serve --store`. */
  readonly spec: string;
  /** SIGKILLs member `member` (0-based) and waits for it to exit. */
  kill(member: number): Promise<void>;
  /** Starts a killed member again on its old ports and data dir and waits until it answers. */
  restart(member: number): Promise<void>;
  /** Kills every member and removes the data dirs; calling it again does nothing. */
  stop(): Promise<void>;
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  process?: ChildProcess;
  /** The last few KB of its stderr, for error messages. */
  stderr: string;
}

const READY_TIMEOUT_MS = 20_000;
const running = new Set<ChildProcess>();
// A test file that crashes must not leave etcd processes behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

async function ensureBinary(): Promise<void> {
  try {
    await access(ETCD_BINARY, constants.X_OK);
  } catch (err) {
    throw new Error(`${ETCD_BINARY} is missing: install Debian's etcd-server (apt-get install etcd-server); the etcd store tests need a real etcd`, { cause: err });
  }
}

function memberArgs(member: Member, cluster: string, token: string): string[] {
  const client = `http://127.0.0.1:${member.clientPort}`;
  const peer = `http://127.0.0.1:${member.peerPort}`;
  return [
    ["--name", member.name],
    ["--data-dir", member.dataDir],
    ["--listen-client-urls", client],
    ["--advertise-client-urls", client],
    ["--listen-peer-urls", peer],
    ["--initial-advertise-peer-urls", peer],
    ["--initial-cluster", cluster],
    ["--initial-cluster-state", "new"],
    ["--initial-cluster-token", token],
    // Faster elections than the defaults (100/1000 ms), so a killed leader is replaced quickly on loopback.
    ["--heartbeat-interval", "50"],
    ["--election-timeout", "500"],
    ["--logger", "zap"],
    ["--log-level", "error"],
  ].flat();
}

function spawnMember(member: Member, args: readonly string[]): ChildProcess {
  const child = spawn(ETCD_BINARY, args, { stdio: ["ignore", "ignore", "pipe"] });
  member.stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    member.stderr = (member.stderr + chunk.toString()).slice(-4000);
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  member.process = child;
  return child;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls the member's /health until etcd reports a leader; fails early if the process exits. */
async function waitHealthy(member: Member): Promise<void> {
  const child = member.process!;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`etcd ${member.name} exited (${child.exitCode ?? child.signalCode}) while starting: ${member.stderr.trim()}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${member.clientPort}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === "true") return;
      last = `health ${JSON.stringify(body)}`;
    } catch (err) {
      // Not listening yet: poll again; the timeout message reports the last reason.
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(`etcd ${member.name} did not become healthy in ${READY_TIMEOUT_MS / 1000} s (${last}): ${member.stderr.trim()}`);
}

async function killMember(member: Member): Promise<void> {
  const child = member.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

/**
 * Starts Debian's etcd (1 or 3 members, a static initial cluster) on free
 * loopback ports with data dirs under a fresh temp dir, and resolves once
 * every member reports a leader. Rejects with a message saying to install
 * etcd-server when /usr/bin/etcd is missing: tests that need etcd fail, they
 * are never skipped.
 */
export async function startEtcd(options: { members?: 1 | 3 } = {}): Promise<EtcdCluster> {
  await ensureBinary();
  const root = await mkdtemp(join(tmpdir(), "steadymesh-etcd-"));
  const count = options.members ?? 1;
  const ports = await freePorts(2 * count);
  const members: Member[] = Array.from({ length: count }, (_, i) => ({ name: `m${i}`, clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]!, dataDir: join(root, `m${i}`), stderr: "" }));
  const cluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(",");
  const token = `steadymesh-test-${randomBytes(6).toString("hex")}`;
  const args = new Map(members.map((m) => [m, memberArgs(m, cluster, token)]));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(members.map(killMember));
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (const member of members) spawnMember(member, args.get(member)!);
    await Promise.all(members.map(waitHealthy));
  } catch (err) {
    await stop();
    throw err;
  }
  const endpoints = members.map((m) => `127.0.0.1:${m.clientPort}`);
  const memberAt = (index: number): Member => {
    const member = members[index];
    if (!member) throw new Error(`etcd has members 0-${members.length - 1}, got ${index}`);
    return member;
  };
  return {
    endpoints,
    spec: `etcd://${endpoints.join(",")}`,
    kill: (index) => killMember(memberAt(index)),
    async restart(index) {
      const member = memberAt(index);
      await killMember(member);
      // With a data dir in place etcd ignores the --initial-* flags and rejoins as the member it was.
      spawnMember(member, args.get(member)!);
      await waitHealthy(member);
    },
    stop,
  };
}
