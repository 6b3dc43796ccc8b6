'use strict';
// Nx loads a local plugin's `.ts` factory through Node's type stripping (Node >= 22.18) or
// @swc-node/ts-node; Node 20 has the first and this workspace installs neither, so this CommonJS
// entry loads the TypeScript source through tsx (pinned in package.json) instead.
const { require: tsxRequire } = require('tsx/cjs/api');

module.exports = tsxRequire('./generator.ts', __filename);
