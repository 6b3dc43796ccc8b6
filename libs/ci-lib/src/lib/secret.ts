import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Holds a credential so that every accidental way of printing it (template strings, JSON,
 * console.log / util.inspect, error messages) shows `[redacted]`; only `reveal()` gives the value,
 * and the only callers are the Authorization header and `docker login --password-stdin`.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}
