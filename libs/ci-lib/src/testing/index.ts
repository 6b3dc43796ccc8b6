// Test helpers shared with other projects' tests (and the local runner's registry start-up).
export { REGISTRY_BINARY, registryBinaryAvailable, startRegistry, type RunningRegistry, type StartRegistryOptions } from './start-registry.js';
export { dockerRequirement, findRepoRoot, registryRequirement, sharedRequirement, type Requirement } from './requirements.js';
export { putManifest, uploadTestImage, type UploadedImage } from './oci-upload.js';
export { buildScratchImage, type ScratchImageOptions } from './scratch-image.js';
export { startFaultServer, type FaultBehaviour, type FaultServer, type FaultServerOptions } from './fault-server.js';
