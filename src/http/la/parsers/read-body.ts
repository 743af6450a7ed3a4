import type { Request } from 'express';
import { isUtf8 } from 'node:buffer';
import { invalidRequest, payloadTooLarge } from '../../../domain/app-error.ts';

/**
 * The length of an incomplete UTF-8 character at the end of `bytes` (0 to 3): the bytes a chunk
 * boundary cut off from the character they begin, to be read with the next chunk.
 */
function incompleteTail(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const needs = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return needs > back ? back : 0;
  }
  return 0;
}

/** Where the first byte that does not belong to a well-formed UTF-8 character is (Unicode 15, table 3-7). */
export function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    const [length, low, high] =
      b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf]
      : b === 0xe0 ? [3, 0xa0, 0xbf]
      : (b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef ? [3, 0x80, 0xbf]
      : b === 0xed ? [3, 0x80, 0x9f] // not a surrogate
      : b === 0xf0 ? [4, 0x90, 0xbf]
      : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf]
      : b === 0xf4 ? [4, 0x80, 0x8f] // not past U+10FFFF
      : [0, 0, 0];
    if (length === 0 || i + length > bytes.length) return i;
    const second = bytes[i + 1] as number;
    if (second < low || second > high) return i;
    for (let k = 2; k < length; k++) if (((bytes[i + k] as number) & 0xc0) !== 0x80) return i;
    i += length;
  }
  return -1;
}

const notUtf8 = (offset: number) =>
  invalidRequest(
    [{ diagnostics: `CPF01 unreadable batch: the body is not valid UTF-8 at byte ${offset} (counting from 0); nothing of the batch was loaded`, expression: ['body'] }],
    'structure',
  );

/**
 * The request body as UTF-8 text chunks, refused with 413 once it passes the limit. Never buffered
 * whole. Bytes that are not well-formed UTF-8 refuse the batch (CPF01, with their offset): decoded
 * with replacement, they would become U+FFFD in a child's name, shown to clinicians as if the LA had
 * sent it.
 */
export async function* readBodyText(req: Request, maxBytes: number): AsyncGenerator<string> {
  const declared = Number(req.get('content-length') ?? NaN);
  if (declared > maxBytes) throw payloadTooLarge(`body is larger than ${maxBytes} bytes`);
  let bytes = 0;
  // The start of a character the previous chunk ended in the middle of, and where it starts in the body.
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw payloadTooLarge(`body is larger than ${maxBytes} bytes`);
    const start = bytes - chunk.length - carry.length;
    const joined = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const complete = joined.length - incompleteTail(joined);
    const whole = joined.subarray(0, complete);
    if (!isUtf8(whole)) throw notUtf8(start + firstInvalidUtf8(whole));
    carry = Buffer.from(joined.subarray(complete));
    if (whole.length) yield whole.toString('utf8');
  }
  if (carry.length) throw notUtf8(bytes - carry.length);
}
