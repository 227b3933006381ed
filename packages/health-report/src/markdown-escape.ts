/**
 * Control characters (C0 but for tab, DEL, C1) and bidi overrides, which a terminal that shows
 * the Markdown (`cat catalog.md`) would obey: an ESC clears the screen or writes a hyperlink, a
 * bidi override shows text in another order than it is.
 */
const UNSHOWN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Host-controlled text must not become links, tables or formatting in the ticket, nor control a
 * terminal: line breaks become spaces, other control characters their `\xNN` / `\uNNNN` text.
 */
export function escapeMd(text: string): string {
  // After the Markdown escapes, so that the `\` of `\x1b` is written once, as the report's other
  // outputs write a control character out (a `\` before a letter shows as itself in Markdown).
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_{}[\]()#+!|<>~]/g, '\\$&')
    .replace(UNSHOWN, (c) => {
      const code = c.charCodeAt(0);
      return code < 0x100
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`;
    });
}
