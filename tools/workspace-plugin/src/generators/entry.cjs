'use strict';
// Nx loads a local plugin's TypeScript factory through Node's type stripping (Node >= 22.18) or
// through @swc-node/register or ts-node. Node 20 has no type stripping and this workspace installs
// neither, so generators.json points here and this loads the sources with the pinned tsx instead.
const { require: tsxRequire } = require('tsx/cjs/api');

const service = tsxRequire('./service/generator.ts', __filename);
const ecrLocal = tsxRequire('./ecr-local/generator.ts', __filename);

module.exports = {
  serviceGenerator: service.serviceGenerator,
  ecrLocalGenerator: ecrLocal.ecrLocalGenerator,
};
