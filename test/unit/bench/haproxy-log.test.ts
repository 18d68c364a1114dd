import { acceptedAt } from '../../../bench/lib/haproxy.js';

describe("the zero-downtime bench's HAProxy log: a failed request belongs to the phase it was accepted in", () => {
  it("reads httplog's accept date in local time, to the millisecond", () => {
    const line = '<134>Dec  4 22:09:02 haproxy[123]: 10.213.38.2:40312 [04/Dec/2026:22:09:01.123] fe-gunicorn be-gunicorn/web1 0/0/0/-1/1 502 204 - - SH-- 3/3/2/0/0 0/0 "GET / HTTP/1.1"';
    expect(acceptedAt(line)).toBe(new Date(2026, 11, 4, 22, 9, 1, 123).getTime());
  });

  it('has no date for a line without one (the arrival time is used then)', () => {
    expect(acceptedAt('Server be-gunicorn/web1 is DOWN, reason: Layer7 wrong status')).toBeUndefined();
    expect(acceptedAt('[04/Foo/2026:22:09:01.123]')).toBeUndefined();
  });
});
