import { describe, expect, it } from 'vitest';
import { createServiceLogger } from './logger.js';

describe('createServiceLogger', () => {
  it('never writes request bytes carried by an error, at any level or depth', () => {
    const lines: string[] = [];
    const logger = createServiceLogger({ service: 'demo', level: 'trace', destination: { write: (l: string) => void lines.push(l) } });
    const raw = Buffer.from('GET / HTTP/1.1\r\nAuthorization: Bearer s3cr3t\r\nCookie: sid=c00kie\r\n\r\n');
    const cause = Object.assign(new Error('parse'), { rawPacket: raw });
    const error = Object.assign(new Error('Header overflow', { cause }), {
      code: 'HPE_HEADER_OVERFLOW',
      rawPacket: raw,
      body: new Uint8Array(raw),
      nested: { bytes: raw },
    });
    logger.trace({ err: error }, 'client error');
    const [line] = lines;
    const record = JSON.parse(line!) as { err: Record<string, unknown> };
    expect(record.err).toMatchObject({ type: 'Error', message: expect.stringContaining('Header overflow'), code: 'HPE_HEADER_OVERFLOW' });
    expect(record.err).not.toHaveProperty('rawPacket');
    expect(record.err).not.toHaveProperty('body');
    expect(line).not.toContain('s3cr3t');
    expect(line).not.toContain('c00kie');
    // Buffers serialize as their bytes in decimal: nothing of that shape may remain either.
    expect(line).not.toContain('"Buffer"');
  });
});
