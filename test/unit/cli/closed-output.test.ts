import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `shipit deploy production | head -3`: once head exits, every write to stdout fails with EPIPE. Unhandled,
 * that error killed shipit where it stood (a rollback on the lab: one host of three switched, lock left held,
 * nothing reverted). The CLI's main() now drops the output instead and runs to its end. Run here as a real
 * process (tsx on src/cli/main.ts) whose stdout reader is gone before it prints anything.
 */
const ROOT = join(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'shipit-closed-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a stdout whose reader went away does not kill the run: exit 0, no unhandled EPIPE', async () => {
  writeFileSync(join(dir, 'app.js'), 'export function handler() {}\n');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(
    join(dir, 'deploy.config.mjs'),
    `export default { app: 'hello', build: { dir: '.' }, server: { preset: 'node', module: 'app.js', port: 8000 },
  environments: { production: { hosts: ['web1', 'web2'] } } };\n`,
  );
  const script = join(dir, 'run.mts');
  writeFileSync(
    script,
    `import { main } from ${JSON.stringify(join(ROOT, 'src/cli/main.ts'))};
await main(['node', 'shipit', 'units', 'production', '-c', ${JSON.stringify(join(dir, 'deploy.config.mjs'))}]);
process.stderr.write('ran to the end\\n');
`,
  );
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone (head exited) before the first line
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(stderr).not.toContain('EPIPE');
  expect(stderr).toContain('ran to the end');
  expect(code).toBe(0);
}, 30_000);
