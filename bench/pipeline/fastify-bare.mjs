// A reference point: bare Fastify (no hooks, no auth, no database) answering the same JSON.
import Fastify from 'fastify';
const body = JSON.parse(process.env.BODY);
const app = Fastify();
app.get('/*', async () => body);
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`fastify listening on http://127.0.0.1:${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
