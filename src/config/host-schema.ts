/**
 * `environments.<name>.hosts`: '[user@]host[:port]' strings or { host, user?, port?, name? } objects, parsed to
 * HostTarget (default user root, port 22, name = the alias or the host as written; `written` says which of
 * user and port were given, so that the SSH config may supply the others).
 */
import * as z from 'zod';
import { isRecord, portSchema } from './fields.js';
import { SSH_USER, defaultHostName, isValidHostAddress, parseHostString } from './hosts.js';
import type { HostTarget } from './types.js';

const HOST_HELP = 'expected "[user@]host[:port]" or { host, user?, port?, name? } with a DNS name, an IPv4 address or a bracketed IPv6 address';

const hostStringSchema = z
  .string()
  .refine((value) => parseHostString(value) !== undefined, { error: `%v is not a valid host: ${HOST_HELP}` });

const hostObjectSchema = z.strictObject({
  host: z
    .string()
    .refine((value) => isValidHostAddress(value.replace(/^\[(.*)\]$/, '$1')), {
      error: '%v is not a valid host: expected a DNS name, an IPv4 or an IPv6 address',
    })
    .describe('DNS name or IP address to connect to.'),
  user: z.string().regex(SSH_USER, '%v is not a valid SSH user name').optional().describe('SSH user (default root).'),
  port: portSchema.optional().describe('SSH port (default 22).'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, '%v is not a valid host name: expected letters, digits and . _ -')
    .optional()
    .describe('Name shown in output and used by --host filters (default: the host).'),
});

export const hostSchema = z
  .union([hostStringSchema, hostObjectSchema], { error: `%v is not a valid host: ${HOST_HELP}` })
  .transform((value): HostTarget => {
    const parsed =
      typeof value === 'string'
        ? (parseHostString(value) as NonNullable<ReturnType<typeof parseHostString>>)
        : { host: value.host.replace(/^\[(.*)\]$/, '$1'), user: value.user, port: value.port, name: value.name };
    const port = parsed.port ?? 22;
    const name = ('name' in parsed ? parsed.name : undefined) ?? defaultHostName(parsed.host, port);
    return { name, host: parsed.host, user: parsed.user ?? 'root', port, written: { user: parsed.user !== undefined, port: parsed.port !== undefined } };
  });

export const hostsSchema = z
  .array(hostSchema)
  .min(1, 'needs at least one host')
  .superRefine((hosts, ctx) => {
    const byName = new Map<string, number>();
    const byAddress = new Map<string, number>();
    hosts.forEach((host, index) => {
      // Entries that failed their own check are left as written; they are reported already.
      if (!isTransformedHost(host)) return;
      const sameName = byName.get(host.name);
      if (sameName !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `is named "${host.name}" like hosts[${sameName}]: host names must be unique within an environment; set name: to tell them apart`,
        });
      } else byName.set(host.name, index);
      const address = `${host.host.toLowerCase()}:${host.port}`;
      const sameAddress = byAddress.get(address);
      if (sameAddress !== undefined && sameName === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `is the same machine as hosts[${sameAddress}] (${defaultHostName(host.host, host.port)}): deploying to it twice would race`,
        });
      } else if (sameAddress === undefined) byAddress.set(address, index);
    });
  })
  .describe('Hosts of this environment: "[user@]host[:port]" strings or { host, user?, port?, name? } objects.');

function isTransformedHost(value: unknown): value is HostTarget {
  if (!isRecord(value)) return false;
  return typeof value['name'] === 'string' && typeof value['host'] === 'string' && typeof value['port'] === 'number';
}
