import { describe, expect, it } from 'vitest';
import { renderStatusTable, type StatusRow } from './deploy-status.js';
import { planEcrCheck, renderEcrCheckMarkdown, renderEcrCheckText } from './ecr-check.js';
import { renderImagesTable } from './list-images.js';
import { escapeControl, renderColumns, stringifyForTerminal } from './terminal-text.js';

/** What a hostile tag, label, subject or URI can carry: OSC title, clear screen, C1 CSI, bidi, newline, tab. */
const TITLE = '\u001b]0;pwned\u0007';
const CLEAR = '\u001b[2J';
const C1_CSI = '\u009b31m';
const BIDI = '\u202egnp.exe';
const HOSTILE = [TITLE, CLEAR, C1_CSI, BIDI, 'line1\nline2', 'a\tb', '\r', '\u007f'];

/** Nothing a terminal would act on is left in the text. */
const RAW = /(?!\n)[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

describe('escapeControl', () => {
  it('shows every control, C1 and bidi character as text and leaves the rest alone', () => {
    expect(escapeControl(`${TITLE}|${CLEAR}|${C1_CSI}|${BIDI}|x\ny\tz\r\u007f`)).toBe('\\x1b]0;pwned\\x07|\\x1b[2J|\\x9b31m|\\u202egnp.exe|x\\x0ay\\x09z\\x0d\\x7f');
    expect(escapeControl('halow: ünïcødé 🚀 sha256:abc, release/1.4')).toBe('halow: ünïcødé 🚀 sha256:abc, release/1.4');
  });

  it('JSON for a terminal escapes what JSON.stringify leaves raw, and still parses to the same value', () => {
    const value = { tag: `${C1_CSI}${BIDI}${TITLE}` };
    const text = stringifyForTerminal(value);
    expect(text).not.toMatch(RAW);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('aligns columns on the escaped text', () => {
    expect(
      renderColumns(
        ['A', 'B'],
        [
          ['x\ny', '1'],
          ['z', '2'],
        ],
      ),
    ).toEqual(['A       B', 'x\\x0ay  1', 'z       2']);
  });
});

describe('every table escapes what came from outside', () => {
  it.each(HOSTILE.map((h) => [JSON.stringify(h), h]))('images: tags, revision label and created time (%s)', (_name, h) => {
    const table = renderImagesTable([{ digest: `sha256:${'a'.repeat(64)}`, tags: [`v1${h}`, 'latest'], revision: { ok: true, value: `rev${h}` }, created: `2026${h}` }]);
    expect(table.slice(0, -1)).not.toMatch(RAW);
    expect(table).toContain(`v1${escapeControl(h)}`);
    expect(renderImagesTable([{ digest: 'sha256:0', tags: [], revision: { ok: false, reason: `label unreadable${h}` } }]).slice(0, -1)).not.toMatch(RAW);
  });

  it.each(HOSTILE.map((h) => [JSON.stringify(h), h]))('status: deployed tag, commit subject, branch and notes (%s)', (_name, h) => {
    const row: StatusRow = {
      service: 'halow',
      project: '@engex/halow',
      target: { branch: `main${h}`, overlay: 'overlays/staging', pinDigest: false, approval: 'none' },
      opsRepo: 'https://github.com/highspot/halow-ops.git',
      deployed: { ok: true, value: { tag: `bootstrap${h}`, file: 'overlays/staging/kustomization.yaml' } },
      commit: { ok: true, value: { sha: 'a'.repeat(40), subject: `fix${h}`, committedAt: '2026-11-29T12:00:00.000Z', ageSeconds: 60 } },
      behind: { ok: true, value: 0 },
      branch: { ok: true, value: { name: `origin/main${h}`, head: 'b'.repeat(40) } },
      image: { ok: false, reason: `unreachable: registry said ${h}` },
      newest: { ok: true, value: 'none' },
    };
    const table = renderStatusTable([row]);
    expect(table.split('\n').filter(Boolean)).toHaveLength(3);
    expect(table.slice(0, -1).replaceAll('\n', '')).not.toMatch(RAW);
    expect(table).toContain(`fix${escapeControl(h)}`);
    expect(table).toContain(`[1] unreachable: registry said ${escapeControl(h)}`);
  });

  it.each(HOSTILE.map((h) => [JSON.stringify(h), h]))('ecr check: repository, URI and host, as text and as Markdown (%s)', (_name, h) => {
    const ecr = planEcrCheck(
      {
        kind: 'ecr',
        account: '460210468233',
        region: 'us-east-1',
        host: `460210468233.dkr.ecr.us-east-1.amazonaws.com${h}`,
        repository: `engex/halow${h}`,
        facts: { exists: true, uri: `460210468233.dkr.ecr.us-east-1.amazonaws.com/engex/halow${h}`, mutability: 'MUTABLE', scanOnPush: false },
      },
      { allowMutable: false, service: 'halow', source: 'https://github.com/highspot/halow' },
    );
    const plain = planEcrCheck({ kind: 'plain', host: `127.0.0.1:5000${h}`, repository: `engex/halow${h}`, tags: 3 }, { allowMutable: false, service: 'halow', source: 'x' });
    for (const result of [ecr, plain]) {
      for (const text of [renderEcrCheckText(result), renderEcrCheckMarkdown(result)]) {
        expect(text.replaceAll('\n', '')).not.toMatch(RAW);
        expect(text).toContain(`engex/halow${escapeControl(h)}`);
      }
    }
  });
});
