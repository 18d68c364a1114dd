import { Writable } from 'node:stream';
import { jest } from '@jest/globals';
import { ListrLogger, ProcessOutput } from 'listr2';
import { ListrRenderer } from '../../../src/cli/render/listr-renderer.js';

describe('the listr2 renderer: a release renamed after the lock', () => {
  it('says under which id the deploy goes out, on a line of its own (its start printed the other one)', async () => {
    const sink = new Writable({ write: (_chunk, _enc, done) => done() }) as unknown as NodeJS.WriteStream;
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const renderer = new ListrRenderer(['web1', 'web2'], (text) => text, {
        renderer: 'test',
        rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(sink, sink) }) },
      });
      renderer.emit({ type: 'phase.started', phase: 'inspect' });
      renderer.emit({ type: 'release.renamed', from: '20261125T130000Z', to: '20261125T130000Z-02', takenOn: ['web1', 'web2'] });
      renderer.emit({ type: 'phase.finished', phase: 'inspect', durationMs: 1 });
      await renderer.close();
    } finally {
      spy.mockRestore();
    }
    expect(written).toContain('release 20261125T130000Z exists already on web1, web2 (deployed in the same second): deploying as 20261125T130000Z-02\n');
  });
});
