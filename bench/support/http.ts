import { request, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** sentAt: performance.now() when the last body byte was handed to the socket, if it was. */
export type Reply = { status: number; headers: IncomingHttpHeaders; body: string; sentAt: number | undefined };

/**
 * POSTs a body streamed from an iterable, chunked, on a connection of its own. node:http rather
 * than fetch: no client-side body or header timeouts to trip on a long batch.
 */
export async function postStream(url: string, headers: Record<string, string>, body: Iterable<Buffer>): Promise<Reply> {
  const req = request(url, { method: 'POST', headers, agent: false });
  let sentAt: number | undefined;
  const responded = new Promise<Reply>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), sentAt }));
    });
  });
  // A service that answers early (401, 413) stops reading; its answer, not the broken pipe, says why.
  pipeline(Readable.from(body), req).then(() => (sentAt = performance.now()), () => undefined);
  return responded;
}

/** A small JSON request (health checks, organisation set-up). */
export async function requestJson(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

/** Sets an LA up as it must be before it may publish: its name and both phones (Ofcom drama numbers). */
export async function setUpLa(baseUrl: string, token: string, name: string): Promise<void> {
  const { status } = await requestJson(`${baseUrl}/la/v1/organisation`, {
    method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: { name, officeHoursPhone: '0113 496 0000', edtPhone: '0113 496 0999' },
  });
  if (status !== 200) throw new Error(`setting up ${name} (PUT /la/v1/organisation) answered ${status}`);
}
