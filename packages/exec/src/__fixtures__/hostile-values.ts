import fc from 'fast-check';

/** Fragments that mean something to a shell, or to the env block's own syntax. */
export const HOSTILE = [
  "'",
  '"',
  '\\',
  '`',
  '$',
  '$(touch CANARY)',
  '`touch CANARY`',
  '"$3"',
  '\'"$3"\'',
  '; export X',
  '"$nl"',
  '\'"$nl"\'',
  '$n',
  '\nexit 0\n',
  'set -- sh',
  '\ntouch CANARY\n',
  '\n',
  '\r',
  '\t',
  ' ',
  '*',
  '~',
  '#',
  '%s',
  '\\101',
  '\\n',
  '-e',
  '--help',
  'IFS=x',
  '\u00e9',
  '\u{1F600}',
  '\x81\x82\x88',
];
/** A parameter value a shell could misread: hostile fragments, binary junk, graphemes. */
export const hostileValue = fc
  .oneof(
    fc
      .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'binary', maxLength: 6 })), {
        maxLength: 10,
      })
      .map((parts) => parts.join('')),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  )
  // NUL bytes and lone surrogates are refused by design (shell-quote tests), so not inputs here.
  .map((v) => v.replaceAll('\0', '').replace(/\p{Surrogate}/gu, ''));

