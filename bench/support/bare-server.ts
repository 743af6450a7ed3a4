import { createServer } from 'node:http';

// The ceiling: node:http answering every request with the same bytes, nothing else. Run as its own
// process so that it, like the service, has a core to itself.
const body = Buffer.from(process.env.BARE_BODY ?? '{}');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/fhir+json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` }));
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
