import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/**
 * What Nx's client (`http_remote_cache.rs`, `store`) uploads: a gzip stream of a tar that holds the
 * task's outputs, a `terminalOutput` entry and a 4-byte big-endian `code` entry, closed by the
 * two zero blocks `Builder::finish` writes. Its `retrieve` fails the whole run when the body is not
 * gzip, a header is broken, or `code` is missing, so the server stores and serves nothing else.
 */

const BLOCK = 512;

export type ArchiveVerdict = { ok: true; entries: number; tarBytes: number } | { ok: false; reason: string };

/**
 * Incremental tar checker (pure: bytes in, verdict out). Feed it the decompressed tar in chunks of
 * any size, then call `end()`.
 */
export class TarChecker {
  private pending = Buffer.alloc(0);
  /** Bytes of entry data still to skip (data plus padding). */
  private skip = 0;
  /** Bytes of the current GNU long-name entry still to collect. */
  private longName: Buffer[] | undefined;
  private longNameLeft = 0;
  private nextName: string | undefined;
  private zeroBlocks = 0;
  private entries = 0;
  private total = 0;
  private codeOk = false;
  private error: string | undefined;

  push(chunk: Buffer): void {
    if (this.error !== undefined) return;
    this.total += chunk.length;
    let data = chunk;
    while (data.length > 0 && this.error === undefined) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length);
        if (this.longName !== undefined && this.longNameLeft > 0) {
          const take = Math.min(this.longNameLeft, n);
          this.longName.push(data.subarray(0, take));
          this.longNameLeft -= take;
        }
        this.skip -= n;
        data = data.subarray(n);
        if (this.skip === 0 && this.longName !== undefined) {
          this.nextName = Buffer.concat(this.longName).toString('utf8').replace(/\0.*$/s, '');
          this.longName = undefined;
        }
        continue;
      }
      const need = BLOCK - this.pending.length;
      this.pending = Buffer.concat([this.pending, data.subarray(0, need)]);
      data = data.subarray(need);
      if (this.pending.length === BLOCK) {
        const block = this.pending;
        this.pending = Buffer.alloc(0);
        this.header(block);
      }
    }
  }

  end(): ArchiveVerdict {
    if (this.error !== undefined) return { ok: false, reason: this.error };
    if (this.pending.length > 0 || this.skip > 0) return { ok: false, reason: 'tar is truncated inside an entry' };
    if (this.zeroBlocks < 2) return { ok: false, reason: this.entries === 0 ? 'empty archive (no tar entries)' : 'tar has no end-of-archive marker (truncated)' };
    if (!this.codeOk) return { ok: false, reason: "no 4-byte 'code' entry (Nx needs the task's exit code)" };
    return { ok: true, entries: this.entries, tarBytes: this.total };
  }

  private header(block: Buffer): void {
    if (this.zeroBlocks >= 2) {
      // After the end marker only zero padding may follow (tar pads to its record size).
      if (block.some((b) => b !== 0)) this.error = 'data after the end-of-archive marker';
      return;
    }
    if (block.every((b) => b === 0)) {
      this.zeroBlocks++;
      return;
    }
    if (this.zeroBlocks > 0) {
      this.error = 'a lone zero block inside the archive';
      return;
    }
    const stored = parseOctal(block.subarray(148, 156));
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
    if (stored === undefined || stored !== sum) {
      this.error = `tar header ${this.entries + 1} has a bad checksum`;
      return;
    }
    const size = parseSize(block.subarray(124, 136));
    if (size === undefined) {
      this.error = `tar header ${this.entries + 1} has an unreadable size`;
      return;
    }
    const type = String.fromCharCode(block[156]!);
    let name = this.nextName ?? cString(block.subarray(0, 100));
    this.nextName = undefined;
    if (block.subarray(257, 262).toString('latin1') === 'ustar' && block[345] !== 0) name = `${cString(block.subarray(345, 500))}/${name}`;
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      this.longName = [];
      this.longNameLeft = size;
      if (this.skip === 0) this.nextName = '';
      return;
    }
    this.entries++;
    if (name === 'code' && (type === '0' || type === '\0') && size === 4) this.codeOk = true;
  }
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

function parseOctal(field: Buffer): number | undefined {
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  return /^[0-7]{1,12}$/.test(text) ? parseInt(text, 8) : undefined;
}

/** Octal, or GNU base-256 (high bit set) for sizes past 8 GiB. */
function parseSize(field: Buffer): number | undefined {
  if ((field[0]! & 0x80) !== 0) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  return parseOctal(field);
}

/** Checks a stored or uploaded Nx cache archive (gzip + tar) in a file, streaming. */
export async function checkNxArchiveFile(path: string): Promise<ArchiveVerdict> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream(path, { start: 0, end: 1 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', reject);
  });
  if (head.length === 0) return { ok: false, reason: 'empty body' };
  if (head[0] !== 0x1f || head[1] !== 0x8b) return { ok: false, reason: 'not gzip (Nx uploads a gzip-compressed tar)' };
  const checker = new TarChecker();
  try {
    await new Promise<void>((resolve, reject) => {
      const gunzip = createGunzip();
      createReadStream(path).on('error', reject).pipe(gunzip);
      gunzip.on('data', (chunk: Buffer) => checker.push(chunk));
      gunzip.on('end', resolve);
      gunzip.on('error', reject);
    });
  } catch (error) {
    return { ok: false, reason: `gzip stream is broken (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
  return checker.end();
}
