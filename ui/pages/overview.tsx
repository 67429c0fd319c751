import type { ComponentChildren } from "preact";
import { getJson } from "../api.js";
import { Page } from "../components/page.js";
import { StatusBadge } from "../components/status-badge.js";
import { useData } from "../components/use-data.js";
import { useLiveReload } from "../live.js";
import type { Overview } from "../types.js";

/** /ui: the counts an SRE looks at first, each card a link to its detail. */
export function OverviewPage() {
  const { data, error, reload } = useData("overview", (signal) => getJson<Overview>("/v1/overview", signal));
  useLiveReload(["registry", "health", "generation", "nack", "clients"], reload, 500);
  return (
    <Page title="Overview" ready={data !== undefined} error={error}>
      {data && (
        <div class="cards">
          <Card href="/ui/services" title="Services">
            <p class="big">{data.services.toLocaleString("en-US")}</p>
            {data.buildFailures > 0 && <p>{data.buildFailures} failing to build</p>}
          </Card>
          <Card href="/ui/services" title="Instances">
            <p class="big">{data.instances.total.toLocaleString("en-US")}</p>
            <p>
              {data.instances.healthy} healthy · {data.instances.unhealthy} unhealthy · {data.instances.draining} draining
              {data.instances.unknown > 0 && ` · ${data.instances.unknown} unknown`}
            </p>
          </Card>
          <Card href="/ui/clients" title="Clients">
            <p class="big">{data.clients.connected}</p>
            <p>
              {data.clients.sotw} SotW · {data.clients.delta} delta
            </p>
          </Card>
          <Card href="/ui/clients" title="NACKs in the last hour">
            <p class="big">{data.nacksLastHour}</p>
          </Card>
          <Card href={data.newestGeneration ? `/ui/generations/${data.newestGeneration.id}` : "/ui/generations"} title="Newest generation">
            {data.newestGeneration ? (
              <>
                <p class="big">{data.newestGeneration.id}</p>
                <p>
                  <StatusBadge status={data.newestGeneration.status} /> {data.newestGeneration.reason}
                </p>
              </>
            ) : (
              <p>None yet</p>
            )}
          </Card>
          <Card href="/ui/generations" title="Held">
            {data.held.length === 0 ? (
              <p>Nothing held</p>
            ) : (
              <ul>
                {data.held.map((h) => (
                  <li key={h.id}>
                    Generation {h.id}: {h.reason}
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
      )}
    </Page>
  );
}

/** A card is one link: its heading names where it goes. */
function Card(props: { href: string; title: string; children?: ComponentChildren }) {
  return (
    <a class="card" href={props.href}>
      <h2>{props.title}</h2>
      {props.children}
    </a>
  );
}
