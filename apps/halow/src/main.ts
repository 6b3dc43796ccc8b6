import { describeStartupFailure, nodeProcessProbe, runService } from '@engex/service-kit';
import { service } from './app.js';

// The executable (bundled to dist/main.cjs): the only file that touches `process`.
runService(service, {
  env: process.env,
  signals: process,
  probe: nodeProcessProbe(process, Date.now()),
}).then(
  (exitCode) => process.exit(exitCode),
  (error: unknown) => {
    const failure = describeStartupFailure(error);
    process.stderr.write(`${failure.message}\n`);
    process.exit(failure.exitCode);
  },
);
