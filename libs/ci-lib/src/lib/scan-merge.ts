import type { Finding, ScanSource, TrivyReport } from './trivy-report.js';

/**
 * Pure: one report out of `trivy image` (what Alpine and the Node runtime bring) and `trivy sbom`
 * on our CycloneDX SBOM (the npm packages bundled into main.cjs, invisible to the image scan).
 * The same vulnerability in the same package and version counts once, remembering both sources.
 */
export function mergeScanReports(image: TrivyReport, sbom: TrivyReport): TrivyReport {
  const byKey = new Map<string, Finding>();
  const add = (finding: Finding, source: ScanSource): void => {
    const key = `${finding.id}\u0000${finding.pkgName}\u0000${finding.installedVersion}`;
    const seen = byKey.get(key);
    if (seen) {
      if (!seen.foundIn!.includes(source)) seen.foundIn!.push(source);
      return;
    }
    byKey.set(key, { ...finding, foundIn: [source] });
  };
  for (const finding of image.findings) add(finding, 'image');
  for (const finding of sbom.findings) add(finding, 'sbom');
  return {
    artifactName: `${image.artifactName} + ${sbom.artifactName}`,
    artifactType: `${image.artifactType} + ${sbom.artifactType}`,
    scannerVersion: image.scannerVersion ?? sbom.scannerVersion,
    findings: [...byKey.values()],
  };
}

const LABEL: Record<ScanSource, string> = { image: 'image (OS/runtime)', sbom: 'bundled npm (SBOM)' };

/** The annotation's "Found in" cell. */
export function describeSources(sources: readonly ScanSource[]): string {
  return sources.map((s) => LABEL[s]).join(' + ');
}
