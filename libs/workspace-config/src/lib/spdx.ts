import parseSpdx from 'spdx-expression-parse';

/**
 * True when `expression` is a valid SPDX license expression (SPDX 2.3 annex D), checked by
 * spdx-expression-parse against the SPDX license list. `UNLICENSED` is npm's word, not SPDX's;
 * private code is `LicenseRef-<idstring>`.
 */
export function isSpdxExpression(expression: string): boolean {
  try {
    parseSpdx(expression);
    return true;
  } catch {
    return false;
  }
}
