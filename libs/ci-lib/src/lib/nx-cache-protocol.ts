import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { EXIT_CODES, errorKind } from './errors.js';

/**
 * A self-hosted Nx remote cache (Nx ≥ 20.8 `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`), following Nx's
 * OpenAPI specification: `PUT /v1/cache/{hash}` (401, 403, 409 exists) and `GET /v1/cache/{hash}`
 * (200 tar, 403, 404), bearer tokens. One deliberate difference: a stored PUT is 200, not the
 * document's 202, because Nx's client (`http_remote_cache.rs`, `store`) accepts only 200, treats
 * anything else as an error and retries, and the retry meets 409. Entries are write-once: the fix
 * for CVE-2025-36852 (a build that may write must never replace what another build stored).
 */

/** Bearer tokens; none at all is an open cache, refused unless bound to loopback. */
export interface NxCacheTokens {
  /** May GET only (pull-request builds). */
  read?: string;
  /** May GET and PUT (trusted builds: the default branch). */
  write?: string;
}

/** Nx hashes are decimal (xxhash64) or hex strings; nothing else reaches the filesystem. */
export const NX_CACHE_HASH = /^[0-9a-f]{1,128}$/;

/** The server cannot start as configured (an open cache on a public address, a bad directory...). */
export class NxCacheConfigError extends errorKind('NX_CACHE_CONFIG', EXIT_CODES.usage) {}

export type Access = 'none' | 'read' | 'write';

/** What a request may do. Constant-time comparison on digests, so a token's length is not leaked either. */
export function accessFor(authorization: string | undefined, tokens: NxCacheTokens): Access {
  if (tokens.read === undefined && tokens.write === undefined) return 'write';
  const match = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? '');
  if (!match) return 'none';
  const given = digest(match[1]!);
  if (tokens.write !== undefined && timingSafeEqual(given, digest(tokens.write))) return 'write';
  if (tokens.read !== undefined && timingSafeEqual(given, digest(tokens.read))) return 'read';
  return 'none';
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export interface CacheRequest {
  method: string;
  /** The request target, e.g. `/v1/cache/123`. */
  url: string;
  authorization?: string;
  contentLength?: string;
}

export type CacheDecision =
  { kind: 'get'; hash: string } | { kind: 'put'; hash: string; length: number } | { kind: 'reject'; status: number; message: string; headers?: Record<string, string> };

/**
 * Pure: a request's method, path, token and declared length → what to do. Status codes are the
 * OpenAPI spec's: a PUT without a valid token is 401 and with a read token 403; a GET without a
 * valid token is 403 (the spec lists no 401 for GET).
 */
export function planCacheRequest(request: CacheRequest, tokens: NxCacheTokens, maxBodyBytes: number): CacheDecision {
  const path = request.url.split('?')[0]!;
  const match = /^\/v1\/cache\/([^/]*)$/.exec(path);
  if (!match) return { kind: 'reject', status: 404, message: 'Not found' };
  const hash = match[1]!;
  if (!NX_CACHE_HASH.test(hash)) return { kind: 'reject', status: 400, message: 'Invalid hash: expected 1-128 lowercase hex or decimal characters' };
  const access = accessFor(request.authorization, tokens);
  if (request.method === 'GET') {
    if (access === 'none') return { kind: 'reject', status: 403, message: 'Access forbidden' };
    return { kind: 'get', hash };
  }
  if (request.method === 'PUT') {
    if (access === 'none') return { kind: 'reject', status: 401, message: 'Missing or invalid authentication token' };
    if (access === 'read') return { kind: 'reject', status: 403, message: 'Access forbidden: this token may only read' };
    if (request.contentLength === undefined) return { kind: 'reject', status: 411, message: 'Content-Length is required' };
    if (!/^\d{1,16}$/.test(request.contentLength)) return { kind: 'reject', status: 400, message: 'Invalid Content-Length' };
    const length = Number(request.contentLength);
    if (length > maxBodyBytes) return { kind: 'reject', status: 413, message: `Body larger than the ${maxBodyBytes}-byte limit` };
    return { kind: 'put', hash, length };
  }
  return { kind: 'reject', status: 405, message: 'Method not allowed', headers: { Allow: 'GET, PUT' } };
}

/** Loopback addresses and `localhost`: the only places an open (tokenless) cache may listen. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
