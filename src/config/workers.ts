/**
 * `server.workers`: 'auto' (the host's CPU count when the service starts), a positive integer, or an integer
 * expression of `cpu` with + - * / ('2*cpu+1', the Gunicorn docs' suggestion; 'cpu/2' for an app that shares its
 * hosts with another: 'auto' for each would start twice as many workers as the hosts have CPUs). The expression is evaluated on the
 * host at service start (units render it as shell arithmetic), so it is validated here and kept as text.
 */
export type WorkersPlan =
  | { kind: 'auto' }
  | { kind: 'fixed'; count: number }
  /** `expression` is normalised: no spaces, e.g. '2*cpu+1'. */
  | { kind: 'expression'; expression: string };

export const MAX_WORKERS = 1024;

const TOKEN = /\s*(\d+|cpu|[+\-*/])/y;

/** The tokens of a `cpu` expression, or undefined when it is not one (operands and operators must alternate). */
function tokenize(text: string): string[] | undefined {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let end = 0;
  for (let match = TOKEN.exec(text); match !== null; match = TOKEN.exec(text)) {
    tokens.push(match[1] as string);
    end = TOKEN.lastIndex;
  }
  if (text.slice(end).trim() !== '' || tokens.length === 0 || tokens.length % 2 === 0) return undefined;
  const isOperator = (token: string) => token === '+' || token === '-' || token === '*' || token === '/';
  return tokens.every((token, index) => isOperator(token) === (index % 2 === 1)) ? tokens : undefined;
}

export function parseWorkers(value: unknown): WorkersPlan | undefined {
  if (value === 'auto') return { kind: 'auto' };
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 1 && value <= MAX_WORKERS ? { kind: 'fixed', count: value } : undefined;
  }
  if (typeof value !== 'string') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return parseWorkers(Number(value));
  const tokens = tokenize(value);
  if (tokens === undefined || !tokens.includes('cpu')) return undefined;
  // The unit's shell arithmetic would fail the start ("division by 0"); cpu is never 0.
  if (tokens.some((token, index) => token === '/' && Number(tokens[index + 1]) === 0)) return undefined;
  return { kind: 'expression', expression: tokens.join('') };
}

/** The worker count for `cpu` CPUs, as the unit computes it: never below 1. */
export function evaluateWorkers(plan: WorkersPlan, cpu: number): number {
  if (plan.kind === 'auto') return Math.max(1, cpu);
  if (plan.kind === 'fixed') return plan.count;
  return Math.max(1, evaluateExpression(plan.expression, cpu));
}

/**
 * The CPU counts an expression is checked at: a 1-CPU VM up to a large machine. The unit clamps a result
 * below 1 to 1 (so 'cpu-1' still runs on a 1-CPU host), which is meant for small hosts only.
 */
const CHECKED_CPUS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/**
 * An expression that is below 1 on every host (e.g. '0*cpu', 'cpu-1000'): the unit would clamp it to 1 worker
 * everywhere, which is not what it says. The value at 1 and 256 CPUs, for the config error; undefined when the
 * expression gives a worker on some host (or is not an expression).
 */
export function neverAWorker(value: unknown): { atOne: number; atMost: number } | undefined {
  const plan = parseWorkers(value);
  if (plan?.kind !== 'expression') return undefined;
  const values = CHECKED_CPUS.map((cpu) => evaluateExpression(plan.expression, cpu));
  return values.every((v) => v < 1) ? { atOne: values[0]!, atMost: values.at(-1)! } : undefined;
}

/** The expression's value, unclamped: shell arithmetic, * and / (integer, truncated) before + and -, left to right. */
function evaluateExpression(expression: string, cpu: number): number {
  const tokens = tokenize(expression) as string[];
  const terms: number[] = [];
  const signs: number[] = [1];
  let product = operand(tokens[0] as string, cpu);
  for (let i = 1; i < tokens.length; i += 2) {
    const operator = tokens[i] as string;
    const next = operand(tokens[i + 1] as string, cpu);
    if (operator === '*') product *= next;
    else if (operator === '/') product = Math.trunc(product / next);
    else {
      terms.push(product);
      signs.push(operator === '+' ? 1 : -1);
      product = next;
    }
  }
  terms.push(product);
  return terms.reduce((sum, term, index) => sum + (signs[index] as number) * term, 0);
}

function operand(token: string, cpu: number): number {
  return token === 'cpu' ? cpu : Number(token);
}
