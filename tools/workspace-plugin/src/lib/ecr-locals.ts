import { ECR_LOCALS_FILE, renderEcrLocal } from '@engex/ci-lib';
import { EcrLocalsSectionNotFoundError, EcrLocalsUnsupportedError } from './errors.js';

// The line itself is rendered by ci-lib, so `engex-ci ecr check` asks for exactly what this inserts.
export { ECR_LOCALS_FILE, renderEcrLocal };

/**
 * Adds `<name> = { mutable = "IMMUTABLE", source = "<source>" }` to the `engex = { ... }` map of
 * the `locals` block in `text`, leaving every other byte alone except the `=` alignment that
 * `terraform fmt` would redo. Returns `text` unchanged when the entry already exists (whatever its
 * value: someone may have chosen it on purpose), so a second run is a no-op.
 *
 * The entry goes in alphabetical order when the existing keys are sorted, else last. When the
 * neighbouring one-line entries are aligned the way `terraform fmt` aligns them, the run is
 * realigned to include the new key; hand-formatted runs are left as they are.
 *
 * @throws EcrLocalsSectionNotFoundError when there is not exactly one such map.
 * @throws EcrLocalsUnsupportedError when the map is written in a shape it does not edit safely.
 */
export function insertEcrLocal(text: string, name: string, source: string, file = ECR_LOCALS_FILE): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const scan = scanHcl(lines, file);
  const sections = scan.braces.filter((b) => SECTION_PREFIX.test(b.prefix) && b.insideLocals);
  if (sections.length !== 1) throw new EcrLocalsSectionNotFoundError(file, sections.length);
  const section = sections[0]!;
  const openLine = lines[section.open.line]!;
  const afterOpen = openLine.slice(section.open.col + 1);
  const entry = renderEcrLocal(name, source);

  if (section.open.line === section.close.line) {
    if (afterOpen.slice(0, section.close.col - section.open.col - 1).trim() !== '') {
      throw new EcrLocalsUnsupportedError(file, section.open.line + 1, 'the engex map is written on one line');
    }
    // `engex = {}` was a one-line attribute aligned with its neighbours; once it spans three lines
    // `terraform fmt` aligns the runs above and below it separately.
    const assigns = scan.lines.map((l) => l.assign);
    const run = runAround(assigns, section.open.line);
    const wasAligned = isAligned(lines, assigns, run);
    const indent = leadingSpace(openLine);
    const expanded = [openLine.slice(0, section.open.col + 1), `${indent}  ${entry}`, `${indent}${openLine.slice(section.close.col)}`];
    lines.splice(section.open.line, 1, ...expanded);
    assigns.splice(section.open.line, 1, -1, -1, -1);
    if (wasAligned) {
      align(
        lines,
        assigns,
        run.filter((i) => i < section.open.line),
      );
      align(
        lines,
        assigns,
        run.filter((i) => i > section.open.line).map((i) => i + 2),
      );
    }
    return lines.join(eol);
  }
  if (!/^\s*((#|\/\/).*)?$/.test(afterOpen)) {
    throw new EcrLocalsUnsupportedError(file, section.open.line + 1, 'the engex map has entries on its opening line');
  }
  if (lines[section.close.line]!.slice(0, section.close.col).trim() !== '') {
    throw new EcrLocalsUnsupportedError(file, section.close.line + 1, 'the engex map has entries on its closing line');
  }

  const inner = section.depth + 1;
  const entries = findEntries(lines, scan.lines, section.open.line + 1, section.close.line - 1, inner);
  if (entries.some((e) => e.key === name)) return text;

  const keys = entries.map((e) => e.key);
  const sorted = keys.every((k, i) => i === 0 || keys[i - 1]! <= k);
  const before = sorted ? entries.findIndex((e) => e.key > name) : -1;
  let at: number;
  if (entries.length === 0) at = section.close.line;
  else if (before === 0) at = entries[0]!.start;
  else at = entries[before === -1 ? entries.length - 1 : before - 1]!.end + 1;

  const indent = entries.length > 0 ? leadingSpace(lines[entries[0]!.start]!) : `${leadingSpace(lines[section.close.line]!)}  `;
  lines.splice(at, 0, `${indent}${entry}`);
  const assigns = scan.lines.map((l) => l.assign);
  assigns.splice(at, 0, indent.length + name.length + 1);
  const run = runAround(assigns, at);
  const others = run.filter((i) => i !== at);
  if (others.length > 0 && isAligned(lines, assigns, others)) align(lines, assigns, run);
  return lines.join(eol);
}

const SECTION_PREFIX = /^\s*"?engex"?\s*[=:]\s*$/;
const LOCALS_PREFIX = /^\s*locals\s*$/;
const ENTRY_KEY = /^\s*("?)([A-Za-z0-9_-]+)\1\s*[=:]/;

interface Position {
  line: number;
  col: number;
}

interface Brace {
  open: Position;
  close: Position;
  /** Bracket depth outside this brace. */
  depth: number;
  /** The line's text before the brace, e.g. `    engex = `. */
  prefix: string;
  insideLocals: boolean;
}

interface LineInfo {
  /** Bracket depth when the line starts. */
  depth: number;
  /** The line starts inside a string, heredoc or block comment. */
  opaque: boolean;
  /** Column of the `=` of a one-line attribute (what `terraform fmt` aligns), or -1. */
  assign: number;
}

/**
 * A small HCL scanner: enough to know, for every line, its bracket depth and whether it is inside a
 * string, heredoc or comment, and where each brace opens and closes. It does not parse expressions.
 */
function scanHcl(lines: readonly string[], file: string): { lines: LineInfo[]; braces: Brace[] } {
  const infos: LineInfo[] = [];
  const braces: Brace[] = [];
  const stack: { char: string; brace?: Omit<Brace, 'close'> }[] = [];
  const modes: ('code' | 'string' | 'comment')[] = ['code'];
  let heredoc: { marker: string } | undefined;
  const mode = () => modes[modes.length - 1]!;

  lines.forEach((text, line) => {
    const info: LineInfo = { depth: stack.length, opaque: heredoc !== undefined || mode() !== 'code', assign: -1 };
    infos.push(info);
    if (heredoc) {
      if (text.trim() === heredoc.marker) heredoc = undefined;
      return;
    }
    let firstEquals = -1;
    let equalsDepth = 0;
    for (let col = 0; col < text.length; col++) {
      const c = text[col]!;
      const next = text[col + 1];
      const m = mode();
      if (m === 'comment') {
        if (c === '*' && next === '/') {
          modes.pop();
          col++;
        }
        continue;
      }
      if (m === 'string') {
        if (c === '\\') col++;
        else if (c === '"') modes.pop();
        else if ((c === '$' || c === '%') && next === '{') {
          if (text[col - 1] === c) continue;
          modes.push('code');
          stack.push({ char: '${' });
          col++;
        }
        continue;
      }
      if (c === '#' || (c === '/' && next === '/')) break;
      if (c === '/' && next === '*') {
        modes.push('comment');
        col++;
      } else if (c === '"') {
        modes.push('string');
      } else if (c === '<' && next === '<') {
        const match = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)\s*$/.exec(text.slice(col));
        if (match) {
          heredoc = { marker: match[1]! };
          break;
        }
      } else if (c === '{' || c === '[' || c === '(') {
        const entry: { char: string; brace?: Omit<Brace, 'close'> } = { char: c };
        if (c === '{') {
          entry.brace = {
            open: { line, col },
            depth: stack.length,
            prefix: text.slice(0, col),
            insideLocals: stack.some((s) => s.brace && s.brace.depth === 0 && LOCALS_PREFIX.test(s.brace.prefix)),
          };
        }
        stack.push(entry);
      } else if (c === '}' || c === ']' || c === ')') {
        const top = stack.pop();
        const expected = top?.char === '[' ? ']' : top?.char === '(' ? ')' : '}';
        if (!top || c !== expected) {
          throw new EcrLocalsUnsupportedError(file, line + 1, `unbalanced "${c}"`);
        }
        if (top.char === '${') modes.pop();
        if (top.brace) braces.push({ ...top.brace, close: { line, col } });
      } else if (c === '=' && firstEquals === -1 && col > 0 && !/[=!<>]/.test(text[col - 1]!) && next !== '=' && next !== '>') {
        firstEquals = col;
        equalsDepth = stack.length;
      }
    }
    // `terraform fmt` aligns a line's `=` only when the value closes on the same line.
    if (firstEquals !== -1 && !info.opaque && equalsDepth === info.depth && stack.length === info.depth && mode() === 'code' && !heredoc) {
      info.assign = firstEquals;
    }
  });
  if (stack.length > 0 || heredoc || mode() !== 'code') {
    throw new EcrLocalsUnsupportedError(file, lines.length, 'the file ends inside an unclosed bracket, string, heredoc or comment');
  }
  return { lines: infos, braces };
}

interface Entry {
  key: string;
  start: number;
  end: number;
}

function findEntries(lines: readonly string[], infos: readonly LineInfo[], from: number, to: number, depth: number): Entry[] {
  const entries: Entry[] = [];
  for (let i = from; i <= to; i++) {
    const info = infos[i]!;
    if (info.opaque || info.depth !== depth) continue;
    const match = ENTRY_KEY.exec(lines[i]!);
    if (!match) continue;
    let end = i;
    while (end + 1 <= to && (infos[end + 1]!.depth > depth || infos[end + 1]!.opaque)) end++;
    entries.push({ key: match[2]!, start: i, end });
    i = end;
  }
  return entries;
}

/** The consecutive one-line attributes around line `at`: what `terraform fmt` aligns together. */
function runAround(assigns: readonly number[], at: number): number[] {
  let first = at;
  let last = at;
  while (first - 1 >= 0 && assigns[first - 1]! >= 0) first--;
  while (last + 1 < assigns.length && assigns[last + 1]! >= 0) last++;
  const run: number[] = [];
  for (let i = first; i <= last; i++) run.push(i);
  return run;
}

function leadWidth(lines: readonly string[], assigns: readonly number[], i: number): number {
  return lines[i]!.slice(0, assigns[i]).trimEnd().length;
}

/** True when every `=` of the run sits one column after its longest key, as `terraform fmt` leaves it. */
function isAligned(lines: readonly string[], assigns: readonly number[], run: readonly number[]): boolean {
  if (run.length === 0) return false;
  const max = Math.max(...run.map((i) => leadWidth(lines, assigns, i)));
  return run.every((i) => assigns[i] === max + 1);
}

function align(lines: string[], assigns: number[], run: readonly number[]): void {
  if (run.length === 0) return;
  const max = Math.max(...run.map((i) => leadWidth(lines, assigns, i)));
  for (const i of run) {
    const line = lines[i]!;
    lines[i] = `${line.slice(0, leadWidth(lines, assigns, i)).padEnd(max + 1)}${line.slice(assigns[i])}`;
    assigns[i] = max + 1;
  }
}

function leadingSpace(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}
