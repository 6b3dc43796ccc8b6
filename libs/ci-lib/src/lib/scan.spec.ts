import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeNeeding, sharedRequirement } from '../testing/requirements.js';
import { DEFAULT_WORKSPACE_CONFIG } from '@engex/workspace-config';
import { ScanReportError, UsageError, exitCodeFor } from './errors.js';
import { escapeMarkdown, renderScanMarkdown, renderScanSummary } from './render-scan-markdown.js';
import { evaluateScan, parseSeverityList, parseTrivyIgnore, utcDate, type ScanPolicy } from './scan-policy.js';
import { parseTrivyReport, parseTrivyReportText, type Finding, type TrivyReport } from './trivy-report.js';

const fixtures = sharedRequirement('fixtures/trivy');
const load = (name: string): TrivyReport => {
  const file = join(fixtures.path, name);
  return parseTrivyReportText(readFileSync(file, 'utf8'), name);
};

const policy: ScanPolicy = { failOn: DEFAULT_WORKSPACE_CONFIG.trivy.failOn, ignoreUnfixed: true, ignores: [], today: '2026-11-27' };

describeNeeding([fixtures], 'real Trivy reports from ../shared/fixtures/trivy', () => {
  it('fails alpine 3.9 on its two CRITICAL findings', () => {
    const evaluation = evaluateScan(load('alpine-39-high-critical.json'), policy);
    expect(evaluation.passed).toBe(false);
    expect(evaluation.counts).toEqual({ UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 2 });
    expect(renderScanSummary(evaluation)).toBe('scan: FAILED testdata/fixtures/images/alpine-39.tar.gz: 2 findings at HIGH,CRITICAL (2 CRITICAL, 0 HIGH)');
    expect(renderScanMarkdown(evaluation, { subject: 'halow', trivyVersion: '0.58.2' })).toMatchInlineSnapshot(`
      "### :x: Trivy halow: 2 findings fail the policy

      **Artifact:** testdata/fixtures/images/alpine-39.tar.gz (container\\_image) · **Fails on:** HIGH, CRITICAL · **Unfixed:** ignored · **Trivy:** 0.58.2

      | Severity | Found | Failing |
      | --- | ---: | ---: |
      | :red_circle: CRITICAL | 2 | 2 |
      | :large_orange_diamond: HIGH | 0 | 0 |
      | :large_yellow_circle: MEDIUM | 0 | 0 |
      | :white_circle: LOW | 0 | 0 |
      | :grey_question: UNKNOWN | 0 | 0 |

      | ID | Package | Installed | Fixed | Severity | Title |
      | --- | --- | --- | --- | --- | --- |
      | [CVE-2019-14697](https://avd.aquasec.com/nvd/cve-2019-14697) | musl | 1.1.20-r4 | 1.1.20-r5 | CRITICAL | musl libc through 1.1.23 has an x87 floating-point stack adjustment imbalance, related to the math/i386/ directory. I... |
      | [CVE-2019-14697](https://avd.aquasec.com/nvd/cve-2019-14697) | musl-utils | 1.1.20-r4 | 1.1.20-r5 | CRITICAL | musl libc through 1.1.23 has an x87 floating-point stack adjustment imbalance, related to the math/i386/ directory. I... |
      "
    `);
  });

  it('passes the npm lockfile with one MEDIUM finding, and fails it when MEDIUM is in --fail-on', () => {
    const report = load('npm-lockfile-medium.json');
    const passed = evaluateScan(report, policy);
    expect(passed.passed).toBe(true);
    expect(passed.counts).toEqual({ UNKNOWN: 0, LOW: 0, MEDIUM: 1, HIGH: 0, CRITICAL: 0 });
    // The table's layout is pinned by the failing report above; here: the passed heading, the
    // MEDIUM finding counted but not failing, and no findings table after the counts.
    const md = renderScanMarkdown(passed);
    expect(md.split('\n').slice(0, 3)).toEqual([
      '### :white_check_mark: Trivy: passed',
      '',
      '**Artifact:** testdata/fixtures/repo/npm (repository) · **Fails on:** HIGH, CRITICAL · **Unfixed:** ignored',
    ]);
    expect(md).toContain('\n| :large_yellow_circle: MEDIUM | 1 | 0 |\n');
    expect(md.endsWith('\n| :grey_question: UNKNOWN | 0 | 0 |\n')).toBe(true);
    const strict = evaluateScan(report, { ...policy, failOn: parseSeverityList('medium,HIGH,CRITICAL') });
    expect(strict.failing.map((f) => `${f.id} ${f.pkgName} ${f.installedVersion} → ${f.fixedVersion}`)).toEqual(['CVE-2019-11358 jquery 3.3.9 → 3.4.0']);
    expect(renderScanMarkdown(strict).split('\n').at(-2)).toBe(
      "| [CVE-2019-11358](https://avd.aquasec.com/nvd/cve-2019-11358) | jquery | 3.3.9 | 3.4.0 | MEDIUM | jquery: Prototype pollution in object's prototype leading to denial of service, remote code execution, or property injection |",
    );
  });

  it('honours .trivyignore with expiry, against the date passed in', () => {
    const report = load('alpine-39-high-critical.json');
    const ignores = parseTrivyIgnore('# accepted until the base image moves\nCVE-2019-14697 exp:2026-12-01\n');
    const before = evaluateScan(report, { ...policy, ignores, today: '2026-11-30' });
    expect(before.passed).toBe(true);
    expect(before.waived).toHaveLength(2);
    expect(renderScanMarkdown(before)).toContain('Not counted: 2 waived by .trivyignore.');
    const after = evaluateScan(report, { ...policy, ignores, today: '2026-12-01' });
    expect(after.passed).toBe(false);
    expect(after.expiredIgnores).toEqual([{ id: 'CVE-2019-14697', expires: '2026-12-01', line: 2 }]);
    expect(renderScanMarkdown(after)).toContain(':warning: .trivyignore line 2: CVE-2019-14697 expired on 2026-12-01 and no longer waives anything.');
  });
});

const finding = (over: Partial<Finding> = {}): Finding => ({
  id: 'CVE-2026-0001',
  target: 'app',
  pkgName: 'pkg',
  installedVersion: '1.0.0',
  fixedVersion: '1.0.1',
  severity: 'HIGH',
  title: 'bad',
  primaryUrl: 'https://avd.aquasec.com/nvd/cve-2026-0001',
  ...over,
});

describe('policy', () => {
  it('ignores unfixed findings only when asked', () => {
    const report = { artifactName: 'x', artifactType: 'container_image', findings: [finding({ fixedVersion: '' })] };
    expect(evaluateScan(report, policy).passed).toBe(true);
    expect(evaluateScan(report, policy).unfixed).toHaveLength(1);
    expect(evaluateScan(report, { ...policy, ignoreUnfixed: false }).passed).toBe(false);
  });

  it('sorts failing findings most severe first', () => {
    const report = {
      artifactName: 'x',
      artifactType: 'fs',
      findings: [finding({ id: 'B', severity: 'HIGH' }), finding({ id: 'A', severity: 'CRITICAL' }), finding({ id: 'A', severity: 'HIGH' })],
    };
    expect(evaluateScan(report, policy).failing.map((f) => `${f.severity}:${f.id}`)).toEqual(['CRITICAL:A', 'HIGH:A', 'HIGH:B']);
  });

  it('parses .trivyignore like Trivy and rejects a bad date', () => {
    expect(parseTrivyIgnore('\n  # c\nCVE-1\nCVE-2 exp:2027-01-31 # why\r\nGHSA-x  foo  exp:2026-02-28\n')).toEqual([
      { id: 'CVE-1', line: 3 },
      { id: 'CVE-2', expires: '2027-01-31', line: 4 },
      { id: 'GHSA-x', expires: '2026-02-28', line: 5 },
    ]);
    expect(() => parseTrivyIgnore('CVE-1 exp:2026-02-30', 'ops/.trivyignore')).toThrow('ops/.trivyignore:1: "exp:2026-02-30" is not exp:YYYY-MM-DD');
    expect(() => parseTrivyIgnore('CVE-1 exp:tomorrow')).toThrow(UsageError);
  });

  it('parses --fail-on and names a bad value', () => {
    expect(parseSeverityList('critical')).toEqual(['CRITICAL']);
    expect(() => parseSeverityList('HIGH,SEVERE')).toThrow('--fail-on: expected a comma-separated list of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL, got "HIGH,SEVERE"');
    expect(() => parseSeverityList(',')).toThrow(UsageError);
  });

  it('gives the UTC date of a moment', () => {
    expect(utcDate(new Date('2026-11-27T23:59:59-05:00'))).toBe('2026-11-28');
  });
});

describe('strict report parsing', () => {
  it.each([
    ['not JSON', '{"SchemaVersion": 2,', /not valid JSON/],
    ['an array', '[]', /expected a JSON object, got \[\]/],
    ['schema 1', '{"SchemaVersion": 1, "ArtifactName": "x", "Results": []}', /SchemaVersion: expected 2/],
    ['no schema', '{"ArtifactName": "x"}', /SchemaVersion: expected 2 \(Trivy >= 0.20 JSON\), got nothing/],
    ['Results not an array', '{"SchemaVersion": 2, "ArtifactName": "x", "Results": {}}', /Results: expected an array, got \{\}/],
    [
      'bad severity',
      '{"SchemaVersion": 2, "ArtifactName": "x", "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p", "InstalledVersion": "1", "Severity": "SEVERE"}]}]}',
      /Results\[0\]\.Vulnerabilities\[0\]\.Severity: expected one of/,
    ],
    [
      'missing id',
      '{"SchemaVersion": 2, "ArtifactName": "x", "Results": [{"Target": "t", "Vulnerabilities": [{"PkgName": "p", "InstalledVersion": "1", "Severity": "HIGH"}]}]}',
      /Results\[0\]\.Vulnerabilities\[0\]\.VulnerabilityID: expected a non-empty string, got nothing/,
    ],
    ['no artifact name', '{"SchemaVersion": 2}', /ArtifactName: expected a non-empty string/],
  ])('%s is an error (exit 2), never a pass', (_name, text, message) => {
    let error: unknown;
    try {
      parseTrivyReportText(text, 'trivy.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScanReportError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^trivy\.json is not a usable Trivy report/);
    expect(exitCodeFor(error)).toBe(2);
  });

  it('accepts a clean report without Results or Vulnerabilities', () => {
    expect(parseTrivyReport({ SchemaVersion: 2, ArtifactName: 'img' }, 'r.json').findings).toEqual([]);
    expect(parseTrivyReport({ SchemaVersion: 2, ArtifactName: 'img', Results: [{ Target: 't', Class: 'os-pkgs' }] }, 'r.json').findings).toEqual([]);
  });

  it('reports every problem at once', () => {
    const error = (() => {
      try {
        parseTrivyReport({ SchemaVersion: 2, ArtifactName: 'x', Results: [{ Vulnerabilities: [{ Severity: 'HIGH', PkgName: 3 }] }] }, 'r.json');
      } catch (e) {
        return e as ScanReportError;
      }
      return undefined;
    })();
    expect(error?.problems).toEqual([
      'Results[0].Target: expected a non-empty string, got nothing',
      'Results[0].Vulnerabilities[0].VulnerabilityID: expected a non-empty string, got nothing',
      'Results[0].Vulnerabilities[0].PkgName: expected a non-empty string, got 3',
      'Results[0].Vulnerabilities[0].InstalledVersion: expected a non-empty string, got nothing',
    ]);
  });
});

describe('markdown safety', () => {
  it('escapes HTML, Markdown and table syntax in report fields', () => {
    const hostile = finding({
      id: 'CVE-1|<img src=x onerror=alert(1)>',
      pkgName: '**bold** [link](javascript:alert(1)) `code`',
      title: 'line1\nline2 | cell',
      primaryUrl: 'javascript:alert(1)',
    });
    const evaluation = evaluateScan({ artifactName: '<script>x</script>', artifactType: 'fs', findings: [hostile] }, policy);
    const md = renderScanMarkdown(evaluation);
    const row = md.trimEnd().split('\n').at(-1)!;
    expect(row).toBe(
      '| CVE-1\\|&lt;img src=x onerror=alert\\(1\\)&gt; | \\*\\*bold\\*\\* \\[link\\]\\(javascript:alert\\(1\\)\\) \\`code\\` | 1.0.0 | 1.0.1 | HIGH | line1 line2 \\| cell |',
    );
    expect(row.split(/(?<!\\)\|/)).toHaveLength(8);
    expect(md).not.toMatch(/<(script|img)/);
    expect(escapeMarkdown('a_b')).toBe('a\\_b');
  });

  it('percent-encodes parentheses in links', () => {
    const md = renderScanMarkdown(evaluateScan({ artifactName: 'x', artifactType: 'fs', findings: [finding({ primaryUrl: 'https://example.com/a_(b)' })] }, policy));
    expect(md).toContain('[CVE-2026-0001](https://example.com/a_%28b%29)');
  });

  it('caps very long tables', () => {
    const findings = Array.from({ length: 130 }, (_, i) => finding({ id: `CVE-2026-${String(i).padStart(4, '0')}` }));
    const md = renderScanMarkdown(evaluateScan({ artifactName: 'x', artifactType: 'fs', findings }, policy), { maxRows: 50 });
    expect(md.split('\n').filter((l) => l.startsWith('| [CVE-'))).toHaveLength(50);
    expect(md).toContain('…and 80 more failing findings; the full list is in the JSON report artifact.');
  });

  it('keeps a report with huge titles under 1 MiB, verdict and counts intact', () => {
    // 10 MB of titles: multi-byte characters and Markdown syntax, so bytes and escapes both grow.
    const findings = Array.from({ length: 50 }, (_, i) =>
      finding({ id: `CVE-2026-${String(i).padStart(4, '0')}`, severity: i % 2 ? 'HIGH' : 'CRITICAL', title: `é|*${'ü_'.repeat(100_000)}`, pkgName: 'p'.repeat(50_000) }),
    );
    const md = renderScanMarkdown(evaluateScan({ artifactName: 'x', artifactType: 'fs', findings }, policy));
    expect(Buffer.byteLength(md)).toBeLessThan(1024 * 1024);
    expect(md.split('\n')[0]).toBe('### :x: Trivy: 50 findings fail the policy');
    expect(md).toContain('| :red_circle: CRITICAL | 25 | 25 |');
    expect(md).toContain('| :large_orange_diamond: HIGH | 25 | 25 |');
    expect(md.split('\n').filter((l) => l.startsWith('| [CVE-'))).toHaveLength(50);
    const row = md.split('\n').find((l) => l.startsWith('| [CVE-2026-0000]'))!;
    expect(row.startsWith('| [CVE-2026-0000](https://avd.aquasec.com/nvd/cve-2026-0001) | ppp')).toBe(true);
    expect(row.endsWith('… |')).toBe(true);
    expect(row).toContain('| CRITICAL | é\\|\\*ü\\_ü\\_');
  });

  it('drops rows that do not fit the byte cap and says how many', () => {
    const findings = Array.from({ length: 2000 }, (_, i) => finding({ id: `CVE-2026-${String(i).padStart(4, '0')}`, title: 't'.repeat(250) }));
    const md = renderScanMarkdown(evaluateScan({ artifactName: 'x', artifactType: 'fs', findings }, policy), { maxRows: 5000, maxBytes: 64 * 1024 });
    expect(Buffer.byteLength(md)).toBeLessThanOrEqual(64 * 1024);
    const shown = md.split('\n').filter((l) => l.startsWith('| [CVE-')).length;
    expect(shown).toBeGreaterThan(100);
    expect(md).toContain(
      `…and ${2000 - shown} more failing findings not shown: the annotation is kept under 64 KiB (Buildkite's limit); the full list is in the JSON report artifact.`,
    );
    expect(md).toContain('| :large_orange_diamond: HIGH | 2000 | 2000 |');
  });
});
