/**
 * The values no output may show: every secret's, and those of plain env variables whose names say they are
 * secret (`DB_PASSWORD`, `STRIPE_SECRET_KEY`, `GITHUB_TOKEN`…). A secret put in server.env by mistake still goes
 * to shared/env (0640, readable by the app's group) and is not refused, since names like `TOKEN_TTL` exist too;
 * but plan, deploy, rollback, logs and error messages redact it like a secret (found by a new-user trial: plan
 * printed such a value in full, and `logs` showed it wherever the app logged it).
 */
export const SECRET_NAME = /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|(^|_)KEY$/i;

/**
 * The shortest value redaction handles. Redaction replaces every occurrence of a value in all output, so a short
 * one garbles it (a secret `ab` blanked every "ab" of plan, logs and errors, found by a new-user trial). Below it,
 * a value under a secret-looking env name is taken as not secret (`TOKEN_TTL=3600`, `API_KEY_HEADER=X`), and a
 * value in server.secrets is refused by validation (fields.ts), as GitLab refuses to mask a variable under 8
 * characters: a value that short is either no secret (it belongs in env) or one guessed in seconds.
 */
export const MIN_SECRET_LENGTH = 8;

/** Too short to be redacted: refused in server.secrets, not secret in server.env. Counted in characters. */
export const tooShortToRedact = (value: string) => value !== '' && [...value].length < MIN_SECRET_LENGTH;

export function sensitiveValues(server: { env?: Record<string, unknown> | undefined; secrets?: Record<string, unknown> | undefined } | undefined): string[] {
  const values = Object.values(server?.secrets ?? {}).filter((v): v is string => typeof v === 'string' && v !== '' && !tooShortToRedact(v));
  for (const [key, value] of Object.entries(server?.env ?? {})) {
    if (typeof value === 'string' && value !== '' && !tooShortToRedact(value) && SECRET_NAME.test(key)) values.push(value);
  }
  return values;
}
