// The baseline: a raw node:http server that reads and parses each request body like a real handler,
// stores nothing, and answers with a JSON of the same size as Mailvault's (POST 201, GET 200).
import http from 'node:http';
const created = process.env.CREATED_BODY;
const read = process.env.READ_BODY;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let status = 200;
    let body = read;
    if (req.method === 'POST') {
      try {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      status = 201;
      body = created;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`baseline listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
