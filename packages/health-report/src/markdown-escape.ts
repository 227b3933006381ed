/** Host-controlled text must not become links, tables or formatting in the ticket. */
export function escapeMd(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[\\`*_{}[\]()#+!|<>~]/g, '\\$&');
}
