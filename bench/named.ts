/**
 * Debian's bind9 `named` for the `dns` section's baseline: writes a zone
 * with the same records steadymesh's DNS server serves for the bench's
 * instances (A at `<service>.service.<domain>`, SRV at
 * `_<service>._tcp.service.<domain>` with targets `<id>.<service>.service.<domain>`,
 * one TTL for all), a minimal authoritative named.conf (no recursion, no
 * rndc, loopback only), and runs `named -g` in the foreground on a free port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { access, constants, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../test/helpers/free-ports.js";
import { queryOnce } from "./dns-load.js";

export const NAMED_BINARY = "/usr/sbin/named";

export interface ZoneInstance {
  readonly service: string;
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
}

export interface NamedProcess {
  readonly port: number;
  stop(): Promise<void>;
}

export async function namedPresent(): Promise<boolean> {
  try {
    await access(NAMED_BINARY, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The zone file text for `domain` with every instance's A, SRV and target A records. */
export function zoneText(domain: string, ttl: number, instances: readonly ZoneInstance[]): string {
  const lines = [
    `$ORIGIN ${domain}.`,
    `$TTL ${ttl}`,
    `@ IN SOA ns.${domain}. hostmaster.${domain}. 1 60 10 86400 ${ttl}`,
    `@ IN NS ns.${domain}.`,
    `ns IN A 127.0.0.1`,
  ];
  for (const i of instances) {
    lines.push(`${i.service}.service IN A ${i.address}`);
    lines.push(`_${i.service}._tcp.service IN SRV 0 ${i.weight} ${i.port} ${i.id}.${i.service}.service.${domain}.`);
    lines.push(`${i.id}.${i.service}.service IN A ${i.address}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Writes named.conf and the zone into `dir`, starts named on a free loopback port and waits until it answers. */
export async function startNamed(dir: string, domain: string, ttl: number, instances: readonly ZoneInstance[]): Promise<NamedProcess> {
  const port = await freePort();
  const zoneFile = join(dir, `${domain}.zone`);
  const conf = join(dir, "named.conf");
  await writeFile(zoneFile, zoneText(domain, ttl, instances));
  await writeFile(
    conf,
    `options {
  directory "${dir}";
  pid-file "${join(dir, "named.pid")}";
  session-keyfile "${join(dir, "session.key")}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  minimal-responses no-auth;
};
controls { };
zone "${domain}" { type primary; file "${zoneFile}"; };
`,
  );
  const child: ChildProcess = spawn(NAMED_BINARY, ["-g", "-c", conf, "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const stop = (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  };
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`named exited with ${child.exitCode}: ${stderr.trim()}`);
      try {
        const reply = await queryOnce(port, { name: `ns.${domain}`, type: "A" }, 200);
        if (reply.answers.length > 0) break;
      } catch {
        // Not listening yet, or the zone not loaded: ask again.
      }
      if (Date.now() > deadline) throw new Error(`named did not answer in 15 s: ${stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}
