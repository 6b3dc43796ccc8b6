// Test helpers shared with other projects' tests; production code never imports this entry.
export { REGISTRY_BINARY, registryBinaryAvailable, startLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from '../lib/local-registry.js';
export {
  BUSYBOX,
  busyboxRequirement,
  describeNeeding,
  dockerRequirement,
  findRepoRoot,
  kubectlRequirement,
  registryRequirement,
  requirement,
  requiredDependencies,
  sharedRequirement,
  type Requirement,
  type RequirementName,
  usable,
  zstdRequirement,
} from './requirements.js';
export { putManifest, uploadTestImage, type UploadedImage } from './oci-upload.js';
export { buildScratchImage, type ScratchImageOptions } from './scratch-image.js';
export { faultServersPerTest, startFaultServer, type FaultBehaviour, type FaultServer, type FaultServerOptions } from './fault-server.js';
