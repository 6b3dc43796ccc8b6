/** The options of `nx g @engex/workspace-plugin:ecr-local` (see schema.json). */
export interface EcrLocalGeneratorSchema {
  name: string;
  terraformLocals: string;
}
