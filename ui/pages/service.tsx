import { useMemo, useState } from "preact/hooks";
import { ApiError, deleteJson, getJson, putJson, seg } from "../api.js";
import { Chart } from "../components/chart.js";
import { ConfirmDialog } from "../components/dialog.js";
import { Page } from "../components/page.js";
import { StatusBadge } from "../components/status-badge.js";
import { Table } from "../components/table.js";
import { useData } from "../components/use-data.js";
import { historySummary, instanceActionLine, localityLine, metadataLine, shortTime, yamlish } from "../format.js";
import { useLiveReload } from "../live.js";
import type { CheckResult, ClientStatus, HistorySample, Instance, Scope, ServiceDetail } from "../types.js";

interface ServiceView {
  readonly service: ServiceDetail;
  readonly history: readonly HistorySample[];
  readonly checks: Readonly<Record<string, CheckResult>>;
  /** undefined: no policy (404); a string: why it could not be read. */
  readonly policy: unknown;
  readonly policyError?: string;
  readonly dns: readonly { name: string; type: string }[] | string;
  readonly clients: { readonly list: readonly ClientStatus[]; readonly total: number } | string;
}

/** Everything the page shows, fetched together; only the service itself is required, the rest degrade to a message. */
async function loadService(name: string, signal: AbortSignal): Promise<ServiceView> {
  const base = `/v1/services/${seg(name)}`;
  const [service, history, checks, policy, dns, clients] = await Promise.allSettled([
    getJson<{ service: ServiceDetail }>(base, signal),
    getJson<{ samples: HistorySample[] }>(`${base}/history`, signal),
    getJson<{ checks: Record<string, CheckResult> }>(`${base}/checks`, signal),
    getJson<unknown>(`${base}/policy`, signal),
    getJson<{ names: { name: string; type: string }[] }>(`${base}/dns`, signal),
    getJson<{ clients: ClientStatus[]; total: number }>(`${base}/clients`, signal),
  ]);
  if (service.status === "rejected") throw service.reason;
  const why = (r: PromiseRejectedResult) => (r.reason instanceof ApiError ? r.reason.message : String(r.reason));
  const policyMissing = policy.status === "rejected" && policy.reason instanceof ApiError && policy.reason.status === 404;
  return {
    service: service.value.service,
    history: history.status === "fulfilled" ? history.value.samples : [],
    checks: checks.status === "fulfilled" ? checks.value.checks : {},
    policy: policy.status === "fulfilled" ? policy.value : undefined,
    ...(policy.status === "rejected" && !policyMissing && { policyError: why(policy) }),
    dns: dns.status === "fulfilled" ? dns.value.names : why(dns),
    clients: clients.status === "fulfilled" ? { list: clients.value.clients, total: clients.value.total } : why(clients),
  };
}

/** A registry event naming the service (or too big to list every change), or a health event of one of its instances. */
function concernsService(name: string, event: string, data: unknown): boolean {
  if (event === "health") return (data as { service?: string } | undefined)?.service === name;
  const batch = data as { changes?: { service?: string }[]; truncated?: number } | undefined;
  return Boolean(batch?.truncated) || batch?.changes?.some((c) => c.service === name) === true;
}

/** /ui/services/{name}: instances, history chart, policy, DNS names and watching clients; live on registry and health events. */
export function ServicePage(props: { name: string; scope: Scope }) {
  const { data, error, reload } = useData(`service:${props.name}`, (signal) => loadService(props.name, signal));
  useLiveReload(["registry", "health"], reload, 250, (event, data) => concernsService(props.name, event, data), props.name);
  return (
    <Page title={props.name} ready={data !== undefined} error={error}>
      {data && <ServiceBody name={props.name} view={data} canWrite={props.scope !== "read"} onChanged={reload} />}
    </Page>
  );
}

type InstanceAction = { readonly kind: "drain" | "undrain" | "remove"; readonly instance: Instance };

const ACTION_TITLES: Readonly<Record<InstanceAction["kind"], string>> = { drain: "Drain", undrain: "Undrain", remove: "Remove" };

/**
 * The change an instance action makes, through the same API the CLI uses:
 * drain and undrain PUT the instance back with only its health changed
 * (`draining`, or `healthy` for the health monitor to correct), remove
 * DELETEs it. The push guard judges the generation that follows like any other.
 */
async function applyInstanceAction(service: string, { kind, instance }: InstanceAction): Promise<void> {
  const url = `/v1/services/${seg(service)}/instances/${seg(instance.id)}`;
  if (kind === "remove") return void (await deleteJson(url));
  const { address, port, zone, region, weight, metadata, ttlMs } = instance;
  await putJson(url, { address, port, zone, region, weight, metadata, ...(ttlMs !== undefined && { ttlMs }), health: kind === "drain" ? "draining" : "healthy" });
}

function ServiceBody({ name, view, canWrite, onChanged }: { name: string; view: ServiceView; canWrite: boolean; onChanged: () => void }) {
  const { service } = view;
  const [action, setAction] = useState<InstanceAction | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const confirm = async () => {
    if (!action) return;
    setBusy(true);
    try {
      await applyInstanceAction(name, action);
      const done = { drain: "is draining", undrain: "is no longer draining", remove: "was removed" }[action.kind];
      setResult({ ok: true, text: `Instance ${action.instance.id} ${done}.` });
    } catch (err) {
      setResult({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    } finally {
      setBusy(false);
      setAction(undefined);
      onChanged();
    }
  };
  const headers = ["ID", "Address", "Health", "Zone / region", "Metadata", "Last check", ...(canWrite ? ["Actions"] : [])];
  return (
    <>
      {result && (
        <p role="alert" class={result.ok ? "ok" : "error"}>
          {result.text}
        </p>
      )}
      <p class="muted">
        protocol {service.protocol} · load balancing {service.lbPolicy} · mTLS {service.mtls}
      </p>
      <section aria-labelledby="h-instances">
        <h2 id="h-instances">Instances</h2>
        <Table label={`Instances of ${name}`} headers={headers} empty={service.instances.length === 0 ? "No instances." : undefined}>
          {service.instances.map((i) => {
            const check = view.checks[i.id];
            return (
              <tr key={i.id}>
                <th scope="row">{i.id}</th>
                <td class="mono">{i.address.includes(":") ? `[${i.address}]:${i.port}` : `${i.address}:${i.port}`}</td>
                <td>
                  <StatusBadge status={i.health} />
                </td>
                <td>{localityLine(i.zone, i.region)}</td>
                <td class="mono">{metadataLine(i.metadata)}</td>
                <td>{check ? `${shortTime(check.at)} ${check.kind} ${check.ok ? "ok" : "failed"}: ${check.detail}` : "–"}</td>
                {canWrite && (
                  <td class="actions">
                    {(i.health === "draining" ? (["undrain", "remove"] as const) : (["drain", "remove"] as const)).map((kind) => (
                      <button key={kind} type="button" aria-label={`${ACTION_TITLES[kind]} instance ${i.id}`} onClick={() => setAction({ kind, instance: i })}>
                        {ACTION_TITLES[kind]}
                      </button>
                    ))}
                  </td>
                )}
              </tr>
            );
          })}
        </Table>
      </section>
      <section aria-labelledby="h-history">
        <h2 id="h-history">Instances over time</h2>
        <HistoryChart name={name} samples={view.history} />
      </section>
      <section aria-labelledby="h-policy">
        <h2 id="h-policy">Policy</h2>
        {view.policyError !== undefined ? <p class="error">{view.policyError}</p> : view.policy === undefined ? <p>No policy</p> : <pre class="policy">{yamlish(view.policy)}</pre>}
      </section>
      <section aria-labelledby="h-dns">
        <h2 id="h-dns">DNS names</h2>
        {typeof view.dns === "string" ? (
          <p class="error">{view.dns}</p>
        ) : (
          <ul class="mono">
            {view.dns.map((n) => (
              <li key={`${n.type} ${n.name}`}>
                {n.name} <span class="muted">{n.type}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="h-clients">
        <h2 id="h-clients">Clients watching</h2>
        <WatchingClients clients={view.clients} />
      </section>
      {action && (
        <ConfirmDialog title={`${ACTION_TITLES[action.kind]} instance ${action.instance.id} of ${name}?`} busy={busy} onConfirm={confirm} onCancel={() => setAction(undefined)}>
          <p>{action.kind === "undrain" ? "Clients are sent it again:" : "Clients stop being sent it:"}</p>
          <ul class="diff">
            <li>{instanceActionLine(name, service.instances, action.instance.id, action.kind)}</li>
          </ul>
          {action.kind !== "undrain" && <p class="muted">The push guard holds the change if it removes more of the service's endpoints than it allows.</p>}
        </ConfirmDialog>
      )}
    </>
  );
}

function HistoryChart({ name, samples }: { name: string; samples: readonly HistorySample[] }) {
  // A sample is taken when the counts change: the last one holds until now, so the steps run on to the page's time.
  const data = useMemo(() => {
    const last = samples[samples.length - 1];
    const now = Date.now();
    const points = last && Date.parse(last.at) < now ? [...samples, { ...last, at: new Date(now).toISOString() }] : samples;
    return [points.map((s) => Date.parse(s.at) / 1000), points.map((s) => s.healthy), points.map((s) => s.unhealthy), points.map((s) => s.draining)] as [number[], number[], number[], number[]];
  }, [samples]);
  const series = [
    { label: "healthy", color: "#1a7f37", stepped: true },
    { label: "unhealthy", color: "#cf222e", dash: [6, 4], stepped: true },
    { label: "draining", color: "#9a6700", dash: [2, 3], stepped: true },
  ];
  if (samples.length === 0) return <p class="muted">{historySummary(name, samples)}</p>;
  return <Chart label="Instances over time" summary={historySummary(name, samples)} series={series} data={data} xLabel="time" yLabel="instances" time={true} />;
}

function WatchingClients({ clients }: { clients: ServiceView["clients"] }) {
  if (typeof clients === "string") return <p class="error">{clients}</p>;
  if (clients.list.length === 0) return <p>No client watches it.</p>;
  return (
    <>
      <Table label="Clients watching" headers={["Node ID", "Stream", "Protocol", "User agent", "Types"]}>
        {clients.list.map((c) => (
          <tr key={c.streamId}>
            <th scope="row">{c.nodeId}</th>
            <td>{c.streamId}</td>
            <td>{c.protocol}</td>
            <td>{c.userAgent}</td>
            <td>{Object.keys(c.types).join(", ")}</td>
          </tr>
        ))}
      </Table>
      {clients.total > clients.list.length && <p class="muted">showing {clients.list.length} of {clients.total}</p>}
    </>
  );
}
