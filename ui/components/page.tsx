import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";

/**
 * Every page's frame: `<main id="content">` with its one `<h1>`, and
 * `data-ready="true"` once the page's first data has arrived (the browser
 * test waits on it and times the load to it), or its first fetch failed
 * (the error is then shown in `role="alert"`, so a test fails on it at once).
 */
export function Page(props: { title: string; ready: boolean; error?: string | undefined; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${props.title} · steadymesh`;
  }, [props.title]);
  return (
    <main id="content" tabIndex={-1} data-ready={props.ready || props.error !== undefined ? "true" : "false"}>
      <h1>{props.title}</h1>
      {props.error !== undefined && (
        <p role="alert" class="error">
          {props.error}
        </p>
      )}
      {!props.ready && props.error === undefined && <p class="muted">Loading…</p>}
      {props.children}
    </main>
  );
}
