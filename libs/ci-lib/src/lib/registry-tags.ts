import { deadlineHint } from './deadlines.js';
import { DeadlineExceededError, RegistryError } from './errors.js';
import { header, type RegistryTransport } from './registry-transport.js';
import { isRecord } from '@engex/workspace-config';

/** Tags read from one repository at most; a repository with more is a registry to clean up, not list. */
export const MAX_LISTED_TAGS = 10_000;

/**
 * Pages read at most: 10,000 tags at the 1,000 we ask for is 10 pages, and registries that cap a
 * page lower (Docker Hub: 100) still fit. Beyond that a registry is looping, not listing.
 */
export const MAX_TAG_PAGES = 200;

/**
 * `GET /v2/<repo>/tags/list`, following `Link: rel="next"` pages. Each page is bounded by its
 * request deadline, but a registry can hand out `next` links forever (an empty page linking on
 * answered 100k requests in 20 s): the listing as a whole gets one deadline and a page count, and
 * a link that cannot advance is refused at once.
 */
export async function listTags(
  transport: RegistryTransport,
  repository: string,
  { maxTags = MAX_LISTED_TAGS, maxPages = MAX_TAG_PAGES }: { maxTags?: number; maxPages?: number } = {},
): Promise<string[] | undefined> {
  const { send, unexpected, retry, deadlineMs, base, host } = transport;
  const started = retry.now();
  const tags: string[] = [];
  const read = new Set<string>();
  let path: string | undefined = `/v2/${repository}/tags/list?n=1000`;
  while (path !== undefined && tags.length < maxTags) {
    if (read.size >= maxPages) {
      throw new RegistryError(
        `tags list of ${repository} on ${host}: still a next page after ${maxPages} pages (${tags.length} tags), next ${path}; the registry's pagination does not end`,
      );
    }
    const left = deadlineMs - (retry.now() - started);
    if (left <= 0) {
      throw new DeadlineExceededError(
        `registry tags list of ${repository} (${read.size} pages, next ${path})`,
        host,
        retry.now() - started,
        deadlineMs,
        deadlineHint('registryMs'),
      );
    }
    read.add(path);
    const res = await send('GET', path, 'application/json', left);
    if (res.status === 404) return tags.length === 0 ? undefined : tags;
    if (res.status !== 200) throw unexpected(`GET tags of ${repository}`, res);
    let body: unknown;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError(`tags list of ${repository} is not JSON`);
    }
    const page = isRecord(body) && Array.isArray(body['tags']) ? body['tags'].filter((t): t is string => typeof t === 'string') : [];
    tags.push(...page);
    const next = nextPage(header(res, 'link'), base);
    if (next !== undefined && page.length === 0) {
      throw new RegistryError(
        `tags list of ${repository} on ${host}: page ${read.size} (${path}) has no tags but links to next ${next}; the registry's pagination does not advance`,
      );
    }
    if (next !== undefined && read.has(next)) {
      throw new RegistryError(`tags list of ${repository} on ${host}: page ${read.size} links to next ${next}, a page already read; the registry's pagination loops`);
    }
    path = next;
  }
  return tags.slice(0, maxTags);
}

/** Pure: the path of `Link: </v2/x/tags/list?n=1000&last=y>; rel="next"` on the same registry. */
export function nextPage(link: string | undefined, base: string): string | undefined {
  const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  if (!match) return undefined;
  const url = new URL(match[1]!, base);
  return url.origin === new URL(base).origin ? `${url.pathname}${url.search}` : undefined;
}
