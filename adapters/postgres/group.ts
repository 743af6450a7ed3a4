import { DatabaseWaitTimeout, isDatabaseUnavailable } from './unavailable.ts';

/** How a group of like requests is sent: several together, or one alone. */
export type GroupOptions<I, O> = {
  /** Most items sent together. */
  maxBatch: number;
  /** Most groups on their way to the database at once; further items wait and go together. */
  maxInFlight: number;
  /**
   * Longest an item may queue behind groups on their way (DB_ACQUIRE_TIMEOUT_MS): past that it fails as
   * the database being unavailable, as a caller left waiting for a pool connection does. None: no limit.
   */
  maxWaitMs?: number;
  /** Sends the items in one statement (one round trip, and for a write one transaction); one result per item, in order. */
  many(items: I[]): Promise<O[]>;
};

type Waiting<I, O> = { item: I; done: (value: O) => void; failed: (error: unknown) => void; since: number };

/**
 * Natural batching (README, Performance): nothing waits on a timer to be sent (the one timer below
 * only ends waits that went on too long). An item goes at once when fewer than maxInFlight groups
 * are on their way; otherwise it queues, and everything that queued behind a group goes as the next
 * group. Each caller's promise settles with its own result, only when the
 * statement carrying it has finished (for a write, committed). A group that fails for any reason
 * but the database being unreachable is sent again item by item, so one item the database refuses
 * cannot take others' answers with it; a group that fails wrote nothing, since it was one statement.
 */
export function createGroup<I, O>(options: GroupOptions<I, O>): (item: I) => Promise<O> {
  const pending: Waiting<I, O>[] = [];
  let inFlight = 0;
  let deadline: NodeJS.Timeout | undefined;
  const { maxWaitMs } = options;

  // One timer, for the oldest item still queued (the queue is in arrival order): groups stuck on a lock
  // must not leave the lookups behind them waiting for ever, with no pool timeout to end the wait.
  function arm(): void {
    if (deadline || maxWaitMs === undefined || pending.length === 0) return;
    deadline = setTimeout(expire, Math.max(0, (pending[0] as Waiting<I, O>).since + maxWaitMs - Date.now()));
    deadline.unref();
  }
  function expire(): void {
    deadline = undefined;
    const now = Date.now();
    while (pending.length > 0 && now - (pending[0] as Waiting<I, O>).since >= (maxWaitMs as number)) {
      (pending.shift() as Waiting<I, O>).failed(new DatabaseWaitTimeout(maxWaitMs as number));
    }
    arm();
  }

  const one = async (item: I): Promise<O> => (await options.many([item]))[0] as O;

  async function send(group: Waiting<I, O>[]): Promise<void> {
    let results: O[];
    try {
      results = await options.many(group.map((w) => w.item));
    } catch (error) {
      // Unreachable: every item would fail alike. Otherwise find the one at fault by sending each alone.
      if (group.length === 1 || isDatabaseUnavailable(error)) return void group.forEach((w) => w.failed(error));
      await Promise.all(group.map((w) => one(w.item).then(w.done, w.failed)));
      return;
    }
    if (results.length !== group.length) {
      const error = new Error(`a group of ${group.length} came back with ${results.length} results`);
      return void group.forEach((w) => w.failed(error));
    }
    group.forEach((w, i) => w.done(results[i] as O));
  }

  function pump(): void {
    while (inFlight < options.maxInFlight && pending.length > 0) {
      const group = pending.splice(0, options.maxBatch);
      inFlight++;
      void send(group).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return (item) =>
    new Promise<O>((done, failed) => {
      pending.push({ item, done, failed, since: Date.now() });
      pump();
      arm();
    });
}
