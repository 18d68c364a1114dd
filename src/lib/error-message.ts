/** One line for an unknown thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** `message` as said of `host`: prefixed with its name unless it already starts with it. */
export function hostMessage(host: string, message: string): string {
  return message.startsWith(`${host}: `) ? message : `${host}: ${message}`;
}

/**
 * The first line of Node's error for a package that shipit requires when a command needs it (ssh2, jiti) and
 * is not installed, or null. A relative or absolute path is not a dependency: that stays an unexpected error.
 */
export function missingDependency(error: unknown): string | null {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  if ((code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') || typeof message !== 'string') return null;
  const first = message.split('\n')[0]!;
  return /^Cannot find (?:module|package) '[^./][^']*'/.test(first) ? first : null;
}
