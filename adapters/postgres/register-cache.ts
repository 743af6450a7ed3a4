/** Where the read model hears that the register may have changed (outbox-listener.ts, migration 0021). */
export interface RegisterChanges {
  /** True while changes are being heard: only then may anything be served from memory. */
  isListening(): boolean;
  /** Called on every change, and whenever hearing stops or starts again (changes meanwhile were missed). */
  watchRegister(watch: () => void): void;
}

export type RegisterCacheOptions = {
  /** Most NHS numbers held (REGISTER_CACHE_ENTRIES); 0 turns the read model off. */
  maxEntries: number;
  /** Longest an entry is served (REGISTER_CACHE_TTL_SECONDS): a bound on staleness should a change ever go unheard. */
  ttlMs: number;
  now?: () => number;
};

export type RegisterCacheStats = { entries: number; hits: number; misses: number };

type Entry<V> = { value: V; readAt: number };

/** Freezes what is held, all the way down: an entry is shared by every lookup that reads it. */
function deepFreeze<V>(value: V): V {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * The lookup path's read model of the register (README, Performance): what the register read of an
 * NHS number last returned, plans and their LAs, kept in memory so that the next lookup of that
 * number need not read it again. Nothing here is decided from it that the database would decide
 * otherwise: it holds the rows, and visibility, routing and the audit trail are worked out from them
 * per lookup, as before.
 *
 * It is never trusted beyond what it can know:
 * - an entry is served only while the LISTEN connection is up; every register change (any statement
 *   on plans or organisations, on any instance), the connection dropping and the connection coming
 *   back each forget everything;
 * - a read that was on its way when anything was forgotten is answered but not kept, since it may
 *   have been read before the change;
 * - a change made through this instance is forgotten at once by the store that made it (forget()),
 *   without waiting for its notification, so that an LA's upload shows in this instance's next lookup;
 * - an entry is served for at most ttlMs, and the least recently read go first past maxEntries.
 */
export function createRegisterCache<V>(options: RegisterCacheOptions, changes: RegisterChanges) {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry<V>>();
  let generation = 0;
  let hits = 0;
  let misses = 0;

  const forget = () => {
    generation++;
    entries.clear();
  };
  changes.watchRegister(forget);

  return {
    forget,
    stats: (): RegisterCacheStats => ({ entries: entries.size, hits, misses }),
    /** The value for the key: from memory when it may be, otherwise from load(), kept if nothing changed meanwhile. */
    async read(key: string, load: (key: string) => Promise<V>): Promise<V> {
      if (options.maxEntries <= 0) return load(key);
      const at = now();
      const listening = changes.isListening();
      const held = entries.get(key);
      if (held) {
        entries.delete(key);
        if (listening && at - held.readAt < options.ttlMs) {
          // Re-inserted: the Map's order is the order of last reads, so eviction takes the least recent.
          entries.set(key, held);
          hits++;
          return held.value;
        }
      }
      misses++;
      const since = generation;
      const value = await load(key);
      if (listening && since === generation && changes.isListening()) {
        entries.set(key, { value: deepFreeze(value), readAt: at });
        if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value as string);
      }
      return value;
    },
  };
}

export type RegisterCache<V> = ReturnType<typeof createRegisterCache<V>>;

/**
 * Wraps the named methods of the store, in place, so that each forgets the read model once it has
 * finished (committed or failed): a change made through this instance then shows in its very next
 * lookup rather than when its notification comes back. The notification (migration 0021) still
 * tells every instance. In place, so that it serves a class instance (an upload session) as well as
 * a store object; returns the store.
 */
export function forgetAfter<T extends object>(store: T, methods: readonly (keyof T)[], forget: () => void): T {
  for (const name of methods) {
    const method = store[name] as unknown as (...args: unknown[]) => Promise<unknown>;
    (store as Record<keyof T, unknown>)[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(store, args);
      } finally {
        forget();
      }
    };
  }
  return store;
}
