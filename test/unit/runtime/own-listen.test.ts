import { appListensItself } from '../../../src/runtime/primary.js';

describe('appListensItself: which listen() a worker reported is the app\'s own server', () => {
  it("under socket activation every port is the app's (the runtime's listen bypasses node:cluster)", () => {
    expect(appListensItself({ fd: 3, inherited: true }, { port: 8462, addressType: 4 })).toBe(true);
  });

  it("on a configured port, that port is the runtime's and any other the app's", () => {
    expect(appListensItself({ port: 8461 }, { port: 8461, addressType: 4 })).toBe(false);
    expect(appListensItself({ port: 8461, host: '127.0.0.1' }, { port: 3000, addressType: 4 })).toBe(true);
    // Port 0 (any free port: the tests) cannot tell the runtime's listen from the app's: never warned.
    expect(appListensItself({ port: 0 }, { port: 40123, addressType: 4 })).toBe(false);
  });

  it('a unix socket or fd has no port to warn about', () => {
    expect(appListensItself({ fd: 3, inherited: true }, { addressType: -1 })).toBe(false);
    expect(appListensItself({ fd: 3 }, { port: -1, addressType: -1 })).toBe(false);
  });
});
