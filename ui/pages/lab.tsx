import { getJson, seg } from "../api.js";
import { Page } from "../components/page.js";
import { StatusBadge } from "../components/status-badge.js";
import { Table } from "../components/table.js";
import { useData } from "../components/use-data.js";
import { shortTime } from "../format.js";
import type { LabReport } from "../types.js";

/** /ui/lab and /ui/lab/{name}: the lab reports, the chosen one shown in place in a sandboxed iframe. */
export function LabPage(props: { name?: string | undefined }) {
  const { data, error } = useData("lab", (signal) => getJson<{ dir: string; reports: LabReport[] }>("/v1/lab-reports", signal));
  const chosen = data?.reports.find((r) => r.name === props.name);
  return (
    <Page title="Lab reports" ready={data !== undefined} error={error}>
      {data && (
        <>
          <p class="muted">
            From <span class="mono">{data.dir}</span>
          </p>
          <Table label="Lab reports" headers={["Name", "Scenario", "Verdict", "Finished"]} empty={data.reports.length === 0 ? "No lab reports yet." : undefined}>
            {data.reports.map((r) => (
              <tr key={r.name} aria-current={r.name === props.name ? "true" : undefined}>
                <th scope="row">
                  <a href={`/ui/lab/${seg(r.name)}`}>{r.name}</a>
                </th>
                <td>{r.scenario || "–"}</td>
                <td>
                  <StatusBadge status={r.verdict} />
                </td>
                <td>{shortTime(r.finishedAt)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
      {props.name !== undefined && data && !chosen && <p role="alert" class="error">No lab report named {props.name}.</p>}
      {chosen && (
        <section aria-labelledby="h-report">
          <h2 id="h-report">{chosen.name}</h2>
          {chosen.files.includes("report.html") ? (
            <iframe class="report" title={`Lab report ${chosen.name}`} src={`/ui/lab-reports/${seg(chosen.name)}/report.html`} />
          ) : (
            <p>This report has no report.html.</p>
          )}
          <p>
            {chosen.files.map((f) => (
              <a key={f} class="file-link" href={`/ui/lab-reports/${seg(chosen.name)}/${seg(f)}`}>
                {f}
              </a>
            ))}
          </p>
        </section>
      )}
    </Page>
  );
}
