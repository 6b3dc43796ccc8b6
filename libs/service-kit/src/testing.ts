// `@engex/service-kit/testing`: helpers for a service's specs. Kept out of src/index.ts so no
// service bundle carries them; nothing here imports vitest.
export { createTestApp, fixedProcessProbe, type TestAppOptions } from './lib/test-app.js';
export {
  ServiceBundleMissingError,
  ServiceOutputError,
  serviceBundle,
  type HttpResult,
  type LogRecord,
  type ServiceBundle,
  type ServiceBundleOptions,
  type ServiceProcess,
  type SlowRequest,
  type SlowRequestOptions,
} from './lib/service-process.js';
