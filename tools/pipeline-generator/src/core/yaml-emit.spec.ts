import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { HOSTILE, analyze, planInput, syntheticPlanInput } from '../../test/fixtures.js';
import { planPipeline } from './plan.js';
import { toBuildkite } from './render.js';
import { emitYaml } from './yaml-emit.js';

/** Park–Miller; the fuzz corpus is the same on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

const ALPHABET = [...'aZ09 -_:#@/.,"\'\\`$!&*?|>%{}[]=~\t\n\r', '\u0000', '\u0007', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', 'é', 'ブ', '🚀', '\ud800'];
const SPECIALS = [
  '',
  ' ',
  'true',
  'False',
  'yes',
  'NO',
  'on',
  'Off',
  'y',
  'n',
  'null',
  'Null',
  '~',
  '1',
  '-1',
  '0x1f',
  '1e3',
  '.inf',
  '.NaN',
  '007',
  '1_000',
  '12:30',
  '- a',
  '? a',
  ': a',
  'a: b',
  'a #b',
  '#a',
  '&a',
  '*a',
  '!a',
  '|',
  '>',
  '%a',
  '@a',
  '`a',
  '---',
  '...',
  ' lead',
  'trail ',
  'a\n',
  '\na',
  'a\n\nb',
  'a \nb',
  '  indented\nx',
];

function fuzz(count: number): string[] {
  const rand = random(7);
  return Array.from({ length: count }, () => {
    const n = Math.floor(rand() * 12);
    let s = '';
    for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
    return s;
  });
}

/** What a parser returns for a string: a lone surrogate cannot be written, it becomes U+FFFD. */
const expected = (s: string): string =>
  s.replace(/[\ud800-\udfff]/g, (c, i: number, all: string) => {
    const code = c.charCodeAt(0);
    const pairLow = code >= 0xdc00 && i > 0 && /[\ud800-\udbff]/.test(all[i - 1] as string);
    const pairHigh = code < 0xdc00 && /[\udc00-\udfff]/.test(all[i + 1] ?? '');
    return pairLow || pairHigh ? c : '\ufffd';
  });

describe('emitYaml', () => {
  it.each([...SPECIALS, ...HOSTILE])('round-trips %j as a value and as a key', (s) => {
    expect(parse(emitYaml({ v: s, list: [s, { [s]: s }] }))).toEqual({ v: s, list: [s, { [s]: s }] });
  });

  it('round-trips 5,000 fuzzed strings through the yaml parser', () => {
    const corpus = fuzz(5000);
    const doc = { items: corpus.map((s) => ({ s, l: [s] })) };
    expect(parse(emitYaml(doc))).toEqual({ items: corpus.map((s) => ({ s: expected(s), l: [expected(s)] })) });
  });

  it('round-trips 5,000 fuzzed word sequences, where plain scalars are most tempting', () => {
    const rand = random(11);
    const WORDS = ['a', 'b:', ':', '-', '--x', '"q"', "'s'", '$$', '${X:-0}', '||', '>', '<', '(a)', '?', 'a:b', 'x=1', '%', '~', '^', 'true', 'null', '1', '#', 'a#b', ','];
    const corpus = Array.from({ length: 5000 }, () =>
      Array.from({ length: 1 + Math.floor(rand() * 4) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(rand() < 0.9 ? ' ' : '  '),
    );
    expect(parse(emitYaml({ items: corpus }))).toEqual({ items: corpus });
  });

  it('round-trips numbers, booleans, null and empty collections', () => {
    const data = { a: -1, b: 255, c: true, d: false, e: null, f: [], g: {}, h: [[], {}, [1, [2]]], i: 0.5 };
    expect(parse(emitYaml(data))).toEqual(data);
  });

  it('reads the same as the yaml library for real pipelines, with no anchors or aliases', () => {
    for (const pipeline of [
      planPipeline(planInput({ branch: 'main' }, analyze(['libs/util/src/index.ts']))),
      planPipeline(planInput({ branch: HOSTILE.join('') }, analyze([], { all: HOSTILE.join('\n') }))),
      planPipeline(syntheticPlanInput(50)),
    ]) {
      const data = toBuildkite(pipeline);
      const text = emitYaml(data as never);
      expect(parse(text)).toEqual(parse(stringify(data, { aliasDuplicateObjects: false, lineWidth: 0 })));
      expect(text).not.toMatch(/(^|\s)[&*!][A-Za-z0-9_-]+(\s|$)/m);
    }
  });

  it('writes multi-line text as a readable literal block', () => {
    expect(emitYaml({ commands: ["annotate '# Title\n\n| a | b |'"] })).toBe("commands:\n  - |-\n    annotate '# Title\n\n    | a | b |'\n");
  });
});
