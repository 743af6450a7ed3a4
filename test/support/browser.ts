import { existsSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium; CI installs it (.ci/run). CHROMIUM_PATH points elsewhere when needed. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches headless Chromium, or fails loudly: a missing browser must never pass as a skipped test. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}. The browser tests need it: ` +
        'run `apt-get update && apt-get install -y --no-install-recommends chromium` (as .ci/run does), or set CHROMIUM_PATH.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A TCP port that was free a moment ago, for an instance that must come back on the same address. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Waits until a JavaScript expression is truthy in the page (string form: the test tsconfig has no DOM types). */
export async function waitInPage(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  // Passed as a function, not a string: Playwright compiles a string predicate inside the page with
  // eval, which the console's Content-Security-Policy rightly forbids.
  const predicate = new Function(`return (${expression});`) as () => unknown;
  await page.waitForFunction(predicate, undefined, { timeout: timeoutMs, polling: 50 });
}

/** Everything the page wrote to its console and every uncaught error, to assert the page stays quiet. */
export function watchConsole(page: Page): string[] {
  const messages: string[] = [];
  page.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => messages.push(`pageerror: ${error.message}`));
  return messages;
}

/**
 * A TCP proxy in front of the service whose network can go silent: freeze() stops every byte both ways
 * without closing anything (as a dead NAT or Wi-Fi does), and holds new connections; thaw() drops the
 * frozen connections and lets the held ones through.
 */
export async function startFreezableProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  const open = new Set<Socket>();
  let held: Socket[] = [];
  let frozen = false;
  const join = (client: Socket) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        open.delete(socket);
        if (!frozen) (socket === client ? upstream : client).destroy(); // a frozen network carries no close either
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = createServer((client) => {
    if (!frozen) return join(client);
    client.pause();
    client.on('error', () => client.destroy());
    held.push(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
      for (const socket of open) {
        socket.unpipe();
        socket.pause();
      }
    },
    thaw() {
      for (const socket of open) socket.destroy();
      frozen = false;
      const waiting = held;
      held = [];
      for (const client of waiting) join(client);
    },
    async close() {
      for (const socket of [...open, ...held]) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
