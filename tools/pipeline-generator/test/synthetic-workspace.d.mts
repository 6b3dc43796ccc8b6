export interface SyntheticProject {
  name: string;
  /** Checkout-relative production source file. */
  source: string;
  /** Checkout-relative spec file (not a production input). */
  spec: string;
}

export interface SyntheticWorkspace {
  root: string;
  names: string[];
  roots: string[];
  services: string[];
  leaf: SyntheticProject;
  rootLib: SyntheticProject;
  commitChange(file: string, message?: string): string;
  remove(): void;
}

export interface SyntheticWorkspaceOptions {
  projects: number;
  /** How many of the projects are deployable services (the last ones). Default 3. */
  services?: number;
  /** This repository's node_modules, symlinked into the workspace. */
  nodeModules: string;
  /** Folder to create the workspace in. Default os.tmpdir(). */
  parent?: string;
  seed?: number;
  branching?: number;
}

export declare const NX_JSON: Record<string, unknown>;
export declare function git(cwd: string, ...args: string[]): string;
export declare function createSyntheticWorkspace(options: SyntheticWorkspaceOptions): SyntheticWorkspace;
