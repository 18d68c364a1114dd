/**
 * The values no output may show: every secret's, and those of plain env variables whose names say they are
 * secret (`DB_PASSWORD`, `STRIPE_SECRET_KEY`, `GITHUB_TOKEN`…). A secret put in server.env by mistake still goes
 * to shared/env (0640, readable by the app's group) and is not refused, since names like `TOKEN_TTL` exist too;
 * but plan, deploy, rollback, logs and error messages redact it like a secret (found by a new-user trial: plan
 * printed such a value in full, and `logs` showed it wherever the app logged it).
 */
export const SECRET_NAME = /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|(^|_)KEY$/i;

/**
 * A name matches but the value is too short or too plain to be a secret (`TOKEN_TTL=3600`, `API_KEY_HEADER=X`):
 * redacting it would blank out every "3600" in the output instead.
 */
const MIN_SECRET_LENGTH = 8;

export function sensitiveValues(server: { env?: Record<string, unknown> | undefined; secrets?: Record<string, unknown> | undefined } | undefined): string[] {
  const values = Object.values(server?.secrets ?? {}).filter((v): v is string => typeof v === 'string' && v !== '');
  for (const [key, value] of Object.entries(server?.env ?? {})) {
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH && SECRET_NAME.test(key)) values.push(value);
  }
  return values;
}
