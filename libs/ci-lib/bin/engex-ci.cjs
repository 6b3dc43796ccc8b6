#!/usr/bin/env node
// Committed so that npm links the `engex-ci` bin at install time, when dist/ does not exist yet
// (npm skips a bin whose target is missing). It only forwards to the bundle.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'engex-ci.cjs');
if (!existsSync(bundle)) {
  process.stderr.write('engex-ci: not built yet (' + bundle + ' is missing). Run `npm run build` at the workspace root, or `npx nx run @engex/ci-lib:build`.\n');
  process.exit(2);
}
require(bundle);
