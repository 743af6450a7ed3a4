import { setTimeout as sleep } from 'node:timers/promises';
import { tcpConnectionsTo } from '../../test/support/sockets.ts';

export type ConnectionPeak = { peak: number; samples: number };

/**
 * Samples, every `everyMs`, the TCP connections each process holds to `port` as the kernel sees them
 * (connect attempts included): a reconnect storm or a leaked client shows even if the pool's own
 * count looks right. stop() resolves with each process's peak.
 */
export function sampleConnections(pids: number[], port: number, everyMs: number): { stop(): Promise<Map<number, ConnectionPeak>> } {
  const peaks = new Map<number, ConnectionPeak>(pids.map((pid) => [pid, { peak: 0, samples: 0 }]));
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const counts = await Promise.all(pids.map((pid) => tcpConnectionsTo(pid, port)));
      pids.forEach((pid, i) => {
        const p = peaks.get(pid) as ConnectionPeak;
        p.peak = Math.max(p.peak, counts[i] ?? 0);
        p.samples++;
      });
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      sampling = false;
      await loop;
      return peaks;
    },
  };
}
