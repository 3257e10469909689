/**
 * GET /v1.0/solutions/backupRestore with a bearer token through the whole pipeline, against a raw
 * node:http server returning the same JSON, measured in the same run. Target: ratio ≥ 0.6.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { ROOT, cpuMs, spawnServer, startMailvault } from '../lib/processes.js';
import { median, type Sample } from '../lib/samples.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function load(url: string, headers: Record<string, string>, pid: number, duration = DURATION): Promise<Sample> {
  const before = cpuMs(pid);
  const r = await autocannon({ url, connections: CONNECTIONS, duration, headers });
  const cpu = cpuMs(pid) - before;
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p99: r.latency.p99, cpuUs: (cpu * 1000) / r.requests.total };
}

const mv = await startMailvault();
try {
  const token = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'token', '--data', mv.dataDir], { encoding: 'utf8' }).trim();
  const url = `${mv.base}/v1.0/solutions/backupRestore`;
  const headers = { authorization: `Bearer ${token}` };
  const body = await (await fetch(url, { headers })).text();
  const base = await spawnServer([path.join(ROOT, 'bench/pipeline/baseline.mjs')], /listening on (\S+)/, { BODY: body });
  const bare = await spawnServer([path.join(ROOT, 'bench/pipeline/fastify-bare.mjs')], /listening on (\S+)/, { BODY: body });
  try {
    await load(url, headers, mv.child.pid!, 2); // warm-up: JIT and caches
    // Alternate short rounds so background noise on a shared machine hits both sides alike.
    const rounds = { baseline: [] as Sample[], mailvault: [] as Sample[], bare: [] as Sample[] };
    for (let i = 0; i < ROUNDS; i++) {
      rounds.baseline.push(await load(`${base.base}/v1.0/solutions/backupRestore`, headers, base.child.pid!));
      rounds.mailvault.push(await load(url, headers, mv.child.pid!));
      rounds.bare.push(await load(`${bare.base}/v1.0/solutions/backupRestore`, headers, bare.child.pid!));
    }
    const fastify = median(rounds.bare);
    const baseline = median(rounds.baseline);
    const mailvault = median(rounds.mailvault);
    const ratio = mailvault.rps / baseline.rps;
    console.log(`pipeline: GET /v1.0/solutions/backupRestore with a bearer token, ${CONNECTIONS} connections, median of ${ROUNDS} alternating ${DURATION}s rounds`);
    console.log(`  raw node:http baseline  ${baseline.rps.toFixed(0)} req/s  p99 ${baseline.p99} ms  CPU ${baseline.cpuUs.toFixed(1)} µs/request`);
    console.log(`  mailvault               ${mailvault.rps.toFixed(0)} req/s  p99 ${mailvault.p99} ms  CPU ${mailvault.cpuUs.toFixed(1)} µs/request`);
    console.log(`  ratio ${ratio.toFixed(2)} (target ≥ 0.60) ${ratio >= 0.6 ? 'MET' : 'NOT MET'}`);
    console.log(`  for reference, bare Fastify with the same JSON: ${fastify.rps.toFixed(0)} req/s = ${(fastify.rps / baseline.rps).toFixed(2)} of the baseline (CPU ${fastify.cpuUs.toFixed(1)} µs/request); Mailvault = ${(mailvault.rps / fastify.rps).toFixed(2)} of bare Fastify`);
  } finally {
    await bare.stop();
    await base.stop();
  }
} finally {
  await mv.stop();
}
