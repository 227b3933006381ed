#!/usr/bin/env node
// Whether two builds of the masker mask alike: a change made for speed must not mask less (or
// more). Seeded random mixes of the forms a secret is printed in (plain, base64 around text,
// wrapped at any width with LF or CR LF and an indentation, hex, escapes, hex dumps, YAML folds,
// a cut character at the end) among ordinary and base64-like lines; each text masked whole,
// streamed at random chunk sizes (1 to 300 characters), and cut by maskedTail at many limits,
// with and without characters already cut. Any difference is printed and the exit code is 1.
//
//   node scripts/bench/secret-mask-differential.mjs BEFORE.mjs AFTER.mjs   (CASES=400 SEED=1)
// Each build as one file: esbuild SRC/secret-mask.ts --bundle --platform=node --format=esm
// --outfile=X.mjs (a checkout's packages/runner/dist/execute/secret-mask.js works too).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [beforeFile, afterFile] = process.argv.slice(2);
if (!beforeFile || !afterFile) {
  console.error('usage: secret-mask-differential.mjs BEFORE.mjs AFTER.mjs');
  process.exit(2);
}
const load = async (f) => (await import(pathToFileURL(path.resolve(f)).href)).createSecretMask;
const before = await load(beforeFile);
const after = await load(afterFile);
const cases = Number(process.env.CASES ?? 400);
let seed = Number(process.env.SEED ?? 1);
const next = (n) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  // The high bits: the low ones of this generator repeat with a short period.
  return Math.floor((seed / 2 ** 31) * n);
};
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const randomOf = (alphabet, n) =>
  Array.from({ length: n }, () => alphabet[next(alphabet.length)]).join('');
const b64 = (s) => Buffer.from(s).toString('base64');
const wrap = (text, width, eol, indent) =>
  `${text
    .match(new RegExp(`.{1,${width}}`, 'g'))
    .map((l) => indent + l)
    .join(eol)}${eol}`;
const secretSets = [
  [
    `tok/${randomOf(B64, 20)}+"q'=${randomOf(B64, 24)}`,
    randomOf(B64, 160),
    `pw-${randomOf(B64, 19)}`,
  ],
  [
    `-----BEGIN KEY-----\n${Array.from({ length: 5 }, () => randomOf(B64, 64)).join('\n')}\n-----END KEY-----\n`,
    'hunter2-Pa55w0rd',
  ],
  ['Zm9vYmFyYmF6cXV4cXV1eA', `k${'1234567890'.repeat(12)}`, 'pa ss word with spaces'],
  ['short1', 'ünïcødé-sécret-✓'],
];
const dumps = new Map();
const dumpOf = (tool, args, input) => {
  const key = JSON.stringify([tool, args, input]);
  if (!dumps.has(key)) dumps.set(key, execFileSync(tool, args, { input, encoding: 'utf8' }));
  return dumps.get(key);
};
const noise = [
  'ok\n',
  'QUJDRUZHSElKS0xNTk9Q\n',
  `${randomOf(B64, 76)}\n`,
  '    ',
  '2026-12-07T21:00:00Z INFO GET /api/v1/items took 12ms\n',
  'abc',
  '\r\n',
  'Zm9v',
  'deadbeef cafe 0123\n',
  '\n',
  '\r',
  '  Zm9vYmFyYmF6cXV4\n',
  'key: value\n',
];
function formOf(secret) {
  const around = ['', 'u', 'us', 'user:'][next(4)];
  const bytes = Buffer.from(`${around}${secret}`);
  switch (next(12)) {
    case 0:
      return secret;
    case 1:
      return `Authorization: Basic ${b64(`user:${secret}`)}\n`;
    case 2:
    case 3:
      return wrap(
        bytes.toString('base64'),
        16 + next(80),
        next(2) ? '\n' : '\r\n',
        next(4) ? '' : '  ',
      );
    case 4:
      return wrap(bytes.toString('hex'), 16 + next(80), next(2) ? '\n' : '\r\n', '');
    case 5:
      return bytes.toString('hex').toUpperCase();
    case 6:
      return `${JSON.stringify(secret)}\n`;
    case 7:
      return `${encodeURIComponent(secret)}\n`;
    case 8:
      return dumpOf('xxd', [], `${around}${secret}`);
    case 9:
      return dumpOf('od', ['-An', '-t', 'x1'], secret);
    case 10: {
      // A YAML value folded over lines (PyYAML, kubectl): a space becomes a break and indentation.
      const words = `${around} ${secret}`.split(' ');
      return `value: ${words.join(next(2) ? '\n  ' : ' ')}\n`;
    }
    default:
      // Stopped inside a character, or a piece of the secret.
      return next(2)
        ? `${secret.slice(0, 2 + next(secret.length))}\ufffd`
        : secret.slice(next(secret.length));
  }
}
function streamed(mask, text) {
  const s = mask.maskStream();
  let out = '';
  for (let i = 0; i < text.length; ) {
    const size = 1 + next(next(4) === 0 ? 300 : 20);
    out += s.push(text.slice(i, i + size));
    i += size;
  }
  return out + s.end();
}
let compared = 0;
let differ = 0;
const check = (what, text, a, b) => {
  compared++;
  if (a === b) return;
  differ++;
  if (differ <= 5)
    console.log(
      `DIFFERENT ${what}\n text:   ${JSON.stringify(text)}\n before: ${JSON.stringify(a)}\n after:  ${JSON.stringify(b)}`,
    );
};
for (let c = 0; c < cases; c++) {
  const secrets = secretSets[next(secretSets.length)];
  const mb = before(secrets);
  const ma = after(secrets);
  let text = '';
  for (let i = 0, n = 2 + next(10); i < n; i++)
    text += next(3) ? noise[next(noise.length)] : formOf(secrets[next(secrets.length)]);
  check(`case ${c}: mask`, text, mb.mask(text), ma.mask(text));
  // The same chunks for both: the generator is replayed.
  const at = seed;
  const sb = streamed(mb, text);
  seed = at;
  check(`case ${c}: stream`, text, sb, streamed(ma, text));
  for (let k = 0; k < 8; k++) {
    const limit = next(text.length + 2);
    const cut = next(3) ? 0 : 1 + next(100);
    check(
      `case ${c}: maskedTail(${limit}, ${cut})`,
      text,
      mb.maskedTail(text, limit, cut),
      ma.maskedTail(text, limit, cut),
    );
  }
}
console.log(`${compared} outputs compared (${cases} texts), ${differ} different`);
process.exit(differ === 0 ? 0 : 1);
