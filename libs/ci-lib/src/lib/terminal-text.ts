/**
 * Text that came from outside (tags, labels, commit subjects, repository URIs, a registry's error
 * body) reaches a terminal only through these. A raw ESC or CSI in a tag could set the window
 * title, clear the screen or rewrite earlier lines of a build log; a newline or tab would break the
 * table around it; a bidi override would show a different text than the bytes.
 */

/**
 * C0 and C1 controls and DEL (`\p{Cc}`), and the Unicode bidi embeddings, overrides and isolates.
 * C1 matters on its own: U+009B is a one-character CSI in terminals that read 8-bit controls.
 */
const UNSAFE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu;

const hex = (c: string, width: number): string => c.codePointAt(0)!.toString(16).padStart(width, '0');

/** Pure: every unsafe character as visible text (`\x1b`, `\x0a`, `\u202e`); the rest unchanged. */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => (c.codePointAt(0)! <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/**
 * Pure: `JSON.stringify` for output a terminal may show. JSON already escapes C0; the C1 and bidi
 * characters it leaves raw become `\u` escapes, which parse back to the same value.
 */
export function stringifyForTerminal(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/gu, (c) => `\\u${hex(c, 4)}`);
}

/**
 * Pure: rows under a header, columns two spaces apart, the last one unpadded; every cell escaped
 * first, so the widths are those of what is printed. One table renderer for `images` and `status`.
 */
export function renderColumns(header: readonly string[], body: readonly (readonly string[])[]): string[] {
  const rows = [header, ...body].map((row) => row.map(escapeControl));
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) =>
    row
      .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
