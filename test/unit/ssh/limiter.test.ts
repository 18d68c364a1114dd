import { Limiter } from '../../../src/ssh/limiter.js';

describe('Limiter', () => {
  it('grants up to its size, then queues in order', async () => {
    const limiter = new Limiter(2);
    const order: string[] = [];
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    const c = limiter.acquire().then((release) => (order.push('c'), release));
    const d = limiter.acquire().then((release) => (order.push('d'), release));
    await Promise.resolve();
    expect(order).toEqual([]);
    a();
    a(); // releasing twice frees one slot only
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(['c', 'd']);
  });

  it('stops waiting when aborted, and gives the slot to the next waiter', async () => {
    const limiter = new Limiter(1);
    const release = await limiter.acquire();
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    const next = limiter.acquire();
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    release();
    (await next)();
    await expect(limiter.acquire(controller.signal)).rejects.toThrow('stop');
  });
});
