import { useMemo, useState } from "preact/hooks";
import { ApiError, getJson, postJson, seg } from "../api.js";
import { Chart } from "../components/chart.js";
import { ConfirmDialog } from "../components/dialog.js";
import { Page } from "../components/page.js";
import { StatusBadge } from "../components/status-badge.js";
import { useData } from "../components/use-data.js";
import { ackCurve, ackSummary, diffSummary, shortTime } from "../format.js";
import { useLiveReload } from "../live.js";
import type { Generation, GenerationAcks, Scope } from "../types.js";

/** How many of the newest generations the timeline shows. */
const SHOWN = 50;

type Action = { kind: "approve" | "rollback"; generation: Generation };

/**
 * /ui/generations and /ui/generations/{id}: the push guard's timeline, newest
 * first; the selected generation (the URL's, else the newest) has the ACK
 * chart. Approve and rollback appear for operator tokens only, and go
 * through a confirmation that restates the diff.
 */
export function GenerationsPage(props: { id?: number | undefined; scope: Scope }) {
  const { data, error, reload } = useData("generations", (signal) => getJson<{ generations: Generation[] }>(`/v1/generations?limit=${SHOWN}`, signal));
  const [action, setAction] = useState<Action | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  useLiveReload(["generation"], reload, 250);
  // A generation linked to directly may be older than the newest SHOWN: fetch it alone and add it.
  const older = useData(`generation:${props.id ?? ""}:${data ? "listed" : "waiting"}`, async (signal) =>
    props.id !== undefined && data !== undefined && !data.generations.some((g) => g.id === props.id) ? getJson<Generation>(`/v1/generations/${props.id}`, signal) : undefined,
  );
  const generations = useMemo(() => {
    const all = [...(data?.generations ?? [])];
    if (older.data && !all.some((g) => g.id === older.data?.id)) all.push(older.data);
    return all.sort((a, b) => b.id - a.id);
  }, [data, older.data]);
  const selected = props.id ?? generations[0]?.id;
  // What clients are served now: the newest pushed generation; rolling back to it would change nothing.
  const served = generations.find((g) => g.status === "pushed")?.id;
  const confirm = async () => {
    if (!action) return;
    setBusy(true);
    const { kind, generation } = action;
    try {
      const answer = await postJson<Generation>(`/v1/generations/${generation.id}/${kind}`);
      const done = kind === "approve" ? "approved" : "rolled back to";
      setResult({ ok: true, text: `Generation ${generation.id} ${done}${answer && typeof answer.status === "string" ? `: now ${answer.status}` : ""}.` });
    } catch (err) {
      setResult({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    } finally {
      setBusy(false);
      setAction(undefined);
      reload();
    }
  };
  return (
    <Page title="Generations" ready={data !== undefined} error={error}>
      {result && (
        <p role="alert" class={result.ok ? "ok" : "error"}>
          {result.text}
        </p>
      )}
      {older.error !== undefined && <p class="error">{older.error}</p>}
      {data && generations.length === 0 && <p>No generation yet.</p>}
      <ol class="timeline">
        {generations.map((g) => (
          <li key={g.id}>
            <GenerationArticle generation={g} selected={g.id === selected} served={g.id === served} operator={props.scope === "operator"} onAction={(kind) => setAction({ kind, generation: g })} />
          </li>
        ))}
      </ol>
      {action && (
        <ConfirmDialog title={action.kind === "approve" ? `Approve generation ${action.generation.id}?` : `Roll back to generation ${action.generation.id}?`} busy={busy} onConfirm={confirm} onCancel={() => setAction(undefined)}>
          <p>{action.kind === "approve" ? "This pushes it to every client:" : "This pushes it again to every client, undoing what came after:"}</p>
          <DiffLines generation={action.generation} />
        </ConfirmDialog>
      )}
    </Page>
  );
}

function GenerationArticle(props: { generation: Generation; selected: boolean; served: boolean; operator: boolean; onAction: (kind: "approve" | "rollback") => void }) {
  const g = props.generation;
  const headingId = `gen-${g.id}`;
  return (
    <article aria-labelledby={headingId} class={props.selected ? "generation selected" : "generation"}>
      <header class="generation-head">
        <h2 id={headingId}>
          <a href={`/ui/generations/${g.id}`} aria-current={props.selected ? "true" : undefined}>
            Generation {g.id}
          </a>
        </h2>
        <StatusBadge status={g.status} />
        {props.served && <span class="badge badge-neutral">served now</span>}
        <span class="muted">
          {shortTime(g.createdAt)} · revision {g.revision}
        </span>
      </header>
      {g.reason && <p>{g.reason}</p>}
      <DiffLines generation={g} />
      {g.problems.length > 0 && (
        <>
          <h3>Problems</h3>
          <ul class="problems">
            {g.problems.map((p, i) => (
              <li key={i}>
                <span class="mono">{p.path}</span>: {p.message}
              </li>
            ))}
          </ul>
        </>
      )}
      {props.operator && g.status === "held" && g.supersededBy === undefined && (
        <button type="button" class="primary" onClick={() => props.onAction("approve")}>
          Approve generation {g.id}
        </button>
      )}
      {props.operator && !props.served && (g.status === "pushed" || g.status === "rolled-back") && (
        <button type="button" onClick={() => props.onAction("rollback")}>
          Roll back to generation {g.id}
        </button>
      )}
      {props.selected && <AckChart id={g.id} />}
    </article>
  );
}

function DiffLines({ generation }: { generation: Generation }) {
  const lines = diffSummary(generation.diff);
  if (lines.length === 0) return <p class="muted">No change against the last pushed generation.</p>;
  return (
    <ul class="diff">
      {lines.map((line) => (
        <li key={line}>{line}</li>
      ))}
    </ul>
  );
}

/** "Client ACKs": cumulative ACKed streams against ms since push; refetched on `acks` events naming this generation. */
function AckChart({ id }: { id: number }) {
  const { data, error, reload } = useData(`acks:${id}`, (signal) => getJson<GenerationAcks>(`/v1/generations/${seg(id)}/acks`, signal));
  useLiveReload(["acks"], reload, 500, (_event, data) => (data as { generations?: Record<string, number> } | undefined)?.generations?.[String(id)] !== undefined, id);
  const curve = useMemo(() => ackCurve(data?.acks ?? []), [data]);
  return (
    <section aria-label={`Client ACKs of generation ${id}`} class="acks">
      <h3>Client ACKs</h3>
      {error !== undefined && <p class="error">{error}</p>}
      {data?.expired && <p class="muted">ACK times are kept for the newest 64 generations only.</p>}
      {data && curve[0].length === 0 && <p class="muted">{ackSummary(id, data.acked, data.clients, data.acks)}</p>}
      {data && curve[0].length > 0 && <Chart label="Client ACKs" summary={ackSummary(id, data.acked, data.clients, data.acks)} series={[{ label: "ACKed streams", color: "#0a58ca", stepped: true }]} data={curve} xLabel="ms since push" yLabel="streams" time={false} />}
    </section>
  );
}
