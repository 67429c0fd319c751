import { getJson } from "../api.js";
import { Page } from "../components/page.js";
import { Table } from "../components/table.js";
import { useData } from "../components/use-data.js";
import { shortTime } from "../format.js";
import { useLiveReload } from "../live.js";
import type { ClientStatus, NackStatus, TypeStatus } from "../types.js";

const TYPES = ["LDS", "RDS", "CDS", "EDS"] as const;

interface ClientsAnswer {
  readonly clients: readonly ClientStatus[];
  readonly total: number;
  readonly next?: string;
}

/** /ui/clients: every connected xDS stream (the first page of GET /v1/clients), live on nack, acks and clients events. */
export function ClientsPage() {
  const { data, error, reload } = useData("clients", (signal) => getJson<ClientsAnswer>("/v1/clients?limit=500", signal));
  useLiveReload(["nack", "acks", "clients"], reload, 500);
  return (
    <Page title="Clients" ready={data !== undefined} error={error}>
      {data && (
        <>
          <p>
            {data.total} connected {data.total === 1 ? "stream" : "streams"}
            {data.clients.length < data.total && `, the first ${data.clients.length} shown`}
          </p>
          <Table label="Clients" headers={["Node ID", "Protocol", "User agent", "Last NACK", ...TYPES.map((t) => `${t} sent / ACKed`)]} empty={data.clients.length === 0 ? "No client is connected." : undefined}>
            {data.clients.map((c) => (
              <tr key={c.streamId}>
                <th scope="row">
                  {c.nodeId}
                  <div class="muted">{c.streamId}</div>
                </th>
                <td>{c.protocol}</td>
                <td>{c.userAgent || "–"}</td>
                <td class="nack">
                  <NackCell client={c} />
                </td>
                {TYPES.map((t) => (
                  <td key={t} class="mono versions">
                    <TypeCell status={c.types[t]} />
                  </td>
                ))}
              </tr>
            ))}
          </Table>
        </>
      )}
    </Page>
  );
}

function versionText(version: string | undefined, generation: number | undefined): string {
  if (!version && generation === undefined) return "–";
  return `${version || "–"}${generation !== undefined ? ` (gen ${generation})` : ""}`;
}

function TypeCell({ status }: { status: TypeStatus | undefined }) {
  if (!status) return <>–</>;
  return (
    <>
      <div>sent {versionText(status.sentVersion, status.sentGeneration)}</div>
      <div>ACKed {versionText(status.ackedVersion, status.ackedGeneration)}</div>
    </>
  );
}

/** The newest NACK over the client's types, with its full error_detail message as text. */
function NackCell({ client }: { client: ClientStatus }) {
  let newest: { type: string; nack: NackStatus } | undefined;
  for (const [type, status] of Object.entries(client.types)) {
    const nack = status.lastNack;
    if (nack && (!newest || nack.at > newest.nack.at)) newest = { type, nack };
  }
  if (!newest) return <>none</>;
  const { type, nack } = newest;
  return (
    <>
      <div>
        {shortTime(nack.at)} {type}
        {nack.generation !== undefined && ` (gen ${nack.generation})`} code {nack.errorDetail.code}
      </div>
      <div class="nack-message">{nack.errorDetail.message}</div>
    </>
  );
}
