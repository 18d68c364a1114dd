// The demo's config: deploys examples/fastapi to the local lab (`npm run lab -- up 3`).
// Copy this file as a starting point; `shipit init` writes a commented one for your project.
import { existsSync, readFileSync } from 'node:fs';
import { defineConfig } from 'shipit';

interface Lab {
  hosts: { name: string; address: string }[];
  identityFile: string;
  knownHostsFile: string;
}

const LAB_FILE = process.env.SHIPIT_LAB_FILE ?? '/var/lib/shipit-lab/lab.json';

function lab(): Lab {
  if (!existsSync(LAB_FILE)) throw new Error(`${LAB_FILE} not found: bring the lab up first with \`npm run lab -- up 3\``);
  return JSON.parse(readFileSync(LAB_FILE, 'utf8')) as Lab;
}

const { hosts, identityFile, knownHostsFile } = lab();

export default defineConfig({
  app: 'hello',
  build: { dir: 'examples/fastapi' },
  server: {
    preset: 'gunicorn',
    module: 'app.main:app',
    workerClass: 'uvicorn.workers.UvicornWorker',
    port: 8000,
    workers: 'auto',
    timeout: 30,
    gracefulTimeout: 20,
    keepAlive: 5,
    env: { LOG_LEVEL: 'info' },
    secrets: { DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://demo:demo-secret@db.internal/hello' },
  },
  health: { liveness: '/healthz', readiness: '/readyz', interval: '500ms', timeout: '2s', successes: 2, minHealthyTime: '2s', healthyDeadline: '60s' },
  rollout: { canary: 1, maxParallel: '50%', autoRevert: true },
  keepReleases: 5,
  ssh: { knownHostsFile, identityFiles: [identityFile], agent: false },
  environments: {
    production: { hosts: hosts.map((h) => ({ host: h.address, user: 'deploy', name: h.name })) },
  },
});
