import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { frameChecker } from './contract.ts';
import type { TestService } from './service.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- frames are asserted on
export type Frame = { type: string; [key: string]: any };

export type StreamClient = {
  ws: WebSocket;
  frames: Frame[];
  /** Frames that did not match the AsyncAPI document: waitFor rejects with the first, and so does the test at its end. */
  violations: Error[];
  notifications(): Frame[];
  waitFor(predicate: (frames: Frame[]) => boolean, timeoutMs?: number): Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
};

/** Opens the notification stream as a duty social worker's client would. */
export async function openStream(service: TestService, options: { token?: string; ticket?: string; after?: number; team?: string }): Promise<StreamClient> {
  const url = new URL(`${service.url.replace('http', 'ws')}/la/v1/notifications/stream`);
  if (options.ticket) url.searchParams.set('ticket', options.ticket);
  if (options.after !== undefined) url.searchParams.set('after', String(options.after));
  if (options.team !== undefined) url.searchParams.set('team', options.team);
  const ws = new WebSocket(url, { headers: options.token ? { authorization: `Bearer ${options.token}` } : {} });
  const frames: Frame[] = [];
  const violations: Error[] = [];
  const check = frameChecker();
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    frames.push(frame);
    try {
      check(frame);
    } catch (error) {
      violations.push(error as Error);
    }
  });
  try {
    onTestFinished(() => {
      if (violations[0]) throw violations[0];
    });
  } catch {
    // Opened outside a test (a hook): waitFor still reports what does not match.
  }
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    violations,
    notifications: () => frames.filter((f) => f.type === 'notification'),
    closed,
    waitFor: (predicate, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          if (violations[0]) return reject(violations[0]);
          if (predicate(frames)) return resolve();
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out; frames: ${JSON.stringify(frames).slice(0, 500)}`));
          setTimeout(check, 20);
        };
        check();
      }),
  };
}

/** The status an upgrade was refused with. */
export async function refusedStatus(service: TestService, options: { token?: string; ticket?: string }): Promise<number> {
  try {
    const client = await openStream(service, options);
    client.ws.close();
  } catch (error) {
    return (error as { status?: number }).status ?? -1;
  }
  return 101;
}
