import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * TCP connections (in any state but LISTEN, so connect attempts count too) that process `pid` holds
 * to `port` on this machine, read from /proc: what the kernel sees, whatever the process thinks it has.
 */
export async function tcpConnectionsTo(pid: number, port: number): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const inodes = new Set<string>();
  await Promise.all(
    fds.map(async (fd) => {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    }),
  );
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [remote, state, inode] = [fields[2], fields[3], fields[9]];
      if (remote?.endsWith(`:${portHex}`) && state !== '0A' && inode && inodes.has(inode)) count++;
    }
  }
  return count;
}
