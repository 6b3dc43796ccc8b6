import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Buildkite's official schema lives beside the repo, never in it (see ../shared/README.md). */
export const SCHEMA_PATH = join(REPO_ROOT, '..', 'shared', 'buildkite', 'pipeline-schema.json');
export const SCHEMA_PRESENT = existsSync(SCHEMA_PATH);
export const SCHEMA_MISSING_REASON = `${SCHEMA_PATH} is absent (a clone without ../shared); the schema contract is not checked`;

let validate: (((data: unknown) => boolean) & { errors?: unknown }) | undefined;

/** Schema errors of one upload; empty when valid. */
export function schemaErrors(upload: unknown): string[] {
  if (!validate) {
    // The schema is draft-07 with a few non-standard annotations (fileMatch), hence strict: false.
    const ajv = new Ajv({ strict: false, allErrors: true });
    validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
  }
  if (validate(upload)) return [];
  return ((validate.errors ?? []) as { instancePath: string; message?: string }[]).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
