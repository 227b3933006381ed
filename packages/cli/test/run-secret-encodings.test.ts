import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, planApproval } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { readJournal } from './run-outcome.js';
import { header } from './runbook-fixtures.js';
import { filesUnder, piecesOf } from './secret-search.js';

/*
 * A secret a step prints encoded, the way commands print credentials without being asked to:
 * `curl -v -u user:TOKEN` shows `Authorization: Basic base64(user:TOKEN)`, a script base64s a
 * key for a Kubernetes secret, a URL carries the token percent-encoded, `jq` prints it JSON-escaped,
 * `set -x` in bash or busybox quotes a ' in it, `xxd -p` prints it in hex, `openssl base64` wraps it
 * at 64 columns, `xxd`, `hexdump -C` and `od` dump it with offsets and a column of its characters.
 * Through the real binary over a real sshd: none of these forms may reach the live output, the
 * journal or `runs show --output`.
 */

const encodedOutputRunbook: RunbookFixture = {
  yaml: `${header('encoded-output', 'change', 'P3')}spec:
  params:
    dir: {type: string, required: true, pattern: "^/", description: Marker folder}
    token: {type: string, secret: true, minLength: 8, description: API token}
    key: {type: string, secret: true, minLength: 8, description: A long key}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: basic-auth
      name: What curl -v shows of -u user:TOKEN
      run: |
        printf 'Authorization: Basic %s\\n' "$(printf 'deploy:%s' "$OPSBOOK_PARAM_TOKEN" | base64 -w0)"
    - id: base64-shifts
      name: The token base64-encoded at each alignment
      run: |
        for p in '' x xy; do printf '%s%s' "$p" "$OPSBOOK_PARAM_TOKEN" | base64 -w0; echo; done
    - id: base64-wrapped
      name: A long key through base64, wrapped at 76 columns
      run: |
        printf %s "$OPSBOOK_PARAM_KEY" | base64
    - id: base64-shift-wrapped
      name: A long key after a prefix through base64, wrapped at 76 columns
      run: |
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | base64 -w 76
    - id: openssl-base64
      name: A long key through openssl base64, wrapped at 64 columns (as PEM)
      run: |
        printf %s "$OPSBOOK_PARAM_KEY" | openssl base64
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | openssl base64
    - id: hex
      name: The token and the key in hex, as xxd -p prints it (60 columns), in lower and upper case
      run: |
        printf %s "$OPSBOOK_PARAM_TOKEN" | xxd -p
        printf %s "$OPSBOOK_PARAM_TOKEN" | xxd -p -u
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | xxd -p
        printf 'token=%s\\n' "$(printf %s "$OPSBOOK_PARAM_TOKEN" | xxd -p -c 0)"
    - id: hex-dumps
      name: The key and the token in hex dumps with offsets and a column of characters
      run: |
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | xxd
        printf 'user:%s\\n' "$OPSBOOK_PARAM_KEY" | hexdump -C
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | od -A x -t x1z
        printf %s "$OPSBOOK_PARAM_TOKEN" | xxd -g1 -u
        printf 'token=%s' "$OPSBOOK_PARAM_TOKEN" | od -c
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | od -An -t x1
    - id: url
      name: The token percent-encoded in a URL
      run: |
        printf 'GET /api?token=%s\\n' "$(printf %s "$OPSBOOK_PARAM_TOKEN" | sed 's#/#%2F#g; s#+#%2B#g; s#=#%3D#g; s#"#%22#g')"
    - id: xtrace
      name: The token in bash's and busybox's set -x traces, which quote a single quote in it
      run: |
        bash -xc 'printf %s "$1" >/dev/null' sh "$OPSBOOK_PARAM_TOKEN" 2>&1
        busybox sh -xc 'printf %s "$1" >/dev/null' sh "$OPSBOOK_PARAM_TOKEN" 2>&1
    - id: json
      name: The token JSON-escaped
      run: |
        printf '{"token": "%s"}\\n' "$(printf %s "$OPSBOOK_PARAM_TOKEN" | sed 's#"#\\\\"#g')"
    - id: any-width
      name: The key through base64 at 72 columns, at 40 with CR LF, and xxd -p -c 16; the token as PHP's json_encode writes it
      run: |
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | base64 -w 72
        printf %s "$OPSBOOK_PARAM_KEY" | base64 -w 40 | sed 's/$/\\r/'
        printf 'x%s' "$OPSBOOK_PARAM_KEY" | xxd -p -c 16
        printf '{"url":"%s"}\\n' "$(printf %s "$OPSBOOK_PARAM_TOKEN" | sed 's#"#\\\\"#g; s#/#\\\\/#g')"
    - id: stopped-inside
      name: The key through base64 at 16 columns, its output stopping inside it (head -c)
      run: |
        printf %s "$OPSBOOK_PARAM_KEY" | base64 -w 16 | head -c 60
`,
};

/** The commands of the quoted-more step, also run here to know what they print. */
const QUOTED_MORE_COMMANDS = [
  `/usr/bin/python3 -c 'import os, yaml; print(yaml.safe_dump({"t": os.environ["OPSBOOK_PARAM_TOKEN"]}), end="")'`,
  `printf %s "$OPSBOOK_PARAM_TOKEN" | jq -Rr '"<td>" + @html + "</td>"'`,
  `bash -c 'v=$(declare -p OPSBOOK_PARAM_TOKEN); printf "%s\\n" "\${v#*=}"'`,
  `curl -s -G --data-urlencode "t=$OPSBOOK_PARAM_TOKEN" -o /dev/null -w '%{url_effective}\\n' http://127.0.0.1:9/ || true`,
];
const QUOTED_MORE = QUOTED_MORE_COMMANDS.join('\n        ');

/*
 * The same, for the forms tools print when they quote, escape or dump a value in another way:
 * `printf %q` (and its `$'…'` form in the C locale), `jq -a` and Python's `repr` and `json.dumps`,
 * `xxd -b` (bits), `od` (octal words), and a dump of the secret's base64.
 */
const escapedOutputRunbook: RunbookFixture = {
  yaml: `${header('escaped-output', 'change', 'P3')}spec:
  params:
    dir: {type: string, required: true, pattern: "^/", description: Marker folder}
    token: {type: string, secret: true, minLength: 8, description: API token}
    key: {type: string, secret: true, minLength: 8, description: A long key}
    phrase: {type: string, secret: true, minLength: 8, description: A phrase with tabs}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: shell-quoted
      name: The token as printf %q quotes it, in a UTF-8 and in the C locale
      run: |
        bash -c 'printf "token=%q\\n" "$1"' sh "$OPSBOOK_PARAM_TOKEN"
        LC_ALL=C bash -c 'printf "token=%q\\n" "$1"' sh "$OPSBOOK_PARAM_TOKEN"
    - id: escaped
      name: The token as jq -a and python print it
      run: |
        printf %s "$OPSBOOK_PARAM_TOKEN" | jq -aR .
        /usr/bin/python3 -c 'import os, json; t = os.environ["OPSBOOK_PARAM_TOKEN"]; print(repr(t)); print(json.dumps(t)); print(t.encode())'
    - id: bits-octal
      name: The key in bits (xxd -b) and octal words (od)
      run: |
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | xxd -b
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | od
    - id: encoded-dump
      name: The token's base64 through xxd
      run: |
        printf %s "$OPSBOOK_PARAM_TOKEN" | base64 -w0 | xxd
    - id: quoted-more
      name: The token in YAML, HTML, declare -p and curl's percent-encoding
      run: |
        ${QUOTED_MORE}
    - id: folded-wide
      name: The token folded by PyYAML; the key in od -t d2, od -bc, and base64 -w 40 after text
      run: |
        /usr/bin/python3 -c 'import os, yaml; print(yaml.dump({"data": {"passphrase": "x " * 20 + os.environ["OPSBOOK_PARAM_TOKEN"]}}), end="")'
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | od -t d2
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | od -bc
        printf 'token: '; printf %s "$OPSBOOK_PARAM_KEY" | base64 -w 40
    - id: narrow-bytes-escapes
      name: The key in od -t u1 and od -t d1, through base64 -w 8; the phrase folded by PyYAML after a tab
      run: |
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | od -An -t u1
        printf 'user:%s' "$OPSBOOK_PARAM_KEY" | od -t d1
        printf %s "$OPSBOOK_PARAM_KEY" | base64 -w 8
        /usr/bin/python3 -c 'import os, yaml; print(yaml.dump({"p": os.environ["OPSBOOK_PARAM_PHRASE"]}, width=20), end="")'
`,
};

let world: World;
beforeAll(async () => {
  world = await createWorld({
    hostCount: 1,
    runbooks: {
      'encoded-output': encodedOutputRunbook,
      'escaped-output': escapedOutputRunbook,
    },
  });
});
afterAll(async () => {
  await world?.remove();
});

describe('a secret printed encoded is masked too', () => {
  it('shows no base64 (any alignment, wrapped at any shift), hex (xxd -p), percent-encoded, JSON-escaped or shell-trace-quoted form of a secret anywhere', async () => {
    // Characters that percent-encoding, JSON and shell traces change: / + = " and '.
    const token = `tok/${randomBytes(18).toString('base64')}"+x='${randomBytes(9).toString('hex')}`;
    const key = randomBytes(120).toString('base64');
    const env = { OPSBOOK_PARAM_TOKEN: token, OPSBOOK_PARAM_KEY: key };
    const dir = path.join(world.markerDir, 'encoded-output');
    await mkdir(dir, { recursive: true });
    const file = await planApproval(world, 'encoded-output', 'encoded.json', {
      params: { dir },
      env,
    });
    await approveAs(world, file, world.people.alice);
    const run = await world.opsbook(['run', file], { env });
    expect(run.stderr).not.toMatch(stackTrace);
    expect(run.code, run.stderr.slice(0, 2000)).toBe(0);
    const runId = /run (\S+) ok in/.exec(run.stderr + run.stdout)?.[1];
    expect(runId).toBeDefined();
    const shown = await world.opsbook(['runs', 'show', runId!, '--output'], { env });
    expect(shown.code).toBe(0);

    const journal = await readJournal(path.join(world.stateDir, 'runs', `${runId}.jsonl`));
    const out = (step: string) =>
      String(journal.find((e) => e.type === 'step-end' && e.step === step)?.stdout);
    // The steps did print: the masks stand where the encoded secrets were.
    expect(out('basic-auth')).toMatch(/^Authorization: Basic \S*\*\*\*\S*\n$/);
    expect(out('url')).toMatch(/^GET \/api\?token=\*\*\*\n$/);
    expect(out('json')).toBe('{"token": "***"}\n');
    expect(out('hex')).toContain('token=***\n');
    expect(out('base64-shift-wrapped')).toContain('***');
    expect(out('openssl-base64')).toContain('***');
    // Dumps keep their layout: the secret's hex digits and characters starred, `user:` shown.
    expect(out('hex-dumps')).toMatch(/^00000000: 7573 6572 3a\*\* \*\*\*\* .* {2}user:\*{11}$/m);
    expect(out('hex-dumps')).toMatch(/^00000000 {2}75 73 65 72 3a \*\* .*\|user:\*{11}\|$/m);
    expect(out('hex-dumps')).toMatch(/^ 75 73 65 72 3a \*\* \*\* /m);
    expect(out('xtrace')).toContain("+ printf %s '***'\n");
    expect(out('xtrace')).toContain("+ printf '%s' '***'\n");
    // Wrapped at any width, line by line; PHP's `\/`.
    expect(out('any-width')).toMatch(/^\*\*\*\r\n\*\*\*\r\n/m);
    expect(out('any-width')).toMatch(/^\*\*\*\n\*\*\*\n/m);
    expect(out('any-width')).toContain('{"url":"***"}\n');
    // Three lines and a piece of the fourth, the output's end: each line masked.
    expect(out('stopped-inside')).toBe('***\n***\n***\n***');

    const b64 = (text: string) => Buffer.from(text).toString('base64');
    // Nor the lines of stopped-inside live or in runs show (each 16 characters, below the
    // 12-character pieces looked for next only after their 4 edge characters are left out).
    for (const line of b64(key).match(/.{16}/g)!.slice(0, 3))
      expect(`${run.stdout}${run.stderr}${shown.stdout}`).not.toContain(line);
    const forms = [
      b64(`deploy:${token}`),
      b64(token),
      b64(`x${token}`),
      b64(`xy${token}`),
      ...b64(key).match(/.{1,76}/g)!,
      ...b64(key).match(/.{1,64}/g)!,
      ...b64(key).match(/.{1,40}/g)!,
      JSON.stringify(token).slice(1, -1).replaceAll('/', '\\/'),
      // Past the encoding of `user:` (5 bytes: 6 characters and 4 mixed with the key).
      b64(`user:${key}`).slice(8),
      Buffer.from(token).toString('hex'),
      Buffer.from(token).toString('hex').toUpperCase(),
      Buffer.from(key).toString('hex'),
      encodeURIComponent(token),
      JSON.stringify(token).slice(1, -1),
      token.replaceAll("'", "'\\''"),
      token.replaceAll("'", `'"'"'`),
    ];
    const stateTexts = await Promise.all(
      (await filesUnder(world.stateDir)).map((f) => readFile(f, 'utf8')),
    );
    const everything = [run.stdout, run.stderr, shown.stdout, shown.stderr, ...stateTexts];
    // No 12-character piece of any encoded form (a base64 form keeps at most its 4 edge
    // characters, which carry a byte or two of the secret, never more).
    const pieces = [...new Set(forms.flatMap((f) => piecesOf(f.slice(4, -4), 12)))];
    for (const [i, text] of everything.entries()) {
      const leaked = pieces.filter((p) => text.includes(p));
      expect(leaked, `output ${i} shows an encoded secret`).toEqual([]);
    }
    // A dump spreads the secret over lines, its hex in groups and 16 of its characters a line:
    // no 8 of its characters and no 4 of its bytes (spaces between hex groups taken out).
    const dumpPieces = [
      ...piecesOf(key, 8),
      ...piecesOf(token, 8),
      ...piecesOf(Buffer.from(key).toString('hex'), 8).filter((_, i) => i % 2 === 0),
      ...piecesOf(Buffer.from(token).toString('hex').toUpperCase(), 8).filter(
        (_, i) => i % 2 === 0,
      ),
    ];
    // od -c: a character a field of 4, escapes such as \n in two.
    expect(out('hex-dumps')).toMatch(/^0000000 {3}t {3}o {3}k {3}e {3}n {3}= {3}\* {3}\*/m);
    for (const [i, text] of everything.entries()) {
      const squeezed = text.replaceAll(' ', '');
      const leaked = dumpPieces.filter((p) => text.includes(p) || squeezed.includes(p));
      expect(leaked, `output ${i} shows a piece of a dumped secret`).toEqual([]);
    }
  });
});

describe('a secret printed quoted, escaped or dumped in bits or octal is masked too', () => {
  it('shows no printf %q, jq -a, python repr / json.dumps / bytes, xxd -b, od or base64-dump form of a secret anywhere', async () => {
    // Characters that shells, JSON and Python escape: ' " \\ space, and one past ASCII.
    // (16 base64 characters after `tok/`: PyYAML folds the value below inside the token.)
    const token = `tok/${randomBytes(12).toString('base64')} "it's" \\é-${randomBytes(6).toString('hex')}`;
    const key = randomBytes(120).toString('base64');
    const phrase = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'].map(
      (w) => `${w}${randomBytes(3).toString('hex')}`,
    );
    const env = {
      OPSBOOK_PARAM_TOKEN: token,
      OPSBOOK_PARAM_KEY: key,
      OPSBOOK_PARAM_PHRASE: phrase.join('\t'),
    };
    const dir = path.join(world.markerDir, 'escaped-output');
    await mkdir(dir, { recursive: true });
    const file = await planApproval(world, 'escaped-output', 'escaped.json', {
      params: { dir },
      env,
    });
    await approveAs(world, file, world.people.alice);
    const run = await world.opsbook(['run', file], { env });
    expect(run.stderr).not.toMatch(stackTrace);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const runId = /run (\S+) ok in/.exec(run.stderr + run.stdout)?.[1];
    expect(runId).toBeDefined();
    const shown = await world.opsbook(['runs', 'show', runId!, '--output'], { env });
    expect(shown.code).toBe(0);
    const journal = await readJournal(path.join(world.stateDir, 'runs', `${runId}.jsonl`));
    const out = (step: string) =>
      String(journal.find((e) => e.type === 'step-end' && e.step === step)?.stdout);
    // The steps did print: the masks stand where the quoted secret was.
    // In the C locale (and in the host's, if it is C) printf %q writes é in octal, in $'…'.
    expect(out('shell-quoted')).toMatch(/^token=(?:\$')?\*\*\*'?\ntoken=\$'\*\*\*'\n$/);
    expect(out('escaped')).toBe(`"***"\n'***'\n"***"\nb'***'\n`);
    expect(out('bits-octal')).toMatch(
      /^00000000: 01110101 01110011 01100101 01110010 00111010 \*{8} {2}user:\*$/m,
    );
    expect(out('bits-octal')).toMatch(/^0000000 071565 071145 \*{6} \*{6}/m);
    expect(out('encoded-dump')).toMatch(/^00000000: \*{4} \*{4} .* {2}\*{16}$/m);
    // (Nothing listens on port 9: curl only prints the URL it made. In the C locale declare -p
    // writes the é in octal, in $'…'.)
    expect(out('quoted-more')).toMatch(
      /^t: "\*\*\*"\n<td>\*\*\*<\/td>\n(?:"\*\*\*"|\$'\*\*\*')\nhttp:\/\/127\.0\.0\.1:9\/\?t=\*\*\*\n$/,
    );
    // PyYAML broke the double-quoted value inside the token: each line's piece masked.
    expect(out('folded-wide')).toMatch(/^ {2}passphrase: "(?:x ){20}\*\*\*\n {4}\*\*\*"$/m);
    expect(out('folded-wide')).toMatch(/^token: \*\*\*\n\*\*\*\n/m);
    // od -t u1 / -t d1 star the key's bytes; base64 -w 8 and the PyYAML fold after a tab
    // (`\t\` ends a line) are masked line by line.
    expect(out('narrow-bytes-escapes')).toMatch(/^ 117 115 101 114 {2}58(?: +\*{2,3}){3}/m);
    expect(out('narrow-bytes-escapes')).toMatch(
      /^0000000 {2}117 {2}115 {2}101 {2}114 {3}58(?: +\*{2,3}){3}/m,
    );
    expect(out('narrow-bytes-escapes')).toMatch(/^\*\*\*\n\*\*\*\n\*\*\*\n/m);
    expect(out('narrow-bytes-escapes')).toMatch(/^p: "\*\*\*\n {2}\*\*\*/m);

    // The forms as the real tools print them here.
    const local = (script: string) =>
      execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env } });
    const forms = [
      local('printf %q "$OPSBOOK_PARAM_TOKEN"'),
      local('LC_ALL=C printf %q "$OPSBOOK_PARAM_TOKEN"'),
      local('printf %s "$OPSBOOK_PARAM_TOKEN" | jq -aR .'),
      ...local(
        `/usr/bin/python3 -c 'import os, json; t = os.environ["OPSBOOK_PARAM_TOKEN"]; print(repr(t)); print(json.dumps(t)); print(t.encode())'`,
      ).split('\n'),
      // (curl's line without the URL before the token.)
      ...QUOTED_MORE_COMMANDS.flatMap((command) =>
        local(command).replace('http://127.0.0.1:9/?t=', '').split('\n'),
      ),
    ].filter((f) => f.length > 0);
    const bits = (text: string) =>
      [...Buffer.from(text)].map((b) => b.toString(2).padStart(8, '0'));
    const octalWords = (bytes: Buffer) =>
      Array.from({ length: bytes.length >> 1 }, (_, i) =>
        (bytes[2 * i]! + 256 * bytes[2 * i + 1]!).toString(8).padStart(6, '0'),
      );
    /** Every run of `n` consecutive items of `list`, joined by a space. */
    const runsOf = (list: string[], n: number) =>
      Array.from({ length: list.length - n + 1 }, (_, i) => list.slice(i, i + n).join(' '));
    const keyBytes = Buffer.from(key);
    const pieces = [
      ...new Set([
        ...forms.flatMap((f) => piecesOf(f.slice(4, -4), 12)),
        // 4 bytes of the key in bits, 2 words (4 bytes) of it in octal at either parity.
        ...runsOf(bits(key), 4),
        ...runsOf(octalWords(keyBytes), 2),
        ...runsOf(octalWords(keyBytes.subarray(1)), 2),
        // The token's base64 in the dump's column, 8 characters of it.
        ...piecesOf(Buffer.from(token).toString('base64'), 8),
      ]),
    ];
    const stateTexts = await Promise.all(
      (await filesUnder(world.stateDir)).map((f) => readFile(f, 'utf8')),
    );
    const everything = [run.stdout, run.stderr, shown.stdout, shown.stderr, ...stateTexts];
    for (const [i, text] of everything.entries()) {
      const leaked = pieces.filter((p) => text.includes(p));
      expect(leaked, `output ${i} shows a secret`).toEqual([]);
    }
    // od -t d2: 2 signed words (4 bytes) of the key at either parity; od -bc's line of
    // characters: 8 of the key's (spaces taken out); base64 -w 40: 12 characters of a line.
    const signedWords = (bytes: Buffer) =>
      Array.from({ length: bytes.length >> 1 }, (_, i) => String(bytes.readInt16LE(2 * i)));
    const spaced = [
      ...runsOf(signedWords(keyBytes), 2),
      ...runsOf(signedWords(keyBytes.subarray(1)), 2),
    ];
    const squeezedPieces = piecesOf(key, 8);
    // od -t u1 / -t d1: 4 bytes of the key in decimal; base64 -w 8: a line of it; the phrase's
    // words (PyYAML writes the tabs as \t).
    const decimalBytes = [
      ...runsOf([...keyBytes].map(String), 4),
      ...runsOf(
        [...keyBytes].map((b) => String(b > 127 ? b - 256 : b)),
        4,
      ),
    ];
    const narrowLines = Buffer.from(key).toString('base64').match(/.{8}/g)!;
    for (const [i, text] of everything.entries()) {
      const oneSpace = text.replace(/ +/g, ' ');
      expect(
        decimalBytes.filter((p) => oneSpace.includes(` ${p}\n`) || oneSpace.includes(` ${p} `)),
        `output ${i} shows the key in od -t u1`,
      ).toEqual([]);
      expect(
        narrowLines.filter((l) => text.includes(l)),
        `output ${i} shows the key's base64 -w 8`,
      ).toEqual([]);
      expect(
        phrase.filter((w) => text.includes(w)),
        `output ${i} shows the phrase`,
      ).toEqual([]);
    }
    const wrappedPieces = piecesOf(Buffer.from(key).toString('base64'), 12);
    for (const [i, text] of everything.entries()) {
      const oneSpace = text.replace(/ +/g, ' ');
      const squeezed = text.replaceAll(' ', '');
      expect(
        spaced.filter((p) => oneSpace.includes(` ${p}\n`) || oneSpace.includes(` ${p} `)),
        `output ${i} shows the key in od -t d2`,
      ).toEqual([]);
      expect(
        squeezedPieces.filter((p) => squeezed.includes(p)),
        `output ${i} shows the key in od -bc`,
      ).toEqual([]);
      expect(
        wrappedPieces.filter((p) => text.includes(p)),
        `output ${i} shows the key's base64`,
      ).toEqual([]);
    }
  });
});
