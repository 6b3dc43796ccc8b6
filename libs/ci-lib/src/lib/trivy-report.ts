import { SEVERITIES, type Severity } from '@engex/workspace-config';
import { ScanReportError } from './errors.js';
import { describeValue as describe, isRecord } from '@engex/workspace-config';

export interface Finding {
  id: string;
  target: string;
  pkgName: string;
  installedVersion: string;
  /** Empty when there is no fix (yet). */
  fixedVersion: string;
  severity: Severity;
  /** Title, or the start of the Description when there is none. */
  title: string;
  primaryUrl?: string;
  status?: string;
  /** Set by mergeScanReports: which scan(s) found it. */
  foundIn?: ScanSource[];
}

/** `image`: trivy image (OS packages, the Node runtime); `sbom`: trivy sbom (the bundled npm packages). */
export type ScanSource = 'image' | 'sbom';

export interface TrivyReport {
  artifactName: string;
  artifactType: string;
  /** `Trivy.Version`, which newer Trivy releases write into the report. */
  scannerVersion?: string;
  findings: Finding[];
}

const optionalString = (problems: string[], obj: Record<string, unknown>, key: string, at: string): string | undefined => {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    problems.push(`${at ? `${at}.` : ''}${key}: expected a string, got ${describe(value)}`);
    return undefined;
  }
  return value;
};

const requiredString = (problems: string[], obj: Record<string, unknown>, key: string, at: string): string => {
  const value = obj[key];
  if (typeof value !== 'string' || value === '') {
    problems.push(`${at ? `${at}.` : ''}${key}: expected a non-empty string, got ${describe(value)}`);
    return '';
  }
  return value;
};

/**
 * Strictly validates Trivy's JSON (SchemaVersion 2). Unknown extra fields are fine (Trivy adds
 * some every release); anything we gate on that is missing or mistyped is an error, because a
 * report we cannot read must never count as "no vulnerabilities".
 */
export function parseTrivyReport(raw: unknown, file: string): TrivyReport {
  const problems: string[] = [];
  if (!isRecord(raw)) throw new ScanReportError(file, [`expected a JSON object, got ${describe(raw)}`]);
  if (raw['SchemaVersion'] !== 2) {
    throw new ScanReportError(file, [`SchemaVersion: expected 2 (Trivy >= 0.20 JSON), got ${describe(raw['SchemaVersion'])}`]);
  }
  const artifactName = requiredString(problems, raw, 'ArtifactName', '');
  const artifactType = optionalString(problems, raw, 'ArtifactType', '') ?? 'unknown';
  const results = raw['Results'];
  const findings: Finding[] = [];
  // Trivy omits Results (omitempty) when a target has nothing to scan; any other shape is broken.
  if (results !== undefined && !Array.isArray(results)) problems.push(`Results: expected an array, got ${describe(results)}`);
  (Array.isArray(results) ? results : []).forEach((result: unknown, i) => {
    const at = `Results[${i}]`;
    if (!isRecord(result)) return void problems.push(`${at}: expected an object, got ${describe(result)}`);
    const target = requiredString(problems, result, 'Target', at);
    const vulns = result['Vulnerabilities'];
    if (vulns === undefined || vulns === null) return;
    if (!Array.isArray(vulns)) return void problems.push(`${at}.Vulnerabilities: expected an array, got ${describe(vulns)}`);
    vulns.forEach((v: unknown, j) => {
      const vat = `${at}.Vulnerabilities[${j}]`;
      if (!isRecord(v)) return void problems.push(`${vat}: expected an object, got ${describe(v)}`);
      const severity = v['Severity'];
      if (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity)) {
        problems.push(`${vat}.Severity: expected one of ${SEVERITIES.join(', ')}, got ${describe(severity)}`);
      }
      const primaryUrl = optionalString(problems, v, 'PrimaryURL', vat);
      const status = optionalString(problems, v, 'Status', vat);
      findings.push({
        id: requiredString(problems, v, 'VulnerabilityID', vat),
        target,
        pkgName: requiredString(problems, v, 'PkgName', vat),
        installedVersion: requiredString(problems, v, 'InstalledVersion', vat),
        fixedVersion: optionalString(problems, v, 'FixedVersion', vat) ?? '',
        severity: severity as Severity,
        title: optionalString(problems, v, 'Title', vat) || shorten(optionalString(problems, v, 'Description', vat) ?? ''),
        primaryUrl: primaryUrl || undefined,
        status: status || undefined,
      });
    });
  });
  if (problems.length > 0) throw new ScanReportError(file, problems);
  const trivy = raw['Trivy'];
  const scannerVersion = isRecord(trivy) && typeof trivy['Version'] === 'string' ? trivy['Version'] : undefined;
  return { artifactName, artifactType, scannerVersion: scannerVersion || undefined, findings };
}

/** OS advisories often have no Title; the start of the Description stands in for it. */
function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine;
}

/** Parses the file's text; invalid JSON is a ScanReportError, never a pass. */
export function parseTrivyReportText(text: string, file: string): TrivyReport {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ScanReportError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseTrivyReport(raw, file);
}
