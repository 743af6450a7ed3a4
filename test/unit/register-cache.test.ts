import { describe, expect, it } from 'vitest';
import { createRegisterCache, forgetAfter, type RegisterChanges } from '../../adapters/postgres/register-cache.ts';

/** A LISTEN connection as the read model sees it: up or down, and a change now and then. */
function changes(listening = true) {
  const watchers: (() => void)[] = [];
  const source: RegisterChanges & { up: boolean; change(): void } = {
    up: listening,
    isListening: () => source.up,
    watchRegister: (watch) => void watchers.push(watch),
    change: () => watchers.forEach((w) => w()),
  };
  return source;
}

/** A register read that counts its calls and answers what the register holds now. */
function register(initial: Record<string, string[]>) {
  const held = { ...initial };
  const loader = { calls: 0, held, load: async (nhs: string) => (loader.calls++, { plans: [...(held[nhs] ?? [])] }) };
  return loader;
}

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('the register read model', () => {
  it('reads the register once for repeated lookups while it listens, and hands out frozen values', async () => {
    const source = changes();
    const cache = createRegisterCache<{ plans: string[] }>({ maxEntries: 10, ttlMs: 60_000 }, source);
    const reg = register({ '9990000018': ['CPP'] });
    const first = await cache.read('9990000018', reg.load);
    const second = await cache.read('9990000018', reg.load);
    expect(second).toBe(first);
    expect(reg.calls).toBe(1);
    expect(Object.isFrozen(first) && Object.isFrozen(first.plans)).toBe(true);
    expect(cache.stats()).toEqual({ entries: 1, hits: 1, misses: 1 });
  });

  it('forgets everything on a change, and reads again', async () => {
    const source = changes();
    const cache = createRegisterCache<{ plans: string[] }>({ maxEntries: 10, ttlMs: 60_000 }, source);
    const reg = register({ '9990000018': ['CPP'] });
    await cache.read('9990000018', reg.load);
    reg.held['9990000018'] = [];
    source.change();
    expect(await cache.read('9990000018', reg.load)).toEqual({ plans: [] });
    expect(reg.calls).toBe(2);
  });

  it('does not keep a read that was on its way when a change came', async () => {
    const source = changes();
    const cache = createRegisterCache<{ plans: string[] }>({ maxEntries: 10, ttlMs: 60_000 }, source);
    const slow = deferred<{ plans: string[] }>();
    const reading = cache.read('9990000018', () => slow.promise);
    source.change();
    slow.resolve({ plans: ['CPP (read before the change)'] });
    expect(await reading).toEqual({ plans: ['CPP (read before the change)'] });
    const reg = register({ '9990000018': [] });
    expect(await cache.read('9990000018', reg.load)).toEqual({ plans: [] });
    expect(reg.calls).toBe(1);
  });

  it('serves nothing from memory while it cannot hear changes, and keeps nothing read meanwhile', async () => {
    const source = changes();
    const cache = createRegisterCache<{ plans: string[] }>({ maxEntries: 10, ttlMs: 60_000 }, source);
    const reg = register({ '9990000018': ['CPP'] });
    await cache.read('9990000018', reg.load);
    source.up = false;
    await cache.read('9990000018', reg.load);
    await cache.read('9990000018', reg.load);
    expect(reg.calls).toBe(3);
    source.up = true;
    await cache.read('9990000018', reg.load);
    await cache.read('9990000018', reg.load);
    expect(reg.calls).toBe(4);
  });

  it('serves an entry for at most ttlMs, and lets the least recently read go past maxEntries', async () => {
    let now = 0;
    const cache = createRegisterCache<{ plans: string[] }>({ maxEntries: 2, ttlMs: 1_000, now: () => now }, changes());
    const reg = register({});
    await cache.read('a', reg.load);
    now = 999;
    await cache.read('a', reg.load);
    expect(reg.calls).toBe(1);
    now = 1_000;
    await cache.read('a', reg.load);
    expect(reg.calls).toBe(2);
    await cache.read('b', reg.load);
    await cache.read('a', reg.load); // a is now the most recently read
    await cache.read('c', reg.load); // b goes
    expect(cache.stats().entries).toBe(2);
    const calls = reg.calls;
    await cache.read('a', reg.load);
    await cache.read('c', reg.load);
    expect(reg.calls).toBe(calls);
    await cache.read('b', reg.load);
    expect(reg.calls).toBe(calls + 1);
  });

  it('is off with 0 entries', async () => {
    const cache = createRegisterCache<{ plans: string[] }>({ maxEntries: 0, ttlMs: 60_000 }, changes());
    const reg = register({});
    await cache.read('a', reg.load);
    await cache.read('a', reg.load);
    expect(reg.calls).toBe(2);
  });

  it('forgets after a store method has finished, whether it succeeded or failed', async () => {
    let forgotten = 0;
    const store = {
      writes: 0,
      async put(n: number) {
        this.writes += n;
        return this.writes;
      },
      async fail() {
        throw new Error('refused');
      },
      async read() {
        return 'untouched';
      },
    };
    const wrapped = forgetAfter(store, ['put', 'fail'], () => forgotten++);
    expect(await wrapped.put(2)).toBe(2);
    expect(store.writes).toBe(2);
    expect(forgotten).toBe(1);
    await expect(wrapped.fail()).rejects.toThrow('refused');
    expect(forgotten).toBe(2);
    expect(await wrapped.read()).toBe('untouched');
    expect(forgotten).toBe(2);
  });

  it('wraps a class instance too (an upload session), keeping its prototype methods and its state', async () => {
    class Session {
      committed = 0;
      async commit() {
        return ++this.committed;
      }
      async stage() {
        return 'staged';
      }
    }
    let forgotten = 0;
    const session = forgetAfter(new Session(), ['commit'], () => forgotten++);
    expect(await session.commit()).toBe(1);
    expect(session.committed).toBe(1);
    expect(forgotten).toBe(1);
    expect(await session.stage()).toBe('staged');
    expect(forgotten).toBe(1);
  });
});
