import { useEffect, useState } from "preact/hooks";
import { getJson, seg } from "../api.js";
import { Page } from "../components/page.js";
import { Table } from "../components/table.js";
import { useData } from "../components/use-data.js";
import { matchLine } from "../format.js";
import { useLiveReload } from "../live.js";
import type { ServicesSummaryPage } from "../types.js";

const PAGE_SIZE = 50;

/**
 * /ui/services: 50 at a time by name, searched by substring on the server
 * (`q`), paged with the `after` cursor; earlier cursors are kept for
 * "Previous page".
 */
export function ServicesPage() {
  const [search, setSearch] = useState("");
  const [q, setQ] = useState("");
  const [cursors, setCursors] = useState<string[]>([]);
  useEffect(() => {
    const timer = setTimeout(() => {
      setQ(search.trim().toLowerCase());
      setCursors([]);
    }, 250);
    return () => clearTimeout(timer);
  }, [search]);
  const after = cursors[cursors.length - 1];
  const url = `/v1/services?view=summary&limit=${PAGE_SIZE}${q ? `&q=${seg(q)}` : ""}${after !== undefined ? `&after=${seg(after)}` : ""}`;
  const { data, error, reload } = useData(url, (signal) => getJson<ServicesSummaryPage>(url, signal));
  useLiveReload(["registry", "health"], reload, 1000);
  return (
    <Page title="Services" ready={data !== undefined} error={error}>
      <div class="toolbar">
        <input type="search" aria-label="Search services" placeholder="Search services" value={search} maxLength={63} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        {data && <p aria-live="polite">{matchLine(data.matched)}</p>}
      </div>
      {data && (
        <Table label="Services" headers={["Name", "Healthy", "Unhealthy", "Draining", "Total", "Policy", "mTLS"]} empty={data.services.length === 0 ? "No service matches." : undefined}>
          {data.services.map((s) => (
            <tr key={s.name}>
              <th scope="row">
                <a href={`/ui/services/${seg(s.name)}`}>{s.name}</a>
              </th>
              <td class="num">{s.instances.healthy}</td>
              <td class="num">{s.instances.unhealthy}</td>
              <td class="num">{s.instances.draining}</td>
              <td class="num">{s.instances.total}</td>
              <td>{s.policy ? "yes" : "no"}</td>
              <td>{s.mtls}</td>
            </tr>
          ))}
        </Table>
      )}
      <div class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={data?.next === undefined} onClick={() => data?.next !== undefined && setCursors([...cursors, data.next])}>
          Next page
        </button>
      </div>
    </Page>
  );
}
