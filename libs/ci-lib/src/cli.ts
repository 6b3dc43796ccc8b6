// Placeholder entry; the engex-ci issue fills in the commands.
import { readWorkspaceConfig } from './index.js';

readWorkspaceConfig(process.cwd()).then(
  (config) => process.stdout.write(`${JSON.stringify(config, null, 2)}\n`),
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  },
);
