import type { LedgerDamage, StateStore } from '@opsbook/state';
import type { CommandContext } from './command.js';
import { exitCodes } from './exit-code.js';

/**
 * A read-only view over a ledger with damaged lines (`stateViewOf`): each line named, file:line,
 * with what it means for what was shown and what to do. Returns the view's exit code: its own
 * when that is not 0, else 2 (a malformed file), so a script never takes the view for whole.
 */
export function endOfView(ctx: CommandContext, store: StateStore, code: number): number {
  const damage = store.ledgerDamage();
  for (const d of damage) ctx.out.note(`warning: ${damageText(d)}`);
  return damage.length && code === exitCodes.ok ? exitCodes.invalid : code;
}

/** What `--json` adds for the damaged lines (nothing when there are none). */
export function damageJson(store: StateStore): { ledgerDamage?: LedgerDamage[] } {
  const damage = store.ledgerDamage();
  return damage.length ? { ledgerDamage: damage } : {};
}

function damageText(d: LedgerDamage): string {
  return (
    `${d.file}:${d.line}:1: this ledger line is not a run or run-end record, and what is shown ` +
    `was read around it (it may have held a run's start, or the end its journal is checked ` +
    `against): restore the ledger from a backup, then check with opsbook doctor; until then no ` +
    `run can start from this state dir`
  );
}
