import { readFileSync, readdirSync } from "node:fs";

/**
 * How long the lab's processes waited for a CPU while they were ready to
 * run, against how long they ran: Linux's per-task scheduler statistics
 * (/proc/<pid>/schedstat: time on a CPU, time waiting on a run queue).
 *
 * A lab run measures time: a login that takes over a second fails, a
 * gateway that is not ready in 20 s is lost. On a machine whose CPUs are
 * busy with other work those limits measure the machine, not steadymesh.
 * At a ratio of 9 (measured beside `npm run bench` on 2 cores) a gateway's
 * one second of start-up takes ten; on an idle machine the ratio stays
 * below 1. The run reports the ratio, and a run that missed SLOs while its
 * processes waited more than `CPU_WAIT_LIMIT` is inconclusive, not failed.
 */
export interface CpuWait {
  /** CPU time the lab process and its children used while measured, ms. */
  readonly cpuMs: number;
  /** Time they were ready to run but waited for a CPU, ms. */
  readonly waitMs: number;
  /** Processes measured (the lab's own and every child seen). */
  readonly processes: number;
  /** waitMs / cpuMs; null where it cannot be measured (not Linux, or nothing ran). */
  readonly ratio: number | null;
}

/** Above this (wait per CPU second), a run that missed an SLO is inconclusive. */
export const CPU_WAIT_LIMIT = 2;

export interface CpuWaitMonitor {
  /** Stops sampling and returns the totals since the start. */
  stop(): CpuWait;
}

interface Sample {
  readonly cpuNs: number;
  readonly waitNs: number;
}

/** The parent pid in the text of /proc/<pid>/stat (the command name may hold spaces and parentheses). */
export function parentPid(statText: string): number | undefined {
  const fields = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** `<ns on cpu> <ns waiting> <timeslices>`, the text of /proc/<pid>/schedstat. */
export function parseSchedstat(text: string): Sample | undefined {
  const [cpu, wait] = text.trim().split(/\s+/).map(Number);
  return Number.isFinite(cpu) && Number.isFinite(wait) ? { cpuNs: cpu!, waitNs: wait! } : undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process exited between listing and reading
  }
}

/**
 * Samples `rootPid` (this process by default) and its direct children every
 * `everyMs`. A child that lives shorter than one interval is missed, and one
 * that exits loses at most its last interval: an estimate, which is all a
 * verdict on the machine needs.
 */
export function startCpuWaitMonitor(options: { rootPid?: number; everyMs?: number; procDir?: string } = {}): CpuWaitMonitor {
  const root = options.rootPid ?? process.pid;
  const proc = options.procDir ?? "/proc";
  const available = read(`${proc}/${root}/schedstat`) !== undefined;
  const baseline = new Map<number, Sample>();
  const latest = new Map<number, Sample>();
  const sample = (first: boolean): void => {
    let entries: string[];
    try {
      entries = readdirSync(proc);
    } catch {
      return;
    }
    for (const name of entries) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      if (pid !== root) {
        const stat = read(`${proc}/${pid}/stat`);
        if (stat === undefined || parentPid(stat) !== root) continue;
      }
      const now = parseSchedstat(read(`${proc}/${pid}/schedstat`) ?? "");
      if (!now) continue;
      // What ran before the monitor started is not counted; a child that appears later counts from its start.
      if (first) baseline.set(pid, now);
      latest.set(pid, now);
    }
  };
  if (available) sample(true);
  const timer = available ? setInterval(() => sample(false), options.everyMs ?? 1000) : undefined;
  timer?.unref();
  return {
    stop() {
      if (timer) clearInterval(timer);
      if (!available) return { cpuMs: 0, waitMs: 0, processes: 0, ratio: null };
      sample(false);
      let cpuNs = 0;
      let waitNs = 0;
      for (const [pid, s] of latest) {
        const base = baseline.get(pid) ?? { cpuNs: 0, waitNs: 0 };
        cpuNs += s.cpuNs - base.cpuNs;
        waitNs += s.waitNs - base.waitNs;
      }
      return { cpuMs: cpuNs / 1e6, waitMs: waitNs / 1e6, processes: latest.size, ratio: cpuNs > 0 ? waitNs / cpuNs : null };
    },
  };
}
