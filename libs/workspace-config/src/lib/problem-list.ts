/**
 * An error message that lists every problem, one indented line each, after a title that counts
 * them: `Cannot generate the service (2 problems); nothing was written:` then `  --name: …`.
 * Errors that collect issues (the pipeline generator's, the workspace plugin's) all read alike.
 */
export function problemList(title: (count: string) => string, lines: readonly string[]): string {
  return `${title(`${lines.length} problem${lines.length === 1 ? '' : 's'}`)}\n${lines.map((l) => `  ${l}`).join('\n')}`;
}
