import { SHOWN_CONTROL, writtenControl } from '@opsbook/schema';

/**
 * Host-controlled text must not become links, tables or formatting in the ticket, nor control a
 * terminal: line breaks become spaces, other control characters (and format ones: bidi, zero-width) their `\xNN` / `\uNNNN` text,
 * as `showControls` writes them for the terminal.
 */
export function escapeMd(text: string): string {
  // After the Markdown escapes, so that the `\` of `\x1b` is written once, as the report's other
  // outputs write a control character out (a `\` before a letter shows as itself in Markdown).
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_{}[\]()#+!|<>~]/g, '\\$&')
    .replace(SHOWN_CONTROL, writtenControl);
}
