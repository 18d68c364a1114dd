// Guards the jest setup: ESM-only dependencies must load in the unit project as they do in the CLI.
import { execa } from 'execa';
import { Listr } from 'listr2';

describe('ESM-only dependencies under jest', () => {
  it('runs a process with execa', async () => {
    const { stdout } = await execa('node', ['-e', 'process.stdout.write("hi")']);
    expect(stdout).toBe('hi');
  });
  it('constructs a listr2 task list', async () => {
    const seen: string[] = [];
    await new Listr([{ title: 'a', task: () => void seen.push('a') }], { renderer: 'silent' }).run();
    expect(seen).toEqual(['a']);
  });
});
