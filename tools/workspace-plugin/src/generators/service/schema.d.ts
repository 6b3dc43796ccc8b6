/** The options of `nx g @engex/workspace-plugin:service`, as Nx passes them (see schema.json). */
export interface ServiceGeneratorSchema {
  name: string;
  description?: string;
  port?: number;
  ownerTeam?: string;
  terraformLocals?: string;
  skipInstall?: boolean;
}
