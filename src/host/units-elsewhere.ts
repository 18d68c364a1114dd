import type { UnitsElsewhere } from './types.js';

/**
 * Two environments of one app on a host. Units are named after `app` alone (`<app>.service`, `<app>.socket`), so
 * staging and production both `app: 'shop'`, with their own deployTo, would share them: each deploy took the
 * units over from the other (the service switched deployTo), and removing one stopped the other. Found on the
 * host by src/remote/scripts.ts UNITS_ELSEWHERE_LINES; refused by the deploy (a prerequisite, build/release.ts,
 * exit 2), rollback (before its lock, rollout/units-elsewhere.ts, exit 2) and plan; `shipit remove` leaves such
 * units alone. Here: what is said about them, by the hosts (memory-host.ts too), the prerequisite and the CLI.
 */

/** `/srv/shop (port 8000)`: where the units serve, as the host reported it. */
export function describeElsewhere(units: UnitsElsewhere): string {
  return `${units.deployTo}${units.port ? ` (port ${units.port})` : ''}`;
}

/** What the refusal says, `where` being describeElsewhere's text (or the prerequisite's placeholder for it). */
export function unitsElsewhereMessage(app: string, deployTo: string, where: string, doing = 'deploying'): string {
  return (
    `${app}.service and ${app}.socket on this host serve ${where}, another deployTo of ${app} that holds releases ` +
    `(another environment or config with app '${app}'): ${doing} ${deployTo} would take them over from it. ` +
    `Give each environment on shared hosts its own \`app\` (e.g. '${app}-staging'; deployTo defaults to /srv/<app>), ` +
    `or take the other one off first (\`shipit remove <its environment> --yes\`); ` +
    `if ${app} moved to ${deployTo} from there, delete the releases left in that directory`
  );
}
