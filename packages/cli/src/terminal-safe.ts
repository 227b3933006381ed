/**
 * Text that opsbook did not write itself — a host's output, a runbook's names, commands and
 * descriptions, a ticket's summary — can hold terminal control sequences: `ESC]0;…BEL` retitles
 * the operator's terminal, OSC 52 writes their clipboard, `ESC[2J` clears it, `\r` hides what
 * came before it on the line. Every human renderer shows such text through `showControls`, and
 * the Output passes everything it writes through `keepOnly(its own colour codes)` as well, so a
 * renderer that forgot still cannot emit anything but those colours. With `--json` the JSON
 * escaping does the same (`escapeJsonControls` adds what JSON.stringify leaves raw).
 */

import {
  formatProblem,
  type Problem,
  SHOWN_CONTROL,
  showControls,
  showControlsOnLine,
  writtenControl,
} from '@opsbook/schema';

export { showControls, showControlsOnLine } from '@opsbook/schema';

/**
 * A problem as one line, `file:line:col: message`, as editors and CI read it: a runbook folder's
 * name (or a file's in it) is the user's, and a newline or CR in it would otherwise print a line
 * of its choosing (a fake `✓ … valid`), so line breaks are written out too (`\x0a`).
 */
export function showProblem(p: Problem): string {
  return showControlsOnLine(formatProblem(p));
}

/** DEL and C1: the control characters JSON.stringify does not escape. */
const JSON_RAW_CONTROL = /[\u007f-\u009f]/g;

/**
 * `value` with `showControls` applied to every string in it, keys included, at any depth: for
 * a renderer that prints many fields of one untrusted document (a runbook, a plan, a ticket).
 */
export function showControlsIn<T>(value: T): T {
  if (typeof value === 'string') return showControls(value) as T;
  if (Array.isArray(value)) return value.map((v) => showControlsIn(v)) as T;
  if (value !== null && typeof value === 'object' && isPlainObject(value)) {
    const shown: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a `__proto__` key stays a key, as it was in the parsed JSON or YAML.
      Object.defineProperty(shown, showControls(k), {
        value: showControlsIn(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return shown as T;
  }
  return value;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A filter for everything the CLI writes: the exact escape sequences in `own` (its colour codes)
 * pass, every other control character is written out as by `showControls`.
 */
export function keepOnly(own: readonly string[]): (text: string) => string {
  const escaped = own.map((s) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'));
  const pattern = new RegExp(`(${escaped.join('|')})|${SHOWN_CONTROL.source}`, 'gu');
  return (text) => text.replace(pattern, (match, kept?: string) => kept ?? writtenControl(match));
}

/** C0 but tab and newline, DEL and C1, where a CR right before a newline is kept (a CRLF). */
const DATA_CONTROL = /\r\n|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * A machine-readable document (CSV, JSON) with every control character but tab, newline and CRLF
 * written as `\u00XX`: a JSON text stays the same JSON (a raw DEL or C1 can only be inside one of
 * its strings, where that is its escape), and a CSV's CRLF record ends stay what RFC 4180 says.
 * Renderers make their documents without control characters; this keeps it so if one forgets.
 */
export function escapeDataControls(text: string): string {
  return text.replace(DATA_CONTROL, (c) =>
    c === '\r\n' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A JSON text with DEL and C1 escaped as `\u00XX` too: the same JSON, no raw control byte. */
export function escapeJsonControls(json: string): string {
  return json.replace(
    JSON_RAW_CONTROL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
