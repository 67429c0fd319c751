/**
 * Aligns rows under a header with two spaces between columns; the last
 * column is not padded so lines carry no trailing blanks.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? "").length)));
  return all.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** Table cells are one line; a multi-line value (an xDS error detail, say) is folded. */
export function cell(value: string): string {
  const folded = value.replace(/\s*\n\s*/g, " ").trim();
  return folded === "" ? "-" : folded;
}
