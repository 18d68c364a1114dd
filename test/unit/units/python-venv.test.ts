// With server.python the service runs from the release's virtualenv (.shipit/venv, linked to its set).
import { renderService } from '../../../src/units/render.js';
import { resolvedConfig } from './fixtures.js';

describe('units with server.python', () => {
  it('gunicorn: the virtualenv\'s python runs gunicorn; its bin/ comes first on PATH', () => {
    const unit = renderService(resolvedConfig({ preset: 'gunicorn', module: 'app.main:app', python: { systemSitePackages: true } }));
    expect(unit).toContain('Environment=PATH=/srv/hello/current/.shipit/venv/bin:/usr/local/sbin:');
    expect(unit).toMatch(/^ExecStart=\/bin\/sh -c '.*exec \.shipit\/venv\/bin\/python -m gunicorn --config \.shipit\/gunicorn\.conf\.py /m);
    // Still read-only for the service and no bytecode written at run time: the set was compiled when built.
    expect(unit).toContain('ProtectSystem=strict');
    expect(unit).toContain('PYTHONDONTWRITEBYTECODE=1');
  });

  it('gunicorn without it: Debian\'s gunicorn, as before', () => {
    const unit = renderService(resolvedConfig({ preset: 'gunicorn', module: 'app.main:app' }));
    expect(unit).toMatch(/^ExecStart=\/bin\/sh -c '.*exec gunicorn --config /m);
    expect(unit).toContain('Environment=PATH=/srv/hello/current/.venv/bin:');
  });

  it('command: the virtualenv is on PATH and in VIRTUAL_ENV for the user\'s command', () => {
    const unit = renderService(resolvedConfig({ preset: 'command', command: 'python -m uvicorn app.main:app --fd 3', python: {} }));
    expect(unit).toContain('export PATH="$$PWD/.shipit/venv/bin:$$PATH" VIRTUAL_ENV="$$PWD/.shipit/venv"');
  });
});
