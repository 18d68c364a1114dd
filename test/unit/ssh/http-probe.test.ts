import { HttpResponseReader, formatRequest } from '../../../src/ssh/http-probe.js';

function read(parts: string[], maxBody?: number): { complete: boolean; response: ReturnType<HttpResponseReader['finish']>; truncated: boolean } {
  const reader = new HttpResponseReader(maxBody);
  let complete = false;
  for (const part of parts) complete = reader.push(Buffer.from(part, 'latin1')) || complete;
  return { complete, response: reader.finish(), truncated: reader.truncated };
}

describe('formatRequest', () => {
  it('is an HTTP/1.1 GET to 127.0.0.1:port asking the server to close', () => {
    expect(formatRequest(8000, '/up?full=1')).toBe(
      'GET /up?full=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: shipit-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    );
  });

  it.each(['up', '/a b', '/a\r\nX: y', '', '/é'])('refuses %j', (path) => {
    expect(() => formatRequest(80, path)).toThrow('probe path');
  });
});

describe('HttpResponseReader', () => {
  it('reads a Content-Length body and is complete without EOF, across chunk boundaries', () => {
    const { complete, response } = read(['HTTP/1.1 200 OK\r\nContent-', 'Length: 5\r\n\r', '\nhel', 'lo']);
    expect(complete).toBe(true);
    expect(response).toEqual({ status: 200, body: 'hello' });
  });

  it('decodes chunked bodies split anywhere, ignoring extensions and trailers', () => {
    const wire = 'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\nnot \r\n5\r\nready\r\n0\r\nX-T: 1\r\n\r\n';
    for (let cut = 1; cut < wire.length; cut++) {
      const { complete, response } = read([wire.slice(0, cut), wire.slice(cut)]);
      expect([complete, response]).toEqual([true, { status: 503, body: 'not ready' }]);
    }
  });

  it('reads to EOF when the length is not announced', () => {
    const { complete, response } = read(['HTTP/1.0 404 Not Found\r\n\r\nno', 'pe']);
    expect(complete).toBe(false);
    expect(response).toEqual({ status: 404, body: 'nope' });
  });

  it('has no body for 204 and 304', () => {
    expect(read(['HTTP/1.1 204 No Content\r\n\r\n'])).toMatchObject({ complete: true, response: { status: 204, body: '' } });
  });

  it('skips interim 1xx responses', () => {
    expect(read(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx']).response).toEqual({ status: 200, body: 'x' });
  });

  it('stops at the body cap and says so', () => {
    const { complete, response, truncated } = read(['HTTP/1.1 200 OK\r\n\r\n', 'x'.repeat(10)], 4);
    expect([complete, truncated, response.body]).toEqual([true, true, 'xxxx']);
  });

  it('accepts a body cut short at EOF (the status is what counts)', () => {
    expect(read(['HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\noops']).response).toEqual({ status: 500, body: 'oops' });
  });

  it('rejects what is not HTTP', () => {
    expect(() => read(['SSH-2.0-OpenSSH_9.2\r\n\r\n'])).toThrow('malformed HTTP status line');
    expect(() => new HttpResponseReader().finish()).toThrow('empty reply from server');
    expect(() => read(['HTTP/1.1 200'])).toThrow('malformed HTTP response');
    expect(() => read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'])).toThrow('malformed chunked encoding');
  });
});
