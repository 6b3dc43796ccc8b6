import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { renderScanMarkdown, renderScanSummary } from './render-scan-markdown.js';
import { mergeScanReports } from './scan-merge.js';
import { evaluateScan, type ScanPolicy } from './scan-policy.js';
import { parseTrivyReport, parseTrivyReportText } from './trivy-report.js';
import { describeNeeding, sharedRequirement } from '../testing/requirements.js';

const fixtures = sharedRequirement('fixtures/trivy');
const policy: ScanPolicy = { failOn: ['HIGH', 'CRITICAL'], ignoreUnfixed: true, ignores: [], today: '2026-11-27' };

/**
 * What `trivy sbom --format json` writes for our CycloneDX file: the shape of the real
 * npm-lockfile report (SchemaVersion 2, a lang-pkgs result), with the artifact being the SBOM.
 */
function sbomScan(lockfileReport: Record<string, unknown>): unknown {
  const [result] = lockfileReport['Results'] as Record<string, unknown>[];
  const [jquery] = result!['Vulnerabilities'] as Record<string, unknown>[];
  return {
    ...lockfileReport,
    ArtifactName: 'apps/halow/dist/sbom.cdx.json',
    ArtifactType: 'cyclonedx',
    Results: [
      {
        ...result,
        Target: 'Node.js',
        Type: 'node-pkg',
        Vulnerabilities: [
          jquery,
          {
            ...jquery,
            VulnerabilityID: 'CVE-2099-0001',
            PkgName: 'fastify',
            PkgID: 'fastify@5.12.8',
            InstalledVersion: '5.12.8',
            FixedVersion: '5.12.9',
            Severity: 'CRITICAL',
            Title: 'fastify: a bundled critical',
          },
          // The image scan found this one too (a package both in Alpine and bundled, say): counted once.
          {
            ...jquery,
            VulnerabilityID: 'CVE-2019-14697',
            PkgName: 'musl',
            PkgID: 'musl@1.1.20-r4',
            InstalledVersion: '1.1.20-r4',
            FixedVersion: '1.1.20-r5',
            Severity: 'CRITICAL',
            Title: 'musl: duplicate',
          },
        ],
      },
    ],
  };
}

describeNeeding([fixtures], 'the gate on a merged image + SBOM scan', () => {
  it('fails on the bundled npm CRITICAL the image scan cannot see, and says where each came from', () => {
    const image = parseTrivyReportText(readFileSync(join(fixtures.path, 'alpine-39-high-critical.json'), 'utf8'), 'image.json');
    const sbom = parseTrivyReport(sbomScan(JSON.parse(readFileSync(join(fixtures.path, 'npm-lockfile-medium.json'), 'utf8')) as Record<string, unknown>), 'sbom.json');
    expect(evaluateScan(image, policy).failing.map((f) => f.pkgName)).not.toContain('fastify');

    const merged = mergeScanReports(image, sbom);
    expect(merged.findings.map((f) => `${f.id} ${f.pkgName} ${f.foundIn!.join('+')}`)).toEqual([
      'CVE-2019-14697 musl image+sbom',
      'CVE-2019-14697 musl-utils image',
      'CVE-2019-11358 jquery sbom',
      'CVE-2099-0001 fastify sbom',
    ]);
    const evaluation = evaluateScan(merged, policy);
    expect(evaluation.passed).toBe(false);
    expect(evaluation.counts).toEqual({ UNKNOWN: 0, LOW: 0, MEDIUM: 1, HIGH: 0, CRITICAL: 3 });
    expect(renderScanSummary(evaluation)).toBe(
      'scan: FAILED testdata/fixtures/images/alpine-39.tar.gz + apps/halow/dist/sbom.cdx.json: 3 findings at HIGH,CRITICAL (3 CRITICAL, 0 HIGH)',
    );
    const rows = renderScanMarkdown(evaluation)
      .split('\n')
      .filter((l) => l.startsWith('| [CVE-') || l.startsWith('| ID'));
    expect(rows.map((r) => r.replace(/\]\([^)]*\)/g, ']'))).toEqual([
      '| ID | Package | Installed | Fixed | Severity | Found in | Title |',
      '| [CVE-2019-14697] | musl | 1.1.20-r4 | 1.1.20-r5 | CRITICAL | image (OS/runtime) + bundled npm (SBOM) | musl libc through 1.1.23 has an x87 floating-point stack adjustment imbalance, related to the math/i386/ directory. I... |',
      '| [CVE-2019-14697] | musl-utils | 1.1.20-r4 | 1.1.20-r5 | CRITICAL | image (OS/runtime) | musl libc through 1.1.23 has an x87 floating-point stack adjustment imbalance, related to the math/i386/ directory. I... |',
      '| [CVE-2099-0001] | fastify | 5.12.8 | 5.12.9 | CRITICAL | bundled npm (SBOM) | fastify: a bundled critical |',
    ]);
  });
});
