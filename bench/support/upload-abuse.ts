import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { postStream } from './http.ts';

export const SLOW_UPLOADS = 10;
const TRICKLE_EVERY_MS = 2_000;
export const BIG_LINE_MIB = 200;
const CHUNK = 64 * 1024;
// Long enough for nine 429s on a loaded machine; the abuse goes on regardless after it.
const SETTLE_MS = 3_000;

export type BigLineResult = { status: string; ms: number; bodySent: boolean; result?: string; processed?: number; rejected?: number };
export type AbuseResult = { slowUploads: Record<string, number>; bigLine: BigLineResult };

type SlowUpload = { answer: Promise<string>; answered(): boolean; end(): void };

/** An upload that sends one good line, then a byte every 2 s: a stuck or hostile LA system. */
function slowUpload(url: string, headers: Record<string, string>, firstLine: string): SlowUpload {
  const req = request(`${url}/la/v1/uploads`, { method: 'POST', headers, agent: false });
  req.write(`${firstLine}\n`);
  const trickle = setInterval(() => req.write(' '), TRICKLE_EVERY_MS);
  let outcome: string | undefined;
  let settle: (what: string) => void = () => undefined;
  const answer = new Promise<string>((resolve) => {
    settle = (what) => {
      clearInterval(trickle);
      outcome ??= what;
      resolve(outcome);
    };
  });
  req.once('response', (res) => {
    res.resume();
    settle(String(res.statusCode));
    req.destroy();
  });
  req.on('error', () => settle('connection error'));
  req.once('close', () => settle('connection closed'));
  // Destroying a request that has had no answer raises 'socket hang up': the outcome is fixed first.
  const end = () => {
    settle('no answer by the end of the phase');
    req.destroy();
  };
  return { answer, answered: () => outcome !== undefined, end };
}

/** One NDJSON line of BIG_LINE_MIB with no newline, made as it is sent; never held whole here either. */
function* bigLine(): Generator<Buffer> {
  const filler = Buffer.alloc(CHUNK, 'a');
  yield Buffer.from('{"familyName":"');
  for (let sent = 0; sent < BIG_LINE_MIB * 1024 * 1024; sent += CHUNK) yield filler;
}

async function sendBigLine(url: string, headers: Record<string, string>): Promise<BigLineResult> {
  const started = performance.now();
  try {
    const reply = await postStream(`${url}/la/v1/uploads`, headers, bigLine());
    const ms = Math.round(performance.now() - started);
    const ack = (() => {
      try {
        return JSON.parse(reply.body) as { result?: string; processed?: number; rejected?: number };
      } catch {
        return {};
      }
    })();
    return { status: String(reply.status), ms, bodySent: reply.sentAt !== undefined, result: ack.result, processed: ack.processed, rejected: ack.rejected };
  } catch {
    return { status: 'connection error', ms: Math.round(performance.now() - started), bodySent: false };
  }
}

const tally = (outcomes: string[]) => outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});

/**
 * LA systems abusing uploads on one instance: SLOW_UPLOADS slow uploads at once from one LA (one of
 * them takes its upload slot, the rest are refused), then, once they have been answered, one upload
 * of a single huge line from another. Resolves when the huge line has started; stop() cuts the slow
 * ones off and reports what each got.
 */
export async function startUploadAbuse(url: string, tokens: { slow: string; bigLine: string }, firstLines: string[]): Promise<{ stop(): Promise<AbuseResult> }> {
  const headers = (token: string, sequenceNumber: number) => ({
    authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'x-sequence-number': String(sequenceNumber),
  });
  const slow = Array.from({ length: SLOW_UPLOADS }, (_, i) => slowUpload(url, headers(tokens.slow, i + 1), firstLines[i % firstLines.length] ?? '{}'));
  const until = performance.now() + SETTLE_MS;
  while (slow.filter((s) => s.answered()).length < SLOW_UPLOADS - 1 && performance.now() < until) await sleep(20);
  const big = sendBigLine(url, headers(tokens.bigLine, 1));
  return {
    async stop() {
      for (const s of slow) s.end();
      return { slowUploads: tally(await Promise.all(slow.map((s) => s.answer))), bigLine: await big };
    },
  };
}
