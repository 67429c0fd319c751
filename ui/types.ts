/**
 * The shapes of the admin API answers the console reads (the web console
 * contract, sections A and B, and the existing /v1 routes). Declared here
 * rather than imported from src/: the browser bundle must not pull server code.
 * test/unit/ui-api-types.test.ts holds them to the server's types under tsc.
 */

export type Health = "healthy" | "unhealthy" | "unknown" | "draining";
export type Scope = "read" | "write" | "operator";

export interface Session {
  readonly name: string;
  readonly scope: Scope;
  /** Absent for a Bearer caller (no session) and empty with `serve --auth off`: neither needs one. */
  readonly csrf?: string;
}

export interface HealthCounts {
  readonly healthy: number;
  readonly unhealthy: number;
  readonly unknown: number;
  readonly draining: number;
  readonly total: number;
}

export interface Overview {
  readonly revision: number;
  readonly services: number;
  readonly instances: HealthCounts;
  readonly clients: { readonly connected: number; readonly sotw: number; readonly delta: number };
  readonly nacksLastHour: number;
  readonly newestGeneration: { readonly id: number; readonly status: string; readonly createdAt: string; readonly reason: string } | null;
  readonly held: readonly { readonly id: number; readonly reason: string }[];
  readonly buildFailures: number;
}

export interface ServiceSummary {
  readonly name: string;
  readonly instances: HealthCounts;
  readonly policy: boolean;
  readonly mtls: string;
}

export interface ServicesSummaryPage {
  readonly services: readonly ServiceSummary[];
  readonly next?: string;
  readonly matched: number;
}

export interface Instance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly zone: string;
  readonly region: string;
  readonly weight: number;
  readonly health: Health;
  readonly metadata: Readonly<Record<string, string>>;
  readonly ttlMs?: number;
}

export interface ServiceDetail {
  readonly name: string;
  readonly protocol: string;
  readonly lbPolicy: string;
  readonly mtls: string;
  readonly instances: readonly Instance[];
}

export interface HistorySample {
  readonly at: string;
  readonly healthy: number;
  readonly unhealthy: number;
  readonly unknown: number;
  readonly draining: number;
}

export interface CheckResult {
  readonly at: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly kind: string;
}

export interface NackStatus {
  readonly at: string;
  readonly version: string;
  readonly errorDetail: { readonly code: number; readonly message: string };
  readonly generation?: number;
}

export interface TypeStatus {
  readonly sentVersion?: string;
  readonly sentGeneration?: number;
  readonly ackedVersion?: string;
  readonly ackedGeneration?: number;
  readonly lastNack?: NackStatus;
}

export interface ClientStatus {
  readonly streamId: string;
  readonly nodeId: string;
  readonly protocol: string;
  readonly userAgent: string;
  readonly types: Readonly<Record<string, TypeStatus>>;
}

export interface TypeDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

export interface EndpointDiff {
  readonly before: number;
  readonly after: number;
}

export interface GenerationDiff {
  readonly against?: number;
  readonly types: Readonly<Record<string, TypeDiff>>;
  readonly endpoints: Readonly<Record<string, EndpointDiff>>;
  readonly policies?: readonly string[];
}

export interface Generation {
  readonly id: number;
  readonly revision: number;
  readonly createdAt: string;
  readonly status: string;
  readonly reason: string;
  readonly diff: GenerationDiff;
  readonly problems: readonly { readonly path: string; readonly message: string }[];
  /** A newer generation made this one moot before it was pushed: it can no longer be approved. */
  readonly supersededBy?: number;
}

export interface GenerationAcks {
  readonly generation: number;
  readonly pushedAt: string | null;
  readonly acked: number;
  readonly clients: number;
  readonly acks: readonly { readonly streamId: string; readonly nodeId: string; readonly at: string; readonly ms: number; readonly initial: boolean }[];
  readonly expired?: boolean;
}

export interface LabReport {
  readonly name: string;
  readonly scenario: string;
  readonly verdict: string;
  readonly finishedAt: string;
  readonly files: readonly string[];
}
