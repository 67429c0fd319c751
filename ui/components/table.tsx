import type { ComponentChildren } from "preact";

/**
 * A table in its own horizontally scrolling box, so a wide table never
 * widens the page on a phone. The box is focusable (with the table's
 * label) so keyboard users can scroll it.
 */
export function Table(props: { label: string; headers: readonly string[]; children?: ComponentChildren; empty?: string | undefined }) {
  return (
    <div class="table-box" tabIndex={0} role="region" aria-label={`${props.label} (scrolls sideways)`}>
      <table aria-label={props.label}>
        <thead>
          <tr>
            {props.headers.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
      {props.empty !== undefined && <p class="muted empty">{props.empty}</p>}
    </div>
  );
}
