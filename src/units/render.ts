/**
 * systemd units for one environment, rendered from units/*.tmpl. Pure: the same config gives byte-identical
 * files, so hosts can compare them (`cmp`) and skip daemon-reload when nothing changed.
 *
 * Layout on hosts (fixed contract): <deployTo>/releases/<id>, <deployTo>/current -> releases/<id>,
 * <deployTo>/shared/env (0640 root:<user>) and <deployTo>/shared/secrets.env (0600 <user>).
 * Units: <app>.socket owns the port; <app>.service runs the preset's server and takes the socket from it.
 */
import type { ResolvedConfig } from '../config/types.js';
import { VENV_DIR } from '../build/python-deps.js';
import { lessStepMargin, restartLimitSeconds, tenthsOfSeconds } from '../remote/scripts.js';
import { shExecStart } from './escape.js';
import { BACKLOG, commandScript, gunicornScript, nodeScript, workersShell } from './exec-start.js';
import { readTemplate, renderTemplate, type TemplateVars } from './template.js';

export { renderEnvFile } from './env-file.js';

export interface RenderedUnit {
  /** File name under /etc/systemd/system, e.g. 'hello.service'. */
  name: string;
  content: string;
}

export function serviceName(config: Pick<ResolvedConfig, 'app'>): string {
  return `${config.app}.service`;
}

export function socketName(config: Pick<ResolvedConfig, 'app'>): string {
  return `${config.app}.socket`;
}

/** `<app>.socket` and `<app>.service` for the config's preset. */
export function renderUnits(config: ResolvedConfig): RenderedUnit[] {
  return [{ name: socketName(config), content: renderSocket(config) }, { name: serviceName(config), content: renderService(config) }];
}

export function renderSocket(config: ResolvedConfig): string {
  return render('socket.tmpl', { app: config.app, listen: listenDirectives(config.server.bind, config.server.port), backlog: BACKLOG });
}

export function renderService(config: ResolvedConfig): string {
  const { server } = config;
  const workers = workersShell(server.workers);
  switch (server.preset) {
    case 'gunicorn':
      return render('gunicorn.service.tmpl', {
        ...commonServiceVars(config),
        module: server.module,
        workerClass: server.workerClass,
        path: `${config.deployTo}/current/${server.python ? VENV_DIR : '.venv'}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        workersComment: workers.comment,
        execStart: shExecStart(gunicornScript(config, workers)),
      });
    case 'command':
      return render('command.service.tmpl', {
        ...commonServiceVars(config),
        // Type=exec: start fails if the command cannot be executed; Type=notify waits for its READY=1, which
        // may come from a helper such as systemd-notify, hence NotifyAccess=all.
        serviceType: server.notify ? 'Type=notify\nNotifyAccess=all' : 'Type=exec',
        port: server.port,
        workersComment: workers.comment,
        execStart: shExecStart(commandScript(config, workers)),
      });
    case 'node':
      return render('node.service.tmpl', {
        ...commonServiceVars(config),
        module: server.module,
        port: server.port,
        timeout: server.timeout,
        gracefulTimeout: server.gracefulTimeout,
        keepAlive: server.keepAlive,
        backlog: BACKLOG,
        bootTimeout: nodeBootTimeoutSeconds(config.health.healthyDeadline),
        // systemd kills a master that stops pinging; the runtime pings at half of it.
        watchdogSec: Math.max(10, server.timeout),
        workersComment: workers.comment,
        execStart: shExecStart(nodeScript(config, workers)),
      });
  }
}

/**
 * SHIPIT_BOOT_TIMEOUT for the node unit: how long a new worker has to import the app, pass ready() and listen
 * before the runtime kills it and, at start, exits 3 with "worker failed to boot: not serving after N ms".
 *
 * It must run out before the deploy's own limit, or that message can never be the one a deploy reports: the
 * activation cuts `systemctl restart` off at restartLimitSeconds(healthyDeadline) (60 s → 55 s) and says only
 * "did not finish restarting" (the runtime's default, 60 s, was past it). The restart also holds the old
 * release's stop and node's own start before the first fork, and the runtime's exit must reach systemctl after
 * it: so the restart limit less the same margin again (lessStepMargin) (60 s → 50 s, 20 s → 11.2 s).
 *
 * It must not be shorter than that: a SIGHUP reload (`systemctl reload`) boots each new worker under this same
 * limit, next to the old ones, and a limit tighter than what a deploy tolerates would fail reloads of a slow-
 * booting app that deploys fine. Within the restart limit, the closest to it that still comes first.
 */
export function nodeBootTimeoutSeconds(healthyDeadlineMs: number): string {
  const restartMs = Number(restartLimitSeconds(healthyDeadlineMs)) * 1000;
  // Never 0, which the runtime reads as "no limit"; 0.1 s is its own floor for a 1-s healthyDeadline.
  return tenthsOfSeconds(Math.max(100, lessStepMargin(restartMs)));
}

function commonServiceVars(config: ResolvedConfig): TemplateVars {
  const startLimitBurst = Math.ceil(config.health.healthyDeadline / 1000) + 120;
  const vars = {
    app: config.app,
    user: config.server.user,
    deployTo: config.deployTo,
    // Starting may take as long as shipit waits for health; READY=1 itself comes early for gunicorn.
    timeoutStartSec: Math.ceil(config.health.healthyDeadline / 1000) + 30,
    // Longer than the drain, so that systemd never cuts a graceful stop short.
    timeoutStopSec: config.server.gracefulTimeout + 10,
    startLimitBurst,
    startLimitIntervalSec: Math.max(3600, 4 * startLimitBurst),
    protectHome: /^\/(?:home|root|run\/user)(?:\/|$)/.test(config.deployTo) ? 'read-only' : 'yes',
  };
  return { ...vars, hardening: renderTemplate(readTemplate('partials/hardening.tmpl'), vars, 'units/partials/hardening.tmpl').trimEnd() };
}

/**
 * "0.0.0.0" listens on IPv4 only, as written: a dual-stack socket would show IPv4 peers as ::ffff:a.b.c.d, which
 * breaks IPv4 entries of --forwarded-allow-ips. "::" is one dual-stack socket, whatever the host's
 * net.ipv6.bindv6only says. A specific address may not be configured yet when sockets start at boot: FreeBind.
 */
export function listenDirectives(bind: string, port: number): string {
  if (bind === '::') return `# Every IPv6 and IPv4 address, on one dual-stack socket.\nListenStream=[::]:${port}\nBindIPv6Only=both`;
  if (bind === '0.0.0.0') return `# Every IPv4 address (bind "::" for IPv6 and IPv4).\nListenStream=0.0.0.0:${port}`;
  const address = bind.includes(':') ? `[${bind}]` : bind;
  return `ListenStream=${address}:${port}\n# The address may not be configured yet when sockets start at boot.\nFreeBind=yes`;
}

function render(file: string, vars: TemplateVars): string {
  const text = renderTemplate(readTemplate(file), vars, `units/${file}`);
  return text.endsWith('\n') ? text : `${text}\n`;
}
