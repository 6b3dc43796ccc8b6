import type { ViteUserConfig } from 'vitest/config';

/** The one vitest config of every project (vitest.shared.mjs); `name` is the Nx project. */
export declare function projectTestConfig(name: string): ViteUserConfig;
