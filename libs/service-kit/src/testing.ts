// `@engex/service-kit/testing`: helpers for a service's specs. Kept out of src/index.ts so no
// service bundle carries them. Only `serviceBundleContract` imports vitest: it registers tests.
export { serviceBundleContract, type ServiceBundleContractOptions } from './lib/bundle-contract.js';
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
