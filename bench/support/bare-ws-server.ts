import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

// The ceiling for alerts: a bare ws server that, on POST /publish?la=X, sends the body as one frame
// to every socket of LA X. No auth, no database, no outbox: only the fan-out itself.
const rooms = new Map<string, Set<WebSocket>>();
const server = createServer((req, res) => {
  const la = new URL(req.url ?? '/', 'http://bare').searchParams.get('la') ?? '';
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const frame = Buffer.concat(chunks).toString('utf8');
    for (const ws of rooms.get(la) ?? []) ws.send(frame);
    res.end('ok');
  });
});
const wss = new WebSocketServer({ server });
wss.on('connection', (ws, req) => {
  const la = new URL(req.url ?? '/', 'http://bare').searchParams.get('la') ?? '';
  const room = rooms.get(la) ?? new Set<WebSocket>();
  rooms.set(la, room.add(ws));
  ws.on('close', () => room.delete(ws));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, pid: process.pid }));
});
process.once('SIGTERM', () => process.exit(0));
