/**
 * A small block-style YAML emitter for the pipeline's plain data (objects, arrays, strings,
 * numbers, booleans), fed by `toBuildkite`. The `yaml` library builds a full Document first: at
 * 3,000 jobs `yaml.stringify` takes about 0.45 s in a fresh process where this takes 0.1 s, and
 * the difference alone would break the generator's time budget (BENCHMARKS.md,
 * bench/pipeline-generator/yaml-stringify.mjs); this writes text directly. It never
 * emits anchors, aliases, tags or folded lines, and it only writes a string plain when the
 * string is unambiguous in every YAML parser (no specials, no indicators, no spaces); anything
 * else is double-quoted with explicit escapes, or a literal block for readable multi-line text.
 * Every output is checked against `yaml`'s parser in yaml-emit.spec.ts.
 */

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json | undefined };

/** Characters a plain scalar may hold: no backslash, backtick, tab or square brackets. */
const SAFE = `[A-Za-z0-9@_/.:=+,'"$<>|(){}%?~^#-]`;
/**
 * Plain only: starts with a letter, `_` or `/` (never an indicator such as `@`, `-`, `&`), single
 * spaces between words, no `: ` and no trailing `:` (either would start a mapping), and no word
 * starting with `#` (a comment).
 */
const PLAIN = new RegExp(`^[A-Za-z_/]${SAFE}*(?: ${SAFE}+)*$`);
/** YAML 1.1 and 1.2 words that would not read back as strings. */
const RESERVED = /^(?:y|n|yes|no|on|off|true|false|null|nan|inf)$/i;

export function emitYaml(value: Json): string {
  const w = new Writer();
  if (isObject(value)) w.map(value, 0);
  else if (Array.isArray(value)) w.seq(value as readonly Json[], 0);
  else w.out.push(w.scalar(value as string | number | boolean | null, 0));
  return `${w.out.join('\n')}\n`;
}

function isObject(v: unknown): v is { readonly [key: string]: Json | undefined } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: Json): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (!isObject(v)) return false;
  for (const _ in v) return false;
  return true;
}

/**
 * Line-by-line YAML writer. Pipelines repeat the same strings thousands of times (commands,
 * queues); each is quoted once.
 */
class Writer {
  readonly out: string[] = [];
  private readonly quoted = new Map<string, string>();
  private readonly pads: string[] = [];
  private readonly blocks = new WeakMap<object, Map<number, string[]>>();

  /** The lines of a value the input shares by reference (every step's retry rules) are written once. */
  private block(value: object, indent: number, write: () => void): void {
    let byIndent = this.blocks.get(value);
    const hit = byIndent?.get(indent);
    if (hit) {
      for (const line of hit) this.out.push(line);
      return;
    }
    const start = this.out.length;
    write();
    if (!byIndent) this.blocks.set(value, (byIndent = new Map()));
    byIndent.set(indent, this.out.slice(start));
  }

  pad(indent: number): string {
    return (this.pads[indent] ??= ' '.repeat(indent));
  }

  map(map: { readonly [key: string]: Json | undefined }, indent: number, firstPrefix?: string): void {
    const pad = this.pad(indent);
    let first = true;
    for (const k in map) {
      const v = map[k];
      if (v === undefined) continue;
      const lead = first && firstPrefix !== undefined ? firstPrefix : pad;
      first = false;
      const key = `${lead}${this.string(k, indent, false)}:`;
      if (isEmpty(v)) this.out.push(`${key} ${Array.isArray(v) ? '[]' : '{}'}`);
      else if (Array.isArray(v)) {
        this.out.push(key);
        // Lists of scalars (commands, depends_on) are unique per step and cheap: no memo.
        if (typeof v[0] === 'object') this.block(v, indent + 2, () => this.seq(v as readonly Json[], indent + 2));
        else this.seq(v as readonly Json[], indent + 2);
      } else if (isObject(v)) {
        this.out.push(key);
        this.block(v, indent + 2, () => this.map(v, indent + 2));
      } else this.out.push(`${key} ${this.scalar(v as string | number | boolean | null, indent + 2)}`);
    }
    if (first) this.out.push(`${firstPrefix ?? pad}{}`);
  }

  seq(seq: readonly Json[], indent: number): void {
    const pad = this.pad(indent);
    for (const item of seq) {
      if (isEmpty(item)) this.out.push(`${pad}- ${Array.isArray(item) ? '[]' : '{}'}`);
      else if (Array.isArray(item)) {
        this.out.push(`${pad}-`);
        this.seq(item as readonly Json[], indent + 2);
      } else if (isObject(item)) this.map(item, indent + 2, `${pad}- `);
      else this.out.push(`${pad}- ${this.scalar(item as string | number | boolean | null, indent + 2)}`);
    }
  }

  scalar(v: string | number | boolean | null, indent: number): string {
    if (v === null) return 'null';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TypeError(`cannot emit ${v} as YAML`);
      return String(v);
    }
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    return this.string(v, indent, true);
  }

  /** Block scalars depend on the indent, so only single-line results are shared. */
  string(s: string, indent: number, allowBlock: boolean): string {
    const hit = this.quoted.get(s);
    if (hit !== undefined) return hit;
    const text = quoteString(s, indent, allowBlock);
    if (!text.startsWith('|')) this.quoted.set(s, text);
    return text;
  }
}

function quoteString(s: string, indent: number, allowBlock: boolean): string {
  if (PLAIN.test(s) && !RESERVED.test(s) && !s.includes(': ') && !s.endsWith(':') && !s.includes(' #')) return s;
  if (allowBlock && literalSafe(s)) {
    const pad = ' '.repeat(indent);
    return `|-\n${s
      .split('\n')
      .map((line) => (line === '' ? '' : pad + line))
      .join('\n')}`;
  }
  return doubleQuoted(s);
}

/** Characters that may appear raw in output: printable ASCII, and printable non-ASCII. */
function printable(code: number): boolean {
  return (
    (code >= 0x20 && code <= 0x7e) ||
    (code >= 0xa0 && code <= 0xd7ff && code !== 0x2028 && code !== 0x2029) ||
    (code >= 0xe000 && code <= 0xfffd && code !== 0xfeff) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/**
 * A literal block keeps multi-line text readable. Only used when the text round-trips with no
 * indentation indicator or chomping subtleties: no leading space or blank first line, no trailing
 * newline or whitespace on any line, and nothing that would need an escape.
 */
function literalSafe(s: string): boolean {
  if (!s.includes('\n') || s.startsWith(' ') || s.startsWith('\n') || s.endsWith('\n')) return false;
  for (const line of s.split('\n')) {
    if (/[ \t]$/.test(line)) return false;
    for (const ch of line) if (!printable(ch.codePointAt(0) as number)) return false;
  }
  return true;
}

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code >= 0xd800 && code <= 0xdfff) out += '\\uFFFD';
    else if (printable(code)) out += ch;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
