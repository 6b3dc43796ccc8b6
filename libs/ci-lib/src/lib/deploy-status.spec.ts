import { describe, expect, it } from 'vitest';
import { formatAge, renderStatusTable, type StatusRow } from './deploy-status.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

const row = (over: Partial<StatusRow>): StatusRow => ({
  service: 'halow',
  project: '@engex/halow',
  target: { branch: 'main', overlay: 'overlays/staging', pinDigest: false, approval: 'none' },
  opsRepo: 'https://github.com/highspot/halow-ops.git',
  deployed: { ok: true, value: { tag: A, file: 'overlays/staging/kustomization.yaml' } },
  commit: { ok: true, value: { sha: A, subject: 'halow: faster', committedAt: '2026-11-29T12:00:00.000Z', ageSeconds: 86_400 } },
  behind: { ok: true, value: 3 },
  branch: { ok: true, value: { name: 'origin/main', head: B } },
  image: { ok: true, value: { exists: true, digest: `sha256:${'c'.repeat(64)}` } },
  newest: { ok: true, value: { sha: B, digest: `sha256:${'d'.repeat(64)}` } },
  ...over,
});

describe('renderStatusTable', () => {
  it('aligns the columns and moves every unread value to a numbered note, said once', () => {
    const registryDown = { ok: false as const, reason: 'unreachable: cannot reach registry 127.0.0.1:1: connect ECONNREFUSED' };
    expect(
      renderStatusTable([
        row({}),
        row({ target: { branch: 'release/*', overlay: 'overlays/production', pinDigest: false, approval: 'manual' }, image: registryDown, newest: registryDown }),
        row({
          service: 'billing',
          deployed: {
            ok: false,
            reason: 'ops repo https://github.com/highspot/billing-ops.git unreachable: git clone of the ops repo on github.com did not finish within its 1.0 s deadline',
          },
          commit: { ok: false, reason: 'no deployed commit to look up (the ops repo value is missing)' },
          behind: { ok: false, reason: 'no deployed commit to look up (the ops repo value is missing)' },
          image: { ok: false, reason: 'no deployed commit to look up (the ops repo value is missing)' },
          newest: { ok: true, value: 'none' },
        }),
        row({
          deployed: { ok: true, value: { tag: 'bootstrap', file: 'overlays/staging/Kustomization' } },
          commit: { ok: false, reason: 'tag bootstrap is not a commit sha' },
          newest: { ok: true, value: 'deployed' },
          image: { ok: true, value: { exists: false } },
        }),
      ]),
    ).toMatchInlineSnapshot(`
      "SERVICE  TARGET                           DEPLOYED      AGE   BEHIND           IMAGE                NEWEST IMAGE                      SUBJECT
      halow    overlays/staging (main)          aaaaaaaaaaaa  24 h  3 (origin/main)  sha256:cccccccccccc  bbbbbbbbbbbb sha256:dddddddddddd  halow: faster
      halow    overlays/production (release/*)  aaaaaaaaaaaa  24 h  3 (origin/main)  [1]                  [1]                               halow: faster
      billing  overlays/staging (main)          [2]           [3]   [3]              [3]                  none                              [3]
      halow    overlays/staging (main)          bootstrap     [4]   3 (origin/main)  absent               = deployed                        [4]

      [1] unreachable: cannot reach registry 127.0.0.1:1: connect ECONNREFUSED
      [2] ops repo https://github.com/highspot/billing-ops.git unreachable: git clone of the ops repo on github.com did not finish within its 1.0 s deadline
      [3] no deployed commit to look up (the ops repo value is missing)
      [4] tag bootstrap is not a commit sha
      "
    `);
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0 s'],
    [59, '59 s'],
    [60, '1 min'],
    [3599, '59 min'],
    [3600, '1 h'],
    [172_799, '47 h'],
    [172_800, '2 d'],
  ])('%i s is %s', (seconds, text) => expect(formatAge(seconds)).toBe(text));
});
