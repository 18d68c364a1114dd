import { sensitiveValues } from '../../../src/config/sensitive.js';
import { collectSecrets } from '../../../src/config/validate.js';

describe('values no output may show', () => {
  it("are the secrets', and those an env gives to names that say they are secret, when long enough to be one", () => {
    const server = {
      secrets: { DATABASE_URL: 'postgres://app:s3cret@db/app', EMPTY: '' },
      env: {
        DB_PASSWORD: 'hunter2-PLAINTEXT',
        STRIPE_SECRET_KEY: 'sk_live_0123456789',
        GITHUB_TOKEN: 'ghp_abcdefghijkl',
        SIGNING_KEY: 'k-0123456789',
        TOKEN_TTL: '3600',
        LOG_LEVEL: 'debug-verbose-mode',
        KEYBOARD_LAYOUT: 'us-international',
        RETRIES: 3,
      },
    };
    expect(sensitiveValues(server)).toEqual(['postgres://app:s3cret@db/app', 'hunter2-PLAINTEXT', 'sk_live_0123456789', 'ghp_abcdefghijkl', 'k-0123456789']);
    expect(sensitiveValues(undefined)).toEqual([]);
  });

  it('are never shorter than redaction can handle: a short value would blank out every occurrence of it', () => {
    expect(sensitiveValues({ secrets: { PIN: 'ab', OK: 'abcdefgh' }, env: { API_TOKEN: 'short' } })).toEqual(['abcdefgh']);
    expect(collectSecrets({ server: { secrets: { PIN: 'ab', OK: 'abcdefgh' } } })).toEqual(['abcdefgh']);
  });

  it('are found anywhere in a raw config for its error messages: top level and per environment', () => {
    const raw = {
      server: { env: { API_KEY: 'top-level-api-key', PORT_NAME: 'http-alt-port' }, secrets: { A: 'secret-a' } },
      environments: { staging: { server: { env: { DB_PASSWORD: 'staging-password' } } } },
    };
    expect(collectSecrets(raw).sort()).toEqual(['secret-a', 'staging-password', 'top-level-api-key']);
  });
});
