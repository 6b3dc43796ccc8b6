import { describe, expect, it } from 'vitest';
import { isSpdxExpression } from './spdx.js';

describe('isSpdxExpression', () => {
  it.each(['LicenseRef-Proprietary', 'MIT', 'Apache-2.0 OR MIT', '(MIT AND BSD-3-Clause) OR LicenseRef-Acme', 'GPL-2.0-only WITH Classpath-exception-2.0'])('accepts %s', (expr) =>
    expect(isSpdxExpression(expr)).toBe(true),
  );
  it.each(['UNLICENSED', 'Proprietary', 'MIT OR', 'mit-ish', ''])('rejects %j', (expr) => expect(isSpdxExpression(expr)).toBe(false));
});
