import type { Request } from 'express';
import { StringDecoder } from 'node:string_decoder';
import { payloadTooLarge } from '../../../domain/app-error.ts';

/** The request body as UTF-8 text chunks, refused with 413 once it passes the limit. Never buffered whole. */
export async function* readBodyText(req: Request, maxBytes: number): AsyncGenerator<string> {
  const declared = Number(req.get('content-length') ?? NaN);
  if (declared > maxBytes) throw payloadTooLarge(`body is larger than ${maxBytes} bytes`);
  const decoder = new StringDecoder('utf8');
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw payloadTooLarge(`body is larger than ${maxBytes} bytes`);
    yield decoder.write(chunk);
  }
  const rest = decoder.end();
  if (rest) yield rest;
}
