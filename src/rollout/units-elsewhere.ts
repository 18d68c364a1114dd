import { describeElsewhere, unitsElsewhereMessage } from '../host/units-elsewhere.js';
import type { UnitsElsewhere } from '../host/types.js';
import { ShipitError } from '../lib/errors.js';

/**
 * Rollback: refused before its lock when a host's units serve another deployTo (nothing changed, exit 2): another
 * environment of the app on that host (src/host/units-elsewhere.ts).
 */
export function refuseUnitsElsewhere(fleet: ReadonlyMap<string, { unitsElsewhere?: UnitsElsewhere }>, app: string, deployTo: string): void {
  for (const [host, state] of fleet) {
    if (state.unitsElsewhere === undefined) continue;
    throw new ShipitError('CONFIG_CONFLICT', `${host}: ${unitsElsewhereMessage(app, deployTo, describeElsewhere(state.unitsElsewhere), 'rolling back')}`, {
      host,
      hint: 'nothing was changed',
    });
  }
}
