/**
 * The `default` of an exhaustive switch: it compiles only when every kind has its case, so a new
 * step kind fails the build here instead of running as something else.
 */
export function unreachable(value: never): never {
  throw new Error(`unhandled kind: ${JSON.stringify(value)}`);
}
