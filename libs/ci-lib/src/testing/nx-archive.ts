import { gzipSync } from 'node:zlib';

/** A tar header of the old (v7) layout Nx's `tar::Header::new_old` writes, checksum included. */
function header(name: string, size: number, type: '0' | '5' = '0'): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write(`${(type === '5' ? 0o755 : 0o644).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  block.write('00000000000\0', 136, 'latin1');
  block.write('        ', 148, 'latin1');
  block.write(type, 156, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

export interface NxArchiveContent {
  /** Output files, path → content. */
  files?: Record<string, string | Buffer>;
  terminalOutput?: string;
  /** The task's exit code. Default 0. */
  code?: number;
}

/**
 * An archive shaped like the one Nx 23's client uploads (`http_remote_cache.rs`, `store`): gzip of
 * a tar with the outputs, `terminalOutput`, a 4-byte big-endian `code`, and two zero blocks.
 */
export function makeNxArchive(content: NxArchiveContent = {}): Buffer {
  const parts: Buffer[] = [];
  const add = (name: string, data: Buffer) => {
    parts.push(header(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  };
  for (const [name, data] of Object.entries(content.files ?? {})) add(name, Buffer.isBuffer(data) ? data : Buffer.from(data));
  add('terminalOutput', Buffer.from(content.terminalOutput ?? ''));
  const code = Buffer.alloc(4);
  code.writeUInt32BE(content.code ?? 0);
  add('code', code);
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}
