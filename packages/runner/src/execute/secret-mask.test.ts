import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMasker, createSecretMask, MIN_SECRET_PIECE } from './secret-mask.js';

const pem = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU',
  'QQ==',
  '}',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

/** Feeds `text` to a stream masker in pieces of `size` characters; returns all it let out. */
function streamed(secrets: string[], text: string, size: number): string {
  const stream = createSecretMask(secrets).maskStream();
  let out = '';
  for (let i = 0; i < text.length; i += size) out += stream.push(text.slice(i, i + size));
  return out + stream.end();
}

describe('multi-line secrets', () => {
  it('masks the whole value and each of its lines of 4 characters or more', () => {
    const { mask } = createSecretMask([pem]);
    expect(mask(`a\n${pem}\nb`)).toBe('a\n***\nb');
    expect(mask('line: b3BlbnNzaC1rZXktdjEAAAAABG5vbmU')).toBe('line: ***');
    expect(mask('QQ==')).toBe('***');
    expect(mask('  -----END OPENSSH PRIVATE KEY-----')).toBe('  ***');
    // Lines shorter than 4 characters are everywhere in output: masking them would hide it all.
    expect(mask('}')).toBe('}');
  });

  it('masks a line of a CRLF secret, and the line with its indentation trimmed', () => {
    const { mask } = createSecretMask(['apiVersion: v1\r\n  token: abcdef0123\r\n']);
    expect(mask('token: abcdef0123')).toBe('***');
    expect(mask('x apiVersion: v1 y')).toBe('x *** y');
  });
});

describe('masking a stream', () => {
  it('never lets a secret out across chunk boundaries, whatever the chunk size', () => {
    const text = `key follows\n${pem}\nkey done\nhunter2 and hunter\n`;
    for (const size of [1, 2, 3, 7, 16, 33, 1000]) {
      const out = streamed([pem, 'hunter2'], text, size);
      expect(out, `chunks of ${size}`).toBe('key follows\n***\nkey done\n*** and hunter\n');
    }
  });

  it('never holds an unfinished line back without bound: a long line without a break is let out as it grows', () => {
    // Secrets of every kind that makes the masker hold lines: base64 characters (wrapped lines),
    // a passphrase (YAML folds), a PEM key (dumps of it).
    const secrets = [
      'correct horse battery staple',
      'tok-Zm9vYmFyYmF6cXV4cXV1eA',
      `-----BEGIN KEY-----\n${'QUJD'.repeat(200)}\n-----END KEY-----\n`,
    ];
    for (const [what, line, bound] of [
      // A line of base64 or hex only may be a wrapped line up to 1,024 characters.
      ['base64 only', 'QUJDREVG'.repeat(20_000), 1024],
      ['hex only', '0123456789abcdef'.repeat(10_000), 1024],
      // A line that may be a dump line (od -An -t d2, od -An -c, xxd) up to 16 KiB.
      ['decimal words', '  30056  29806'.repeat(10_000), 16_384],
      ['characters', '   h   u   n'.repeat(10_000), 16_384],
      ['hex dump', `0000000 ${'41 '.repeat(50_000)}`, 16_384],
      // Ordinary text: only a possible beginning of a secret.
      ['words', 'correct horse battery '.repeat(8000), 64],
    ] as const) {
      const stream = createSecretMask(secrets).maskStream();
      let fed = 0;
      let out = 0;
      for (let i = 0; i < line.length; i += 4096) {
        const chunk = line.slice(i, i + 4096);
        fed += chunk.length;
        out += stream.push(chunk).length;
        expect(fed - out, `${what}, after ${fed} characters`).toBeLessThanOrEqual(bound);
      }
    }
    // A partial line of ordinary text (a prompt, a progress message) is let out at once.
    const stream = createSecretMask(secrets).maskStream();
    expect(stream.push('Waiting for the lock...')).toBe('Waiting for the lock...');
  });

  it('lets out at once what cannot begin a secret, and holds back only a possible beginning', () => {
    const stream = createSecretMask(['hunter2']).maskStream();
    expect(stream.push('progress 10%\n')).toBe('progress 10%\n');
    expect(stream.push('a hun')).toBe('a ');
    expect(stream.push('ter')).toBe('');
    expect(stream.push('2!\n')).toBe('***!\n');
    expect(stream.push('hunt')).toBe('');
    // The stream ended inside what may be the secret (a command killed mid-print): masked.
    expect(stream.end()).toBe('***');
    expect(stream.push('hun')).toBe('');
    expect(stream.end()).toBe('hun');
  });

  it('gives the same text as masking the whole output at once', () => {
    const secrets = ['abcabd', 'bcab', pem];
    const text = `abcabcabd bcabd abcab${pem.slice(0, 40)} ${pem}abcab bca`;
    const whole = createSecretMask(secrets).mask(text);
    for (const size of [1, 2, 5, 9]) expect(streamed(secrets, text, size)).toBe(whole);
  });

  it('masks a beginning of a secret that ends the output inside a character (U+FFFD)', () => {
    // `printf %s "$SECRET" | head -c -1`: the last character's first byte, decoded as U+FFFD.
    const secret = 'Geheimnis-Sehr-Lang-é';
    const stream = createSecretMask([secret]).maskStream();
    expect(stream.push('pw: Geheimnis-Sehr-Lang-')).toBe('pw: ');
    expect(stream.push('\ufffd')).toBe('');
    expect(stream.end()).toBe('***');
    expect(createSecretMask([secret]).maskedTail('pw: Geheimnis-Sehr-Lang-\ufffd', 100)).toBe(
      'pw: ***',
    );
    // Binary output ending in U+FFFDs is not taken for a piece of a secret.
    expect(createSecretMask([secret]).maskedTail('bin \ufffd\ufffd\ufffd\ufffd\ufffd', 100)).toBe(
      'bin \ufffd\ufffd\ufffd\ufffd\ufffd',
    );
    // Only at the end: further on, U+FFFD is an ordinary character that no secret holds there.
    const later = createSecretMask([secret]).maskStream();
    expect(later.push('Geheim\ufffd and more\n') + later.end()).toBe('Geheim\ufffd and more\n');
  });

  it('lets out the lines it holds back when the output pauses (flush), masked as at its end, and reads what follows as after a cut', () => {
    const key = 'k3y/Sec+'.repeat(6);
    const secrets = [key, 'hunter2-Pa55w0rd'];
    const { mask } = createSecretMask(secrets);
    // `xxd FILE; sleep 600`: the dump's last lines are held back for a secret going on after
    // them; a pause shows them, starred as where a dump ends.
    const dumped = execFileSync('xxd', [], { input: `user: ${key}`, encoding: 'utf8' });
    const stream = createSecretMask(secrets).maskStream();
    const before = stream.push(dumped);
    expect(stream.isHolding()).toBe(true);
    const paused = stream.flush();
    expect(stream.isHolding()).toBe(false);
    expect(before + paused).toBe(mask(dumped));
    expect(paused).not.toBe('');
    expect(`${before}${paused}`.split('\n').filter((l) => l !== '').length).toBe(
      dumped.split('\n').length - 1,
    );
    // A line not ended is not let out by a pause (the live output shows lines): a secret printed
    // in two parts a pause apart on one line is masked whole.
    const split = createSecretMask(secrets).maskStream();
    expect(split.push('token: hunter2-')).toBe('token: ');
    expect(split.isHolding()).toBe(false);
    expect(split.flush()).toBe('');
    expect(split.push('Pa55w0rd and more\n') + split.end()).toBe('*** and more\n');
    // A form wrapped over lines (`base64 -w 8`) that goes on after a pause: its lines after the
    // pause are the end of the form, starred line by line.
    const token = 'Ug8t9N2WCbnsNd4oMhJN-and-more-of-it';
    const wrapped = execFileSync('base64', ['-w', '8'], { input: token, encoding: 'utf8' });
    const wrappedLines = wrapped.split(/(?<=\n)/);
    const starred = wrappedLines.map((l) => (l.endsWith('\n') ? '***\n' : '***')).join('');
    for (const size of [3, 8, 1000]) {
      const form = createSecretMask([token]).maskStream();
      let formShown = form.push(wrappedLines.slice(0, 2).join(''));
      formShown += form.flush();
      expect(formShown, `chunks of ${size}`).toBe('***\n***\n');
      // The rest in pieces (an SSH channel's packets): held until it is known.
      const rest = wrappedLines.slice(2).join('');
      for (let i = 0; i < rest.length; i += size) formShown += form.push(rest.slice(i, i + size));
      formShown += form.end();
      expect(formShown, `chunks of ${size}`).toBe(starred);
    }
    // Ordinary text after a pause is held only while it is inside a secret.
    const other = createSecretMask([token]).maskStream();
    expect(other.push(wrappedLines.slice(0, 2).join('')) + other.flush()).toBe('***\n***\n');
    expect(other.push('done\n')).toBe('done\n');
    // The same for a dump that goes on after a pause: its first bytes are a piece of the key.
    const halves = createSecretMask(secrets).maskStream();
    const lines = dumped.split(/(?<=\n)/);
    let shown = halves.push(lines.slice(0, 2).join(''));
    shown += halves.flush();
    shown += halves.push(lines.slice(2).join('')) + halves.end();
    expect(shown.split('\n').map((l) => l.length)).toEqual(dumped.split('\n').map((l) => l.length));
    const columns = shown.split('\n').map((l) => l.slice(51));
    for (let i = 0; i + 4 <= key.length; i++)
      expect(columns.join(''), 'a piece of the key in the column').not.toContain(
        key.slice(i, i + 4),
      );
    // Ordinary text is not changed by a pause.
    const plain = createSecretMask(secrets).maskStream();
    const text = 'Waiting for the service\nQmFja3VwIGRvbmU';
    expect(plain.push(text) + plain.flush() + plain.push(' 42\nok\n') + plain.end()).toBe(
      `${text} 42\nok\n`,
    );
  });

  it('passes text through untouched when there is no secret', () => {
    const stream = createSecretMask([]).maskStream();
    expect(stream.push('a')).toBe('a');
    expect(stream.end()).toBe('');
  });
});

describe("the journal's copy of an output", () => {
  it('masks first, then cuts: a secret straddling the cut leaves no piece behind', () => {
    const secret = 'tok-0123456789abcdef';
    const text = `${secret}${'x'.repeat(90)}`;
    // Cut before masking, the last 100 characters would start with "…456789abcdef".
    expect(createSecretMask([secret]).maskedTail(text, 100)).toBe(`***${'x'.repeat(90)}`);
    expect(createSecretMask([secret]).maskedTail(`${'y'.repeat(20)}${text}`, 100)).toBe(
      `…(13 characters cut)…\n${'y'.repeat(7)}***${'x'.repeat(90)}`,
    );
  });

  it('masks the piece of a secret that a cut left at either edge', () => {
    const secret = 'tok-0123456789abcdef';
    const mask = createSecretMask([secret]);
    // The capture stopped inside the secret: its first characters end the text.
    expect(mask.maskedTail(`${'y'.repeat(10)}tok-01234`, 100)).toBe(`${'y'.repeat(10)}***`);
    // The cut of the tail lands after a secret's beginning in the (masked) text.
    expect(mask.maskedTail(`6789abcdef${'x'.repeat(100)}`, 100)).toBe(
      `…(10 characters cut)…\n${'x'.repeat(100)}`,
    );
    expect(mask.maskedTail(`${'z'.repeat(10)}89abcdef${'x'.repeat(92)}`, 100)).toBe(
      `…(10 characters cut)…\n***${'x'.repeat(92)}`,
    );
    // The capture kept the end of a longer output: what it cut counts, its start is an edge.
    expect(mask.maskedTail(`89abcdef${'x'.repeat(20)}`, 100, 500)).toBe(
      `…(500 characters cut)…\n***${'x'.repeat(20)}`,
    );
    expect(mask.maskedTail(`${'x'.repeat(120)}`, 100, 500)).toBe(
      `…(520 characters cut)…\n${'x'.repeat(100)}`,
    );
    expect(createSecretMask([]).maskedTail('tail', 100, 7)).toBe('…(7 characters cut)…\ntail');
    // Fewer than 4 characters of a secret are not a piece worth hiding.
    expect(mask.maskedTail(`${'y'.repeat(10)}tok`, 100)).toBe(`${'y'.repeat(10)}tok`);
  });

  it('masks the piece of a form wrapped at any width (base64 -w 40, xxd -p -c 16) that a cut or the end of the capture left', () => {
    const secret =
      'correct horse battery staple / deploy token 2026 ~ 9fA2b c7Lw-XyZ-0123456789-abcdef';
    const mask = createSecretMask([secret]);
    for (const encode of ['base64 -w 40', 'xxd -p -c 16', 'base64 -w 40 | sed "s/^/    /"']) {
      const output = execFileSync(
        'bash',
        ['-c', `echo starting; printf %s "$S" | ${encode}; echo done`],
        { encoding: 'utf8', env: { ...process.env, S: secret } },
      );
      const formLines = output
        .split('\n')
        .slice(1, -2)
        .map((l) => l.trim());
      expect(formLines.length, encode).toBeGreaterThanOrEqual(3);
      /** Pieces of 4+ characters of the form's lines that `kept` still shows, each line on its own. */
      const shown = (kept: string) =>
        kept
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.length >= MIN_SECRET_PIECE && formLines.some((f) => f.includes(l)));
      const start = output.indexOf('\n') + 1;
      const end = output.lastIndexOf('done');
      for (let at = start + 1; at < end - 1; at++) {
        // The capture kept only the end of the output: its start is a cut edge.
        const tail = output.slice(at);
        const journaled = mask.maskedTail(tail, 100_000, at);
        expect(shown(journaled), `${encode}, cut at ${at}`).toEqual([]);
        expect(journaled.endsWith('\ndone\n'), `${encode}, cut at ${at}`).toBe(true);
        // The command was killed, or the capture stopped, inside the form.
        const head = output.slice(0, at);
        const stopped = mask.maskedTail(head, 100_000);
        expect(shown(stopped), `${encode}, stopped at ${at}`).toEqual([]);
        expect(stopped.startsWith('starting\n'), `${encode}, stopped at ${at}`).toBe(true);
      }
    }
  });
});

describe('createMasker', () => {
  it('masks every occurrence of every secret, longer secrets first', () => {
    const mask = createMasker(['hunter2', 'hunter2-admin', '']);
    expect(mask('a hunter2-admin b hunter2 c hunter2hunter2')).toBe('a *** b *** c ******');
  });

  it('treats regular-expression characters in a secret literally', () => {
    const mask = createMasker(['a.b*c', '$(x)', 'p|q', '\\d+']);
    expect(mask('a.b*c axbbc $(x) p|q p \\d+ 42')).toBe('*** axbbc *** *** p *** 42');
  });

  it('leaves text alone when there is no secret, and masks even a one-character secret', () => {
    expect(createMasker([])('plain')).toBe('plain');
    expect(createMasker(['', 'z'])('pizza')).toBe('pi******a');
    expect(createMasker(['*'])('a*b')).toBe('a***b');
  });

  it('does not let a replacement re-form a secret', () => {
    const mask = createMasker(['ab', 'x***']);
    expect(mask('xab')).not.toContain('x***');
  });
});

describe('encoded forms of a secret', () => {
  const token = 'tok/3nX+Q"z=9fA2b c7Lw';
  const b64 = (text: string) => Buffer.from(text).toString('base64');

  it('masks the base64 of text holding the secret at any alignment, keeping at most 4 characters each side', () => {
    const { mask } = createSecretMask([token]);
    for (const around of ['', 'x', 'xy', 'user:', 'deploy:']) {
      const masked = mask(`Authorization: Basic ${b64(`${around}${token}`)}`);
      expect(masked, around).toMatch(/^Authorization: Basic \S*\*\*\*\S*$/);
      // What stays: the encoding of the text around the secret, and at most 4 characters at
      // each end that mix it with a byte or two of the secret.
      const shown = masked.slice('Authorization: Basic '.length).replace('***', '');
      expect(shown.length, around).toBeLessThanOrEqual(Math.floor(around.length / 3) * 4 + 8);
    }
    expect(mask(b64(token))).toBe('***');
    expect(mask(b64(token).replace(/=+$/, ''))).toBe('***');
    expect(mask(b64(token).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''))).toBe(
      '***',
    );
  });

  it('masks each line of a long secret through `base64` (76 columns)', () => {
    const key = 'k'.repeat(20) + Array.from({ length: 100 }, (_, i) => String(i % 10)).join('');
    const lines = b64(key).match(/.{1,76}/g)!;
    expect(lines.length).toBe(3);
    expect(createSecretMask([key]).mask(`${lines.join('\n')}\n`)).toBe('***\n***\n***\n');
  });

  it('masks the percent-encoded (URL, form) and JSON-escaped forms', () => {
    const { mask } = createSecretMask([token]);
    expect(mask(`GET /api?token=${encodeURIComponent(token)} HTTP/1.1`)).toBe(
      'GET /api?token=*** HTTP/1.1',
    );
    expect(mask(`t=${encodeURIComponent(token).replaceAll('%20', '+')}&x=1`)).toBe('t=***&x=1');
    expect(mask(`{"token": ${JSON.stringify(token)}}`)).toBe('{"token": "***"}');
  });

  it("masks a secret holding a ' as bash's and busybox's set -x traces quote it", () => {
    const { mask } = createSecretMask(["it's-a-secret"]);
    expect(mask(`+ curl -u 'deploy:it'\\''s-a-secret' https://x`)).toBe(
      "+ curl -u 'deploy:***' https://x",
    );
    expect(mask(`+ curl -u 'deploy:it'"'"'s-a-secret' https://x`)).toBe(
      "+ curl -u 'deploy:***' https://x",
    );
  });

  it('masks an encoded form split across chunks of a stream', () => {
    const text = `Authorization: Basic ${b64(`user:${token}`)}\n`;
    const whole = createSecretMask([token]).mask(text);
    expect(whole).toContain('***');
    for (const size of [1, 3, 7, 20]) expect(streamed([token], text, size)).toBe(whole);
  });

  it('masks the hex of a secret, lower and upper case, whole and as `xxd -p` wraps it (60 columns)', () => {
    const key = `${token}-${'0123456789'.repeat(8)}`;
    const hex = Buffer.from(key).toString('hex');
    const { mask } = createSecretMask([key]);
    expect(mask(`key=${hex}\n`)).toBe('key=***\n');
    expect(mask(`KEY=${hex.toUpperCase()}\n`)).toBe('KEY=***\n');
    // The hex of text holding the secret holds the secret's hex: byte-aligned, no cores needed.
    expect(mask(Buffer.from(`user:${key}`).toString('hex'))).toBe(
      `${Buffer.from('user:').toString('hex')}***`,
    );
    const lines = hex.match(/.{1,60}/g)!;
    expect(lines.length).toBeGreaterThan(2);
    expect(mask(`${lines.join('\n')}\n`)).toBe(`${lines.map(() => '***').join('\n')}\n`);
    expect(mask(`${lines.join('\n').toUpperCase()}\n`)).toBe(
      `${lines.map(() => '***').join('\n')}\n`,
    );
    // `printf 'user:%s' "$KEY" | xxd -p`: the secret's hex starts inside a line.
    for (const around of ['u', 'user:', 'x'.repeat(29)]) {
      const wrapped = Buffer.from(`${around}${key}`)
        .toString('hex')
        .match(/.{1,60}/g)!;
      for (const text of [wrapped.join('\n'), wrapped.join('\n').toUpperCase()]) {
        const shown = mask(text).replaceAll('***', '').replaceAll('\n', '');
        expect(shown.toLowerCase(), around).toBe(Buffer.from(around).toString('hex'));
      }
    }
  });

  it('masks the encodings of a secret read from a file whose last line break the command dropped ($(cat FILE))', () => {
    const body = Array.from(
      { length: 40 },
      (_, i) => `line${String(i).padStart(2, '0')}${'Q'.repeat(58)}`,
    );
    const key = `-----BEGIN KEY-----\n${body.join('\n')}\n-----END KEY-----\n`;
    const { mask } = createSecretMask([key]);
    const printed = key.trimEnd();
    for (const around of ['', 'x', 'ab:', 'user:']) {
      const text = `${around}${printed}`;
      const hex = Buffer.from(text)
        .toString('hex')
        .match(/.{1,60}/g)!;
      const b64at64 = b64(text).match(/.{1,64}/g)!;
      for (const [form, shownAround] of [
        [hex.join('\n'), Buffer.from(around).toString('hex').length + 2],
        [b64at64.join('\n'), Math.ceil(around.length / 3) * 4 + 8],
      ] as const) {
        const shown = mask(`${form}\n`).replaceAll('***', '').replaceAll('\n', '');
        expect(shown.length, `${around}: ${shown}`).toBeLessThanOrEqual(shownAround);
      }
    }
  });

  it('masks the base64 of a long secret as `openssl base64` wraps it (64 columns), at any shift', () => {
    const key = 'k'.repeat(20) + Array.from({ length: 150 }, (_, i) => String(i % 10)).join('');
    const { mask } = createSecretMask([key]);
    for (const around of ['', 'u', 'us', 'user:', 'x'.repeat(47)]) {
      const wrapped = b64(`${around}${key}`).match(/.{1,64}/g)!;
      expect(wrapped.length, around).toBeGreaterThan(2);
      const shown = mask(`${wrapped.join('\n')}\n`)
        .replaceAll('***', '')
        .replaceAll('\n', '');
      expect(shown.length, around).toBeLessThanOrEqual(Math.ceil(around.length / 3) * 4 + 8);
    }
  });

  it('masks the base64 of text holding a long secret at any shift, wrapped at 76 columns', () => {
    const key = 'k'.repeat(20) + Array.from({ length: 150 }, (_, i) => String(i % 10)).join('');
    const { mask } = createSecretMask([key]);
    // 55, 56 and 57 characters before it: a core of each alignment starts a line.
    const arounds = ['', 'u', 'us', 'user:', 'deploy-account:', 'x'.repeat(61)];
    for (const around of [...arounds, ...[55, 56, 57].map((n) => 'x'.repeat(n))]) {
      const wrapped = b64(`${around}${key}`).match(/.{1,76}/g)!;
      const masked = mask(wrapped.join('\n'));
      // Of each line, only the encoding of the text around and 4 characters at each end of
      // the secret's encoding may stay.
      const shown = masked.replaceAll('***', '').replaceAll('\n', '');
      expect(shown.length, around).toBeLessThanOrEqual(Math.ceil(around.length / 3) * 4 + 8);
    }
    // Streamed in any chunks, a wrapped form is held back and masked as in the whole output.
    const text = `before\n${b64(`user:${key}`)
      .match(/.{1,76}/g)!
      .join('\n')}\nafter ${Buffer.from(`x${key}`)
      .toString('hex')
      .match(/.{1,60}/g)!
      .join('\n')}\n`;
    const whole = mask(text);
    expect(whole).toContain('***');
    for (const size of [1, 5, 64, 1000]) expect(streamed([key], text, size), `${size}`).toBe(whole);
  });

  it('gives, streamed in chunks of any size, what masking the whole output gives: every form, mixed with ordinary output', () => {
    // A seeded generator: the same text and chunks on every run.
    let seed = 20261207;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const key = `-----BEGIN KEY-----\n${Array.from({ length: 6 }, (_, i) => `${i}${'Zq9/'.repeat(16)}`).join('\n')}\n-----END KEY-----\n`;
    const secrets = [key, token, 'hunter2'];
    const forms = [
      key,
      key.split('\n')[2]!,
      token,
      'hunter2',
      `Authorization: Basic ${b64(`user:${token}`)}`,
      b64(`ab:${key.trimEnd()}`)
        .match(/.{1,64}/g)!
        .join('\n'),
      b64(`user:${key}`)
        .match(/.{1,76}/g)!
        .join('\n'),
      Buffer.from(`x${key}`)
        .toString('hex')
        .match(/.{1,60}/g)!
        .join('\n'),
      Buffer.from(token).toString('hex').toUpperCase(),
      encodeURIComponent(token),
      JSON.stringify(key),
      execFileSync('xxd', [], { input: `user: ${key}`, encoding: 'utf8' }),
      execFileSync('hexdump', ['-C'], { input: `${token}\n${key}`, encoding: 'utf8' }),
      execFileSync('od', ['-x'], { input: key.slice(7, 90), encoding: 'utf8' }),
      execFileSync('od', ['-An', '-c'], { input: `t=${token}`, encoding: 'utf8' }),
      execFileSync('od', ['-An', '-x'], { input: key.slice(5, 90), encoding: 'utf8' }),
      execFileSync('od', ['-An', '-t', 'x1'], { input: `t=${token}`, encoding: 'utf8' }),
      `    indented ${token}\n`,
      `${b64(`ab:${key.trimEnd()}`)
        .match(/.{1,64}/g)!
        .join('\r\n')}\r\n`,
      'line\r\n',
      // Quoted, escaped, dumped in bits or octal, and a dump of an encoded form.
      execFileSync('bash', ['-c', 'printf "%q\\n" "$S"'], {
        env: { ...process.env, S: token },
        encoding: 'utf8',
      }),
      execFileSync('xxd', ['-b'], { input: `user: ${token}`, encoding: 'utf8' }),
      execFileSync('od', [], { input: key.slice(3, 80), encoding: 'utf8' }),
      execFileSync('bash', ['-c', 'printf %s "$S" | base64 | xxd'], {
        env: { ...process.env, S: key },
        encoding: 'utf8',
      }),
      // Wrapped at widths other than 76, 64 and 60, with LF or CR LF.
      execFileSync('base64', ['-w', '72'], { input: `user:${key}`, encoding: 'utf8' }),
      execFileSync('xxd', ['-p', '-c', '16'], { input: `x${token}`, encoding: 'utf8' }),
      execFileSync('base64', ['-w', '20'], { input: token, encoding: 'utf8' }).replaceAll(
        '\n',
        '\r\n',
      ),
      // curl --data-urlencode: escapes in lower case.
      `t=${encodeURIComponent(token)
        .replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())
        .replaceAll('%20', '+')}\n`,
    ];
    const noise = [
      'ok\n',
      'hunter ',
      'Zq9/',
      '-----BEGIN',
      'deadbeef',
      'QQ==\n',
      'progress 10%\n',
      '\n',
      ' 10 20 30\n',
    ];
    const { mask } = createSecretMask(secrets);
    for (let round = 0; round < 80; round++) {
      let text = '';
      for (let i = 0; i < 12; i++)
        text += next(3) === 0 ? forms[next(forms.length)]! : noise[next(noise.length)]!;
      // (Output that ends in the beginning of a secret, `-----BEGIN`, is masked at the end of a
      // stream only.)
      text += '\nend\n';
      const whole = mask(text);
      const stream = createSecretMask(secrets).maskStream();
      let out = '';
      for (let at = 0; at < text.length; ) {
        const size = 1 + next(next(2) === 0 ? 8 : 300);
        out += stream.push(text.slice(at, at + size));
        at += size;
      }
      const tailOut = stream.end();
      expect(out + tailOut, `round ${round}`).toBe(whole);
      expect(whole.includes(token) || whole.includes('hunter2'), `round ${round}`).toBe(false);
    }
  });

  it("masks the base64 of a long secret wrapped at 60 columns (Ruby's Base64.encode64, uuencode -m), at any shift, whole and streamed", () => {
    const key = 'k'.repeat(20) + Array.from({ length: 150 }, (_, i) => String(i % 10)).join('');
    const { mask } = createSecretMask([key]);
    for (const around of ['', 'u', 'us', 'user:', 'x'.repeat(43)]) {
      // The real base64, told to wrap as Ruby and uuencode -m do.
      const text = execFileSync('base64', ['-w', '60'], {
        input: `${around}${key}`,
        encoding: 'utf8',
      });
      expect(text.split('\n').length, around).toBeGreaterThan(3);
      const whole = mask(text);
      const shown = whole.replaceAll('***', '').replaceAll('\n', '');
      expect(shown.length, around).toBeLessThanOrEqual(Math.ceil(around.length / 3) * 4 + 8);
      for (const size of [1, 2, 7, 61, 1000])
        expect(streamed([key], `before\n${text}after\n`, size), `${around} chunks of ${size}`).toBe(
          mask(`before\n${text}after\n`),
        );
    }
  });

  it('masks the base64 of a long secret wrapped with CR LF line ends (certutil -encode, MIME), whole and streamed', () => {
    const key = 'k'.repeat(20) + Array.from({ length: 150 }, (_, i) => String(i % 10)).join('');
    const { mask } = createSecretMask([key]);
    for (const width of [76, 64])
      for (const around of ['', 'u', 'user:', 'x'.repeat(47)]) {
        const lines = b64(`${around}${key}`).match(new RegExp(`.{1,${width}}`, 'g'))!;
        const text = `-----BEGIN CERTIFICATE-----\r\n${lines.join('\r\n')}\r\n-----END CERTIFICATE-----\r\n`;
        const whole = mask(text);
        const shown = whole
          .replace(/-----[A-Z ]+-----/g, '')
          .replaceAll('***', '')
          .replace(/\r\n/g, '');
        expect(shown.length, `${width} ${around}`).toBeLessThanOrEqual(
          Math.ceil(around.length / 3) * 4 + 8,
        );
        for (const size of [1, 2, 7, 80, 1000])
          expect(streamed([key], text, size), `${width} ${around} chunks of ${size}`).toBe(whole);
      }
  });

  it('masks base64 and hex wrapped at any width (base64 -w 72, -w 40, xxd -p -c 16, fold), LF or CR LF, at any shift, line by line, whole and streamed', () => {
    const key = 'k'.repeat(20) + Array.from({ length: 150 }, (_, i) => String(i % 10)).join('');
    const secrets = [key, token];
    const { mask } = createSecretMask(secrets);
    const run = (command: string, args: string[], input: string) =>
      execFileSync(command, args, { input, encoding: 'utf8' });
    const cases: [string, string, number][] = [];
    for (const width of ['72', '40', '100', '17', '12', '9', '8'])
      for (const around of ['', 'u', 'us', 'user:', 'x'.repeat(50)])
        for (const secret of secrets) {
          const printed = run('base64', ['-w', width], `${around}${secret}`);
          // The short token's base64 fits on one line of 72 or 100: nothing is wrapped there.
          if (printed.split('\n').length <= 2) continue;
          // What may stay: the encoding of the text around, and 4 characters at each end.
          cases.push([
            `base64 -w ${width} ${around}`,
            printed,
            Math.ceil(around.length / 3) * 4 + 8,
          ]);
        }
    for (const around of ['', 'u', 'user:'])
      for (const secret of secrets) {
        const hex = run('xxd', ['-p', '-c', '16'], `${around}${secret}`);
        cases.push([`xxd -p -c 16 ${around}`, hex, 2 * Buffer.from(around).length]);
        cases.push([
          `xxd -p -u -c 8 ${around}`,
          run('xxd', ['-p', '-u', '-c', '8'], `${around}${secret}`),
          2 * Buffer.from(around).length,
        ]);
        // 8 hex digits a line: the narrowest width found (WRAP_MIN).
        cases.push([
          `xxd -p -c 4 ${around}`,
          run('xxd', ['-p', '-c', '4'], `${around}${secret}`),
          2 * Buffer.from(around).length,
        ]);
      }
    // A long token wrapped by the terminal's width, as `fold` does, or by a narrow column.
    cases.push(['fold -w 33', run('fold', ['-w', '33'], key), 0]);
    cases.push(['fold -w 9', run('fold', ['-w', '9'], key), 0]);
    expect(cases.length).toBeGreaterThan(30);
    for (const [what, printed, mayShow] of cases)
      for (const text of [printed, printed.replaceAll('\n', '\r\n')]) {
        const whole = mask(text);
        const shown = whole.replaceAll('***', '').replace(/\r?\n/g, '');
        expect(shown.length, `${what}: ${whole}`).toBeLessThanOrEqual(mayShow);
        // Line by line: the output keeps its lines.
        expect(whole.split('\n').length, what).toBe(text.split('\n').length);
        for (const size of [1, 2, 7, 61, 1000])
          expect(
            streamed(secrets, `before\n${text}after\n`, size),
            `${what} in chunks of ${size}`,
          ).toBe(mask(`before\n${text}after\n`));
      }
  });

  it('masks the beginning of a form wrapped at any width that ends the output (a step stopped while printing it), streamed and in the tail, line by line', () => {
    const secret = 'correct-horse-battery-staple-and-a-much-longer-tail-0123456789';
    const run = (command: string, args: string[]) =>
      execFileSync(command, args, { input: secret, encoding: 'utf8' });
    for (const [what, printed] of [
      ['base64 -w 16', run('base64', ['-w', '16'])],
      ['base64 -w 20', run('base64', ['-w', '20'])],
      ['base64 -w 40', run('base64', ['-w', '40'])],
      ['xxd -p -c 12', run('xxd', ['-p', '-c', '12'])],
      // The narrowest: 8 characters a line.
      ['base64 -w 8', run('base64', ['-w', '8'])],
      ['base64 -w 9', run('base64', ['-w', '9'])],
      ['xxd -p -c 4', run('xxd', ['-p', '-c', '4'])],
      ['fold -w 9', run('fold', ['-w', '9'])],
    ] as const)
      for (const eol of ['\n', '\r\n']) {
        const lines = printed.split('\n');
        // Cut inside its third line: two whole lines and a piece of the next, 20 bytes or more
        // (base64 -w 40 has 4 characters on its third line: cut inside the second only).
        if (lines[2]!.length > 6) {
          const cut = `start\n${lines.slice(0, 2).join(eol)}${eol}${lines[2]!.slice(0, 6)}`;
          const expected = `start\n***${eol}***${eol}***`;
          for (const size of [1, 5, 1000])
            expect(streamed([secret], cut, size), `${what} chunks of ${size}`).toBe(expected);
          expect(createSecretMask([secret]).maskedTail(cut, 1000), what).toBe(expected);
        }
        // Cut inside its second line, where a whole form of a beginning of it may end.
        const early = `start\n${lines[0]}${eol}${lines[1]!.slice(0, 10)}`;
        expect(streamed([secret], early, 3), what).toBe(`start\n***${eol}***`);
        expect(createSecretMask([secret]).maskedTail(early, 1000), what).toBe(
          `start\n***${eol}***`,
        );
        // Cut right after a line.
        const atBreak = `start\n${lines.slice(0, 2).join(eol)}${eol}`;
        expect(streamed([secret], atBreak, 7), what).toBe(`start\n***${eol}***${eol}`);
      }
    // Lines of base64 characters that begin no form of it stay as they are.
    const plain = 'start\nServiceStartedOkay\nAnotherOrdinaryLine\nOK123';
    expect(streamed([secret], plain, 3)).toBe(plain);
    expect(createSecretMask([secret]).maskedTail(plain, 1000)).toBe(plain);
  });

  it('masks the beginning of a form wrapped at any width that ends the output also when another secret holds a space or a quote (its YAML and JSON forms)', () => {
    const key = 'k3yMaterial0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ';
    const printed = execFileSync('bash', ['-c', 'printf %s "$K" | base64 -w 16 | head -c 60'], {
      env: { K: key },
      encoding: 'utf8',
    });
    for (const other of ['correct horse battery staple', 'tok/"+x=\'9f'])
      for (const size of [1, 7, 1000])
        expect(streamed([other, key], printed, size), `${other} in chunks of ${size}`).toBe(
          '***\n***\n***\n***',
        );
  });

  it('gives, streamed in chunks of any size, what masking the whole output gives for forms wrapped at any width among base64-like lines', () => {
    let seed = 7122026;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const key = 'k'.repeat(20) + Array.from({ length: 150 }, (_, i) => String(i % 10)).join('');
    const secrets = [key, 'Zm9vYmFyYmF6cXV4cXV1eA', 'hunter2-Pa55w0rd'];
    const { mask } = createSecretMask(secrets);
    const wrap = (text: string, width: number, eol: string, indent: string) =>
      `${text
        .match(new RegExp(`.{1,${width}}`, 'g'))!
        .map((l) => indent + l)
        .join(eol)}${eol}`;
    const noise = [
      'ok\n',
      'QUJDRUZHSElKS0xNTk9Q\n',
      'QUJDRUZHSElKS0xNTk9Q',
      '    ',
      'Service started\n',
      'abc',
      '\r\n',
      'Zm9v',
      'Zm9vYmFyYmF6',
      'xyz\n',
      '\n',
      '\r',
      '  Zm9vYmFyYmF6cXV4\n',
    ];
    for (let round = 0; round < 150; round++) {
      let text = '';
      for (let i = 0; i < 10; i++) {
        if (next(3) !== 0) {
          text += noise[next(noise.length)]!;
          continue;
        }
        const secret = secrets[next(secrets.length)]!;
        const around = ['', 'u', 'us', 'user:'][next(4)]!;
        const bytes = Buffer.from(`${around}${secret}`);
        const encoded = next(3) === 0 ? bytes.toString('hex') : bytes.toString('base64');
        text += wrap(
          encoded,
          16 + next(80),
          next(2) === 0 ? '\n' : '\r\n',
          next(4) === 0 ? '  ' : '',
        );
      }
      // (Output that ends in the beginning of a secret is masked at the end of a stream only.)
      text += '\nend\n';
      const whole = mask(text);
      const stream = createSecretMask(secrets).maskStream();
      let out = '';
      for (let at = 0; at < text.length; ) {
        const size = 1 + next(next(2) === 0 ? 6 : 200);
        out += stream.push(text.slice(at, at + size));
        at += size;
      }
      expect(out + stream.end(), `round ${round}: ${JSON.stringify(text)}`).toBe(whole);
    }
  });

  it('takes a target across a line break only after a wrapped line (2+ base64 characters, alone or after other text), and does not hold ordinary lines back', () => {
    // The secrets are made of base64 characters: they are looked for across line breaks too.
    const secrets = ['startedOK-1234567', 'Zm9vYmFyYmF6cXV4cXV1eA'];
    const { mask } = createSecretMask(secrets);
    for (const text of [
      // A line ending in other characters (`.`) is no wrapped line.
      'Service started.\nOK-1234567\n',
      'Service started.\r\nOK-1234567\r\n',
      // The first line is too short to be a wrapped line (1 character).
      'Z\nm9vYmFyYmF6cXV4cXV1eA!\n',
      'job 1\n2\n3\n4\n5\n6\n7\n8\n9\n',
    ]) {
      expect(mask(text), text).toBe(text);
      for (const size of [1, 3, 1000]) expect(streamed(secrets, text, size), text).toBe(text);
    }
    // After a wrapped line, indented or not, or after other text on its line: masked, each
    // line's piece, whole and streamed. 8 characters make a wrapped line (`base64 -w 8`).
    for (const [text, masked] of [
      ['Zm9vYmFy\nYmF6cXV4\ncXV1eA\n', '***\n***\n***\n'],
      ['job Zm9vYmFyYmF6cXV4\ncXV1eA\n', 'job ***\n***\n'],
      ['Zm9vYmFyYmF6cXV4\ncXV1eA done\n', '***\n*** done\n'],
      ['  token: |\n    Zm9vYmFyYmF6cXV4\r\n    cXV1eA\n', '  token: |\n    ***\r\n    ***\n'],
      ['xxxxxxxxxxxxxxxxstartedOK\n-1234567\n', 'xxxxxxxxxxxxxxxx***\n***\n'],
      // 2 characters make one too (`xxd -p -c 1`): a secret broken after a word is found.
      ['Service started\nOK-1234567\n', 'Service ***\n***\n'],
      ['Zm9vYmF\nyYmF6cXV4cXV1eA!\n', '***\n***!\n'],
    ]) {
      expect(mask(text!), text).toBe(masked);
      for (const size of [1, 2, 5, 1000]) expect(streamed(secrets, text!, size), text).toBe(masked);
    }
    // Lines are let out as they end: a line that ends in the beginning of a target is held only
    // if it is a wrapped line.
    const stream = createSecretMask(secrets).maskStream();
    expect(stream.push('Service started.\n')).toBe('Service started.\n');
    expect(stream.push('Zm9vYmFyYmF6cXV4\n')).toBe('');
    expect(stream.push('ok\n')).toBe('Zm9vYmFyYmF6cXV4\nok\n');
  });

  it("masks a secret as real tools escape or quote it: printf %q, bash's @Q, jq (-a), python repr and json.dumps", () => {
    // Printed by the real tools (bash, jq, python3): each gets the secret from the environment.
    const printers: [string, string, string[]][] = [
      ['printf %q', 'bash', ['-c', 'printf "%q\\n" "$S"']],
      ['printf %q, C locale', 'bash', ['-c', 'LC_ALL=C printf "%q\\n" "$S"']],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
      ['@Q', 'bash', ['-c', 'printf "%s\\n" "${S@Q}"']],
      ['jq -R', 'bash', ['-c', 'printf "%s" "$S" | jq -R .']],
      ['jq -aR', 'bash', ['-c', 'printf "%s" "$S" | jq -aR .']],
      ['python repr', 'python3', ['-c', 'import os; print(repr(os.environ["S"]))']],
      ['python bytes', 'python3', ['-c', 'import os; print(os.environb[b"S"])']],
      [
        'python json.dumps',
        'python3',
        ['-c', 'import os, json; print(json.dumps(os.environ["S"]))'],
      ],
      // bash's declare -p (and export -p): what follows the =.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
      ['declare -p', 'bash', ['-c', 'v=$(declare -p S); printf "%s\\n" "${v#*=}"']],
      [
        'Data::Dumper',
        'perl',
        ['-MData::Dumper', '-e', '$Data::Dumper::Terse = 1; print Dumper($ENV{S})'],
      ],
      [
        'JSON in JSON (kubectl last-applied-configuration)',
        'python3',
        ['-c', 'import os, json; print(json.dumps(json.dumps({"t": os.environ["S"]})))'],
      ],
    ];
    const secrets = [
      `tok/3nX+Q"z=9fA2b c7Lw's\\x$(é)!*&;|<>\`{}[]?,^`,
      "it's-a-Secret\\path",
      'two words "quoted" here',
      'tab\there-and-é-Secret',
      '~home-Secret#1',
      'dollar$HOME-and-`tick`',
    ];
    for (const secret of secrets) {
      const { mask } = createSecretMask([secret]);
      for (const [what, command, args] of printers) {
        const printed = execFileSync(command, args, {
          encoding: 'utf8',
          env: { ...process.env, S: secret, LANG: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' },
        }).trimEnd();
        const line = `+ login ${printed} done\n`;
        const whole = mask(line);
        // What stays around the mask: the quoting the tool put around the value, nothing of it.
        expect(whole, `${what}: ${printed}`).toMatch(
          /^\+ login (?:\$|b|\\)?(?:\\*['"]|\{\\*"t\\*": \\*")*\*\*\*(?:\\*['"]|\\*"\})*"? done\n$/,
        );
        for (const size of [1, 2, 3, 5, 8, 13, 64])
          expect(streamed([secret], line, size), `${what} in chunks of ${size}`).toBe(whole);
      }
    }
  });

  it('masks each line of a multi-line secret as jq -R and python print it line by line (a JSON credential)', () => {
    const credential = `{\n  "type": "service_account",\n  "private_key_id": "9f8e7d6c5b4a39281706",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n",\n  "client_email": "deploy@example.iam"\n}\n`;
    const { mask } = createSecretMask([credential]);
    for (const [what, command, args] of [
      ['jq -R', 'jq', ['-R', '.']],
      [
        'python repr',
        '/usr/bin/python3',
        ['-c', 'import sys\nfor l in sys.stdin: print(repr(l.rstrip()))'],
      ],
    ] as const) {
      const printed = execFileSync(command, [...args], { input: credential, encoding: 'utf8' });
      const whole = mask(printed);
      // Each line of 4 characters or more is masked: only the quotes and the short lines stay.
      expect(whole, what).toMatch(/^(?:(?:"|')(?:\*\*\*|\{|\})?(?:"|')\n)+$/);
      for (const size of [1, 3, 17, 1000])
        expect(streamed([credential], printed, size), `${what} in chunks of ${size}`).toBe(whole);
    }
  });

  it('masks a secret as YAML, SQL and CSV quote it, as Node prints it, and percent-encoded by curl, Python and jq', () => {
    const node = (script: string) => [process.execPath, ['-e', script]] as const;
    const python = (script: string) =>
      ['/usr/bin/python3', ['-c', `import os, sys\n${script}`]] as const;
    const printers: [string, readonly [string, readonly string[]]][] = [
      // PyYAML (as kubectl -o yaml and Ansible): a ' in a single-quoted scalar written ''.
      ['yaml', python('import yaml; print(yaml.safe_dump({"t": os.environ["S"] + ": #"}))')],
      ['csv', python('import csv; csv.writer(sys.stdout).writerow(["x", os.environ["S"], "y"])')],
      ['util.inspect', node('console.log(require("util").inspect({ t: process.env.S }))')],
      ['quote', python('import urllib.parse as u; print("t=" + u.quote(os.environ["S"]))')],
      [
        'quote safe=""',
        python('import urllib.parse as u; print("t=" + u.quote(os.environ["S"], safe=""))'),
      ],
      ['urlencode', python('import urllib.parse as u; print(u.urlencode({"t": os.environ["S"]}))')],
      ['jq @uri', ['bash', ['-c', 'printf "%s" "$S" | jq -Rr "\\"t=\\" + @uri"']]],
      [
        'curl --data-urlencode',
        [
          'bash',
          [
            '-c',
            'curl -s -G --data-urlencode "t=$S" -o /dev/null -w "%{url_effective}" http://127.0.0.1:9/; echo',
          ],
        ],
      ],
    ];
    const secrets = [
      "it's-a-Secret!(x)*y/z \\ é",
      'two "words" and `ticks` and it\'s',
      'only-slash/and~tilde*star',
    ];
    for (const secret of secrets) {
      const { mask } = createSecretMask([secret]);
      for (const [what, [command, args]] of printers) {
        const printed = execFileSync(command, args, {
          encoding: 'utf8',
          env: { ...process.env, S: secret, PYTHONIOENCODING: 'utf-8' },
        });
        const whole = mask(printed);
        expect(whole, `${what}: ${printed}`).toContain('***');
        // What stays is the quoting around the value (and `: #` added to make YAML quote it).
        expect(whole.replace(/['"`]?\*\*\*(?:: #)?['"`]?/, ''), `${what}: ${printed}`).toMatch(
          /^(?:t: |x,|\{ t: |t=|http:\/\/127\.0\.0\.1:9\/\?t=)(?:,y)?(?: \})?\s*$/,
        );
        for (const size of [1, 2, 3, 5, 8, 13, 64])
          expect(streamed([secret], printed, size), `${what} in chunks of ${size}`).toBe(whole);
      }
    }
  });

  it("masks a secret as Go's JSON writes it (kubectl -o json: <, > and & as \\u003c…), also in kubectl's last-applied-configuration", () => {
    const home = mkdtempSync(path.join(tmpdir(), 'opsbook-kubectl-'));
    try {
      for (const secret of [`pa<ss>&w'o"rd é\\x-Secret`, 'only&amp-and<lt>-Secret']) {
        // Offline: --dry-run=client prints the object kubectl would send, in its JSON.
        const printed = execFileSync(
          'kubectl',
          [
            'create',
            'configmap',
            'x',
            `--from-literal=t=${secret}`,
            '--dry-run=client',
            '--save-config',
            '-o',
            'json',
          ],
          {
            encoding: 'utf8',
            env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: '/dev/null' },
          },
        );
        expect(printed).toContain('\\u0026');
        const { mask } = createSecretMask([secret]);
        const whole = mask(printed);
        expect(whole, printed).toContain('"t": "***"');
        expect(whole, printed).toContain('\\"t\\":\\"***\\"');
        for (const size of [1, 3, 64])
          expect(streamed([secret], printed, size), `chunks of ${size}`).toBe(whole);
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('masks a secret as HTML and XML escape it (jq @html, Python html.escape and xml.sax.saxutils)', () => {
    const python = (script: string) =>
      ['/usr/bin/python3', ['-c', `import os, html, xml.sax.saxutils as x\n${script}`]] as const;
    const printers: [string, readonly [string, readonly string[]]][] = [
      [
        'jq @html',
        ['bash', ['-c', 'printf "%s" "$S" | jq -Rr "\\"<td>\\" + @html + \\"</td>\\""']],
      ],
      ['html.escape', python('print("<td>" + html.escape(os.environ["S"]) + "</td>")')],
      [
        'html.escape quote=False',
        python('print("<td>" + html.escape(os.environ["S"], quote=False) + "</td>")'),
      ],
      ['xml escape', python('print("<td>" + x.escape(os.environ["S"]) + "</td>")')],
      ['xml quoteattr', python('print("<td v=" + x.quoteattr(os.environ["S"]) + "/>")')],
    ];
    for (const secret of [`p&ss<w>"q'x-Secret`, 'only&ampersand-Secret', "it's-a-Secret"]) {
      const { mask } = createSecretMask([secret]);
      for (const [what, [command, args]] of printers) {
        const printed = execFileSync(command, args, {
          encoding: 'utf8',
          env: { ...process.env, S: secret },
        });
        const whole = mask(printed);
        expect(whole, `${what}: ${printed}`).toMatch(/^(?:<td>\*\*\*<\/td>|<td v="\*\*\*"\/>)\n$/);
        for (const size of [1, 2, 5, 64])
          expect(streamed([secret], printed, size), `${what} in chunks of ${size}`).toBe(whole);
      }
    }
  });

  it("masks a secret as PHP's json_encode writes it (/ as \\/, every character past ASCII as \\uXXXX), and JSON.stringify", () => {
    // PHP is not on the test host: its default json_encode escapes `/` as `\/` (unless
    // JSON_UNESCAPED_SLASHES) and writes each UTF-16 unit past ASCII as `\u` and 4 lower-case hex
    // digits (unless JSON_UNESCAPED_UNICODE), https://www.php.net/manual/en/json.constants.php;
    // otherwise it escapes as Python's json.dumps does, so its bytes are json.dumps' with `/`
    // escaped. JSON_UNESCAPED_UNICODE alone keeps the characters and still escapes `/`.
    const php = (script: string) =>
      execFileSync('python3', ['-c', `import os, json\n${script}`], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
      }).trimEnd();
    for (const secret of ['https://deploy:t0k/3nX@x', 'tok/3nX+é😀-Secret', 'only/slash/s']) {
      const { mask } = createSecretMask([secret]);
      const S = JSON.stringify(secret);
      const printed = [
        php(`print(json.dumps({"t": ${S}}).replace("/", "\\\\/"))`),
        php(`print(json.dumps({"t": ${S}}, ensure_ascii=False).replace("/", "\\\\/"))`),
        JSON.stringify({ t: secret }),
      ];
      expect(printed[0], secret).toContain('\\/');
      for (const line of printed) {
        expect(mask(`${line}\n`), line).toMatch(/^\{"t": ?"\*\*\*"\}\n$/);
        for (const size of [1, 3, 64])
          expect(streamed([secret], `${line}\n`, size), `${line} in chunks of ${size}`).toBe(
            mask(`${line}\n`),
          );
      }
    }
  });

  it('does not mask encodings shorter than 8 characters (a 3-character secret is masked only as it is)', () => {
    const { mask } = createSecretMask(['a/c']);
    expect(mask(`${b64('a/c')} a%2Fc a/c`)).toBe(`${b64('a/c')} a%2Fc ***`);
  });
});

describe('a form wrapped at fewer than 16 columns', () => {
  it('is not looked for where a short secret encodes to fewer than 8 characters: ordinary narrow lines stay', () => {
    // `1` and `ab` are masked as they are; their base64 and hex (MQ==, YWI=, 6162) are too short
    // to be forms, across lines as on one.
    const secrets = ['1', 'ab'];
    const { mask } = createSecretMask(secrets);
    const text = 'status\n6162\nYWI=\nMQ==\ncounter\n31\n32\nready\n';
    const masked = text.replaceAll('1', '***').replaceAll('ab', '***');
    expect(mask(text)).toBe(masked);
    for (const size of [1, 3, 1000]) expect(streamed(secrets, text, size)).toBe(masked);
  });

  it('masks the hex and base64 of a 20-character token at 8 and 9 columns, whole, streamed and stopped inside', () => {
    const token = 'Ug8t9N2WCbnsNd4oMhJN';
    const run = (command: string, args: string[], input = token) =>
      execFileSync(command, args, { input, encoding: 'utf8' });
    for (const [what, printed] of [
      ['fold -w 9', run('fold', ['-w', '9'])],
      ['base64 -w 8', run('base64', ['-w', '8'])],
      ['xxd -p -c 4', run('xxd', ['-p', '-c', '4'])],
    ] as const) {
      // (fold writes no line break after the last line: the token has none.)
      const lines = printed.trimEnd().split('\n');
      const all = `${lines.map(() => '***').join('\n')}\n`;
      expect(createSecretMask([token]).mask(`${printed.trimEnd()}\n`), what).toBe(all);
      for (const size of [1, 4, 1000])
        expect(streamed([token], `go\n${printed.trimEnd()}\ndone\n`, size), what).toBe(
          `go\n${all}done\n`,
        );
      // The output stops after its second line: both lines, 16 or 18 characters of it, masked.
      const stopped = `go\n${lines[0]}\n${lines[1]}\n`;
      expect(streamed([token], stopped, 3), what).toBe('go\n***\n***\n');
      expect(createSecretMask([token]).maskedTail(stopped, 1000), what).toBe('go\n***\n***\n');
    }
  });
});

describe('a form wrapped at fewer than 8 columns (down to 2)', () => {
  it('masks base64 -w 2 to -w 7, xxd -p -c 1 to -c 3 and fold -w 2 to -w 5 of a token, whole, streamed and stopped inside', () => {
    const token = 'Ug8t9N2WCbnsNd4oMhJN';
    const run = (command: string, args: string[]) =>
      execFileSync(command, args, { input: token, encoding: 'utf8' });
    const forms: [string, string][] = [];
    for (const w of [2, 3, 4, 6, 7]) forms.push([`base64 -w ${w}`, run('base64', ['-w', `${w}`])]);
    for (const c of [1, 2, 3]) forms.push([`xxd -p -c ${c}`, run('xxd', ['-p', '-c', `${c}`])]);
    for (const w of [2, 3, 4, 5]) forms.push([`fold -w ${w}`, run('fold', ['-w', `${w}`])]);
    for (const [what, printed] of forms) {
      const lines = printed.trimEnd().split('\n');
      const all = `${lines.map(() => '***').join('\n')}\n`;
      expect(createSecretMask([token]).mask(`${printed.trimEnd()}\n`), what).toBe(all);
      for (const size of [1, 4, 1000])
        expect(streamed([token], `go\n${printed.trimEnd()}\ndone\n`, size), what).toBe(
          `go\n${all}done\n`,
        );
      // The output stops after 12 characters of the form or more: those lines masked.
      const n = Math.ceil(12 / lines[0]!.length);
      const stopped = `go\n${lines.slice(0, n).join('\n')}\n`;
      const starred = `go\n${'***\n'.repeat(n)}`;
      expect(streamed([token], stopped, 3), what).toBe(starred);
      expect(createSecretMask([token]).maskedTail(stopped, 1000), what).toBe(starred);
    }
  });

  it('leaves ordinary narrow output alone (ls -1, df, seq, short words), whole and streamed', () => {
    const secrets = ['Ug8t9N2WCbnsNd4oMhJN', 'hunter2-Pa55w0rd', 'done'];
    const text = [
      execFileSync('ls', ['-1', '/usr/bin'], { encoding: 'utf8' })
        .split('\n')
        .slice(0, 400)
        .join('\n'),
      execFileSync('seq', ['1', '300'], { encoding: 'utf8' }),
      execFileSync('df', ['-P'], { encoding: 'utf8' }),
      'ok\nyes\nUP\nabcd\nef01\n1234\n5678\nfine\n',
    ].join('\n');
    const { mask } = createSecretMask(secrets);
    const expected = text.replaceAll(/^done$/gm, '***');
    expect(mask(text)).toBe(expected);
    for (const size of [1, 7, 4096]) expect(streamed(secrets, text, size)).toBe(expected);
  });
});

describe('a wrapped form whose lines are labelled (nl, cat -n, a constant prefix)', () => {
  const token = 'Ug8t9N2WCbnsNd4oMhJN-and-more-of-it';
  it.each([
    'base64 -w 12 | nl',
    'base64 -w 40 | nl -ba',
    'xxd -p -c 8 | cat -n',
    'base64 -w 16 | sed "s/^/> /"',
    'fold -w 10 | sed "s/^/# /"; echo',
    'xxd -p -c 6 | sed "s/^/  | /"',
    'base64 -w 8 | sed "s/^/> > /"',
  ])('masks each line of %s, keeping its label, whole, streamed and stopped inside', (pipeline) => {
    const text = execFileSync(
      'bash',
      ['-c', `echo start; printf %s "$S" | ${pipeline}; echo done`],
      {
        encoding: 'utf8',
        env: { ...process.env, S: token },
      },
    );
    const lines = text.split('\n').slice(1, -2);
    expect(lines.length, text).toBeGreaterThan(1);
    const labelOf = (line: string) => /^(?:[ \t]*\d+\t|(?:[ \t]*[>#|] ?)+)/.exec(line)![0];
    const expected = `start\n${lines.map((l) => `${labelOf(l)}***`).join('\n')}\ndone\n`;
    const { mask, maskedTail } = createSecretMask([token]);
    expect(mask(text), pipeline).toBe(expected);
    for (const size of [1, 5, 64, 1000])
      expect(streamed([token], text, size), `${pipeline} in chunks of ${size}`).toBe(expected);
    // Stopped after its second line (12+ characters of the form): both lines masked.
    const stopped = `start\n${lines.slice(0, 2).join('\n')}\n`;
    const starredTwo = `start\n${lines
      .slice(0, 2)
      .map((l) => `${labelOf(l)}***`)
      .join('\n')}\n`;
    expect(maskedTail(stopped, 10_000), pipeline).toBe(starredTwo);
    expect(streamed([token], stopped, 3), pipeline).toBe(starredTwo);
  });

  it('leaves numbered and quoted ordinary lines alone', () => {
    const text = execFileSync(
      'bash',
      ['-c', 'seq 1 50 | nl; ls -1 /usr/bin | head -50 | sed "s/^/> /"'],
      {
        encoding: 'utf8',
      },
    );
    const secrets = [token, 'hunter2-Pa55w0rd'];
    expect(createSecretMask(secrets).mask(text)).toBe(text);
    expect(streamed(secrets, text, 7)).toBe(text);
  });
});

describe('a wrapped form whose first line holds other text', () => {
  const secret = 'tok/3nX+Q"z=9fA2b c7Lw-deploy-2026-correct-horse-battery-staple';
  it.each([
    ['token: ', 'base64 -w 40', ''],
    ['"data": "', 'base64 -w 33', '"'],
    ['hex: ', 'xxd -p -c 12', ''],
    ['  key: ', 'base64 -w 50', ''],
  ])('masks %s then %s, whole and streamed', (before, encode, after) => {
    const text = execFileSync(
      'bash',
      [
        '-c',
        `echo start; printf %s "$B"; printf %s "$S" | ${encode} | head -c -1; printf '%s\\n' "$A"; echo done`,
      ],
      { encoding: 'utf8', env: { ...process.env, S: secret, B: before, A: after } },
    );
    const lines = text.split('\n');
    expect(lines.length, text).toBeGreaterThan(4);
    const whole = createSecretMask([secret]).mask(text);
    // Each line keeps its place and what comes before the form; nothing of the form stays.
    expect(whole.split('\n')[1]).toBe(`${before}***`);
    for (const line of whole.split('\n').slice(2, -3)) expect(line.trim()).toBe('***');
    expect(whole.endsWith(`***${after}\ndone\n`), whole).toBe(true);
    for (const size of [1, 7, 64, 1000])
      expect(streamed([secret], text, size), `chunks of ${size}`).toBe(whole);
  });
});

describe('a secret in a YAML value folded over lines (PyYAML)', () => {
  const secret =
    'correct horse battery staple deploy token 2026 ~ 9fA2b c7Lw XyZ 0123456789 abcdef more words here ok';
  /** What `yaml.dump` prints for `value` under `data:` (real PyYAML). */
  function pyyamlDump(value: string): string {
    return execFileSync(
      'python3',
      [
        '-c',
        'import sys, yaml; print(yaml.dump({"data": {"passphrase": sys.argv[1]}}), end="")',
        value,
      ],
      { encoding: 'utf8' },
    );
  }
  const words = [
    'correct',
    'battery',
    'staple',
    'deploy',
    '9fA2b',
    '0123456789',
    'abcdef',
    'words',
  ];
  it.each([
    ['plain, broken at a space', secret],
    ['single-quoted', `key: ${secret}`],
    ['double-quoted, broken with \\ and an escaped space', `${secret}é`],
    ['a secret that is the whole value, in a longer line', `${secret} ${secret}`],
  ])('masks it %s, whole and streamed', (_, value) => {
    const text = `before\n${pyyamlDump(value)}after\n`;
    // The dump really folds it over lines.
    expect(text.split('\n').length, text).toBeGreaterThan(4);
    const secrets = [value.includes(secret) && value !== secret ? secret : value];
    const whole = createSecretMask(secrets).mask(text);
    for (const word of words) expect(whole, `${word} in ${whole}`).not.toContain(word);
    expect(whole).toMatch(/^before\ndata:\n {2}passphrase: /);
    expect(whole.endsWith('\nafter\n')).toBe(true);
    expect(whole.split('\n').length).toBe(text.split('\n').length);
    for (const size of [1, 7, 64, 1000])
      expect(streamed(secrets, text, size), `chunks of ${size}`).toBe(whole);
  });

  it.each([
    ['after a \\t, at width 20', 'tok\tAlpha7\tBravo8\tCharlie9\tDelta0\tEcho1\tFoxtrot2', 20],
    ['after \\x01 and \\e, at width 20', 'k3y\x01Sierra7\x1bTango8\x02Uniform9\x03Victor0', 20],
    ['after a \\t, at the default width', `${'Hotel1-'.repeat(10)}\tIndia2\tJuliet3\tKilo4`, 80],
    ['after an escape and at a space', 'Lima5\tMike6 Novem7\tOscar8 Papa9\tQuebec0 Romeo1', 20],
  ])(
    'masks it double-quoted, broken right after an escape (%s), whole and streamed',
    (_, value, width) => {
      const text = execFileSync(
        'python3',
        [
          '-c',
          'import sys, yaml; print(yaml.dump({"data": {"k": sys.argv[1]}}, width=int(sys.argv[2])), end="")',
          value,
          String(width),
        ],
        { encoding: 'utf8' },
      );
      // PyYAML really breaks the value right after an escape: `\t\` (or `\x01\`) ends a line.
      expect(text, text).toMatch(/\\(?:t|x[0-9A-F]{2}|e)\\\n/);
      const secrets = [value];
      const whole = createSecretMask(secrets).mask(`before\n${text}after\n`);
      for (const word of value.split(/[^A-Za-z0-9-]+/).filter((w) => w.length >= 5))
        expect(whole, `${word} in ${whole}`).not.toContain(word.slice(0, 5));
      expect(whole).toMatch(/^before\ndata:\n {2}k: "\*\*\*/);
      expect(whole.endsWith('"\nafter\n')).toBe(true);
      expect(whole.split('\n').length).toBe(text.split('\n').length + 2);
      for (const size of [1, 7, 64, 1000])
        expect(streamed(secrets, `before\n${text}after\n`, size), `chunks of ${size}`).toBe(whole);
    },
  );

  it('masks it in kubectl -o yaml of a ConfigMap (Go YAML folds it too), and the one-line base64 of a Secret', () => {
    // kubectl offline (--dry-run=client): what `kubectl get configmap -o yaml` prints.
    const kubectl = (kind: string) =>
      execFileSync(
        'kubectl',
        [
          'create',
          ...kind.split(' '),
          `--from-literal=passphrase=${secret}`,
          '--dry-run=client',
          '-o',
          'yaml',
        ],
        { encoding: 'utf8' },
      );
    const configMap = kubectl('configmap cm');
    expect(configMap).toContain('0123456789\n    abcdef');
    const masked = createSecretMask([secret]).mask(configMap);
    expect(masked).toContain('  passphrase: ***\n    ***\n');
    for (const word of words) expect(masked).not.toContain(word);
    for (const size of [1, 7, 64]) expect(streamed([secret], configMap, size)).toBe(masked);
    const secretYaml = kubectl('secret generic s');
    expect(createSecretMask([secret]).mask(secretYaml)).toContain('  passphrase: ***\n');
  });
});

describe('hex dumps with offsets (xxd, hexdump -C, od)', () => {
  const key = `-----BEGIN KEY-----\n${Array.from({ length: 5 }, (_, i) => `L${i}${'k3y/Sec+'.repeat(7)}`).join('\n')}\n-----END KEY-----\n`;
  /** The real tool's dump of `input`. */
  const dump = (command: string, args: string[], input: string) =>
    execFileSync(command, args, { input, encoding: 'utf8' });
  const dumps: [string, string[]][] = [
    ['xxd', []],
    ['xxd', ['-g1', '-u']],
    ['xxd', ['-c', '8']],
    ['xxd', ['-e']],
    ['hexdump', ['-C']],
    ['od', ['-A', 'x', '-t', 'x1z']],
    ['od', ['-t', 'x1']],
    ['od', ['-x']],
    ['hexdump', []],
    ['od', ['-c']],
    ['od', ['-An', '-c']],
    ['hexdump', ['-c']],
  ];

  /** What of `secret` a masked dump still shows: 4-byte runs of its hex, 6-character runs of it. */
  function shownOf(masked: string, secret: string): string[] {
    const hex = Buffer.from(secret).toString('hex');
    const lines = masked.split('\n').map((line) => line.replaceAll(' ', '').toLowerCase());
    const shown: string[] = [];
    for (let i = 0; i + 8 <= hex.length; i += 2) {
      const run = hex.slice(i, i + 8);
      // od -x and hexdump print 2-byte words with their bytes swapped, xxd -e 4-byte words.
      const swapped = run.replace(/(..)(..)(..)(..)/, '$2$1$4$3');
      const reversed = run.replace(/(..)(..)(..)(..)/, '$4$3$2$1');
      if (lines.some((l) => [run, swapped, reversed].some((r) => l.includes(r)))) shown.push(run);
    }
    // od -c shows a character a field of 4: with the spaces taken out, they stand together.
    const squeezed = masked.replaceAll(' ', '');
    for (let i = 0; i + 6 <= secret.length; i++) {
      const run = secret.slice(i, i + 6);
      if (run.includes('\n')) continue;
      if (masked.includes(run) || (!run.includes(' ') && squeezed.includes(run))) shown.push(run);
    }
    return shown;
  }

  it("stars out the secret in dumps of text holding it, keeping the dump's layout and what is around it", () => {
    const { mask } = createSecretMask([key, 'hunter2-Pa55w0rd']);
    for (const [command, args] of dumps) {
      const what = `${command} ${args.join(' ')}`;
      const text = dump(command, args, `user: ${key}pass=hunter2-Pa55w0rd;end\n`);
      const masked = mask(text);
      expect(shownOf(masked, key), what).toEqual([]);
      expect(shownOf(masked, 'hunter2-Pa55w0rd'), what).toEqual([]);
      expect(
        masked.split('\n').map((l) => l.length),
        what,
      ).toEqual(text.split('\n').map((l) => l.length));
      // The bytes around the secret stay: "user" and ";end" (in order, or as swapped words).
      const plain = masked.replaceAll(' ', '').toLowerCase();
      expect(
        ['75736572', '73757265', '72657375', 'user:'].some((user) => plain.includes(user)),
        what,
      ).toBe(true);
      expect(masked.includes('*'), what).toBe(true);
    }
  });

  it('stars out the secret in dumps in bits (xxd -b), in octal (od -b, od -t o1, od -o, od) and in decimal (od -d, od -t d1, od -t u1), whole and streamed', () => {
    // No line of 16 bytes repeats (od writes a repeated line as `*`): every byte is in the dump.
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const key = `-----BEGIN KEY-----\n${Array.from({ length: 4 }, (_, i) =>
      Array.from({ length: 60 }, (_, j) => letters[(i * 61 + j * 7) % 64]).join(''),
    ).join('\n')}\n-----END KEY-----\n`;
    const secrets = [key, 'hunter2-Pa55w0rd'];
    const { mask } = createSecretMask(secrets);
    /** The bytes a masked dump still shows (null: starred), read token by token after each offset. */
    function bytesShown(
      masked: string,
      bits: boolean,
      decimal: boolean,
      size: number,
    ): (number | null)[] {
      const bytes: (number | null)[] = [];
      for (const line of masked.split('\n')) {
        // xxd -b: the column of characters follows two spaces; od: the last line is an offset;
        // od -An: no offset, a space before each word.
        const parts = (bits ? line.split('  ')[0]! : line).trim().split(/ +/);
        const tokens = line.startsWith(' ') ? parts : parts.slice(1);
        for (const token of tokens) {
          if (bits) {
            // xxd -b -g N: N bytes of 8 bits a group.
            for (const byte of token.match(/.{8}/g)!)
              bytes.push(byte.includes('*') ? null : Number.parseInt(byte, 2));
            continue;
          }
          // od -b, -t o1: a byte in 3 octal digits; od -o, -d, -t d2, -t o4…: `size`-byte words,
          // little-endian, signed or not.
          const width = !decimal && token.length === 3 ? 1 : size;
          if (token.includes('*')) {
            bytes.push(...Array<null>(width).fill(null));
            continue;
          }
          let value = BigInt.asUintN(8 * width, BigInt(decimal ? token : `0o${token}`));
          for (let b = 0; b < width; b++, value >>= 8n) bytes.push(Number(value & 0xffn));
        }
      }
      return bytes;
    }
    /** 4-byte runs of `secret` that `bytes` still shows. */
    function runsShown(bytes: (number | null)[], secret: string): string[] {
      const s = Buffer.from(secret);
      const shown: string[] = [];
      for (let i = 0; i + 4 <= s.length; i++)
        for (let at = 0; at + 4 <= bytes.length; at++)
          if ([0, 1, 2, 3].every((j) => bytes[at + j] === s[i + j]))
            shown.push(s.subarray(i, i + 4).toString());
      return shown;
    }
    for (const [command, args] of [
      ['xxd', ['-b']],
      ['od', ['-b']],
      ['od', ['-A', 'x', '-t', 'o1']],
      ['od', ['-o']],
      ['od', []],
      ['od', ['-A', 'd', '-o']],
      ['od', ['-An', '-o']],
      ['od', ['-An', '-t', 'o2']],
      ['od', ['-d']],
      ['od', ['-An', '-d']],
      ['od', ['-A', 'x', '-t', 'u2']],
      ['od', ['-t', 'o2']],
      // Signed decimal, and words of 4 and 8 bytes in octal or decimal.
      ['od', ['-t', 'd2']],
      ['od', ['-An', '-t', 'd2']],
      ['od', ['-t', 'd4']],
      ['od', ['-An', '-t', 'u4']],
      ['od', ['-t', 'o4']],
      ['od', ['-An', '-t', 'o4']],
      ['od', ['-t', 'd8']],
      ['od', ['-t', 'u8']],
      ['od', ['-An', '-t', 'o8']],
      // Bytes in decimal, signed or not, with or without offsets.
      ['od', ['-t', 'd1']],
      ['od', ['-t', 'u1']],
      ['od', ['-An', '-t', 'd1']],
      ['od', ['-An', '-t', 'u1']],
      ['od', ['-A', 'x', '-t', 'u1', '-w8']],
      ['hexdump', ['-b']],
      ['xxd', ['-b', '-c', '4']],
      ['xxd', ['-b', '-g', '2']],
      ['xxd', ['-b', '-g', '0', '-c', '5']],
    ] as const) {
      const what = `${command} ${args.join(' ')}`;
      for (const around of ['user: ', 'u=']) {
        // Enough after the secrets that whole words of 8 bytes of it stay (a word holding a byte
        // of a secret is starred whole).
        const text = dump(command, [...args], `${around}${key}pass=hunter2-Pa55w0rd;end of dump\n`);
        const whole = mask(text);
        const type = args.find((a) => /^[oud]\d$/.test(a));
        const bytes = bytesShown(
          whole,
          command === 'xxd',
          (args as readonly string[]).includes('-d') || /^[ud]/.test(type ?? ''),
          type ? Number(type.slice(1)) : 2,
        );
        expect(bytes.length, what).toBeGreaterThan(key.length);
        expect(runsShown(bytes, key), `${what} ${around}`).toEqual([]);
        expect(runsShown(bytes, 'hunter2-Pa55w0rd'), `${what} ${around}`).toEqual([]);
        expect(shownOf(whole, key), what).toEqual([]);
        // The layout stays, and so do the bytes around the secrets ("dump\n"; od -o hides the
        // other bytes of a word that holds a byte of a secret).
        expect(
          whole.split('\n').map((l) => l.length),
          what,
        ).toEqual(text.split('\n').map((l) => l.length));
        expect(runsShown(bytes, 'dump\n'), what).toEqual(['dump', 'ump\n']);
        for (const size of [1, 7, 64, 1000])
          expect(streamed(secrets, text, size), `${what} in chunks of ${size}`).toBe(whole);
      }
    }
  });

  it('reads a line of od -t u1 that is a line of od -b as well (lower-case letters) as its run does', () => {
    // ` 117 110 116 101` is "unte" in decimal and "OHNA" in octal: each line of lower-case
    // letters d-z reads both ways, the dump's other lines say which it is.
    const secret = 'hunterhuntertrustpass';
    const secrets = [secret];
    const { mask } = createSecretMask(secrets);
    for (const [args, input] of [
      [['-An', '-t', 'u1', '-w8'], `token: ${secret}-9\n`],
      [['-t', 'u1', '-w8'], `token: ${secret}-9\n`],
      // The run begins with lines that read both ways: the first that does not says which.
      [['-An', '-t', 'u1', '-w8'], `${secret}-9\n`],
      [['-t', 'u1', '-w4'], `${secret}-9\n`],
    ] as const) {
      const what = `od ${args.join(' ')} of ${JSON.stringify(input)}`;
      const text = dump('od', [...args], input);
      const whole = mask(text);
      const numbers = (t: string) =>
        t
          .split('\n')
          .flatMap((l) => (l.startsWith(' ') ? l : l.slice(7)).trim().split(/ +/))
          .filter((n) => n !== '');
      const shown = numbers(whole).map((n) => (n.includes('*') ? '*' : String.fromCharCode(+n)));
      expect(shown.join(''), what).toBe(input.replace(secret, '*'.repeat(secret.length)));
      expect(
        whole.split('\n').map((l) => l.length),
        what,
      ).toEqual(text.split('\n').map((l) => l.length));
      for (const size of [1, 5, 64])
        expect(streamed(secrets, text, size), `${what} in chunks of ${size}`).toBe(whole);
    }
    // The same lines in od -b are octal (its fields are zero-padded: ` 012`, never `  10`).
    const octal = dump('od', ['-An', '-b', '-w8'], `${secret}\n`);
    expect(mask(octal)).not.toMatch(/[0-7]{3} [0-7]{3} [0-7]{3} [0-7]{3}/);
  });

  it('reads a run of od -t u1 whose first 17+ lines read as od -b too as od -t u1, whole and streamed', () => {
    // Every byte of the filler and of the secret is a letter d-k or n-u (100-107, 110-117): each
    // line reads as octal too; only the line holding the last \n (`  10`) says it is decimal.
    const secret = 'superstrongtokenhere';
    const secrets = [secret];
    const { mask } = createSecretMask(secrets);
    for (const args of [
      ['-t', 'u1'],
      ['-An', '-t', 'u1'],
      ['-t', 'u1', '-w8'],
    ]) {
      const input = `${'hunter'.repeat(60).slice(0, 16 * 20)}${secret}\n`;
      const text = dump('od', args, input);
      const what = `od ${args.join(' ')}`;
      const whole = mask(text);
      const stars = (whole.match(/\*\*\*/g) ?? []).length;
      expect(stars, what).toBe(secret.length);
      expect(
        whole.split('\n').map((l) => l.length),
        what,
      ).toEqual(text.split('\n').map((l) => l.length));
      for (const size of [1, 64, 100_000])
        expect(streamed(secrets, text, size), `${what} in chunks of ${size}`).toBe(whole);
    }
  });

  it('reads od -t d1 fields only in its range (-128..127): a column of unsigned bytes in fields of 5 is not its dump', () => {
    const secret = 'p\u00e4sswort-geheim';
    const { mask } = createSecretMask([secret]);
    // Real od -t d1: the bytes past 127 are negative.
    const real = dump('od', ['-t', 'd1'], `${secret}\n`);
    expect(real).toMatch(/ -61 /);
    expect(mask(real)).not.toMatch(/ -61 /);
    // The same bytes written 0-255 in fields of 5 are no line od -t d1 prints; nor are -129..-255.
    const bytes = [...Buffer.from(secret)];
    const field = (n: number) => String(n).padStart(5);
    for (const written of [bytes, bytes.map((b) => (b > 127 ? b - 256 : b === 112 ? -144 : b))]) {
      const lines = [0, 16]
        .map(
          (at) =>
            `${at.toString(8).padStart(7, '0')}${written
              .slice(at, at + 16)
              .map(field)
              .join('')}`,
        )
        .join('\n');
      const text = `${lines}\n`;
      expect(mask(text), text).toBe(text);
    }
  });

  it('stars out the secret in a dump writing each line in two forms (od -bc: octal, then characters), whole and streamed', () => {
    const secret = 'hunter2-Pa55w0rd-and-more-of-it';
    const secrets = [secret];
    const { mask } = createSecretMask(secrets);
    const escapes: Record<string, number> = { '\\0': 0, '\\n': 10, '\\t': 9, '\\r': 13 };
    /** The bytes each kind of line still shows (null: starred), in order. */
    function shown(
      masked: string,
      pad: number,
    ): { octal: (number | null)[]; chars: (number | null)[] } {
      const octal: (number | null)[] = [];
      const chars: (number | null)[] = [];
      const lines = masked.split('\n').filter((l) => l.trim() !== '');
      for (let i = 0; i + 1 < lines.length; i += 2) {
        for (const token of lines[i]!.slice(pad).trim().split(/ +/))
          octal.push(token.includes('*') ? null : Number.parseInt(token, 8));
        const fields = lines[i + 1]!.slice(pad).match(/.{1,4}/g) ?? [];
        for (const field of fields) {
          const f = field.trim();
          if (f.includes('*')) chars.push(null);
          else if (f === '') chars.push(0x20);
          else if (/^[0-7]{3}$/.test(f)) chars.push(Number.parseInt(f, 8));
          else chars.push(escapes[f] ?? f.charCodeAt(0));
        }
      }
      return { octal, chars };
    }
    const runsOf = (bytes: (number | null)[]) => {
      const s = Buffer.from(secret);
      const runs: string[] = [];
      for (let i = 0; i + 4 <= s.length; i++)
        for (let at = 0; at + 4 <= bytes.length; at++)
          if ([0, 1, 2, 3].every((j) => bytes[at + j] === s[i + j]))
            runs.push(s.subarray(i, i + 4).toString());
      return runs;
    };
    for (const [args, pad] of [
      [['-bc'], 7],
      [['-An', '-bc'], 0],
      [['-A', 'x', '-bc'], 6],
    ] as const) {
      const what = `od ${args.join(' ')}`;
      const text = dump('od', [...args], `user: ${secret};end of the dump here\n`);
      const whole = mask(text);
      const { octal, chars } = shown(whole, pad);
      expect(octal.length, what).toBeGreaterThan(secret.length);
      expect(runsOf(octal), what).toEqual([]);
      expect(runsOf(chars), what).toEqual([]);
      // The layout stays, and so do the bytes around the secret.
      expect(
        whole.split('\n').map((l) => l.length),
        what,
      ).toEqual(text.split('\n').map((l) => l.length));
      expect(whole, what).toMatch(/ {3}u {3}s {3}e {3}r/);
      for (const size of [1, 7, 64, 1000])
        expect(streamed(secrets, text, size), `${what} in chunks of ${size}`).toBe(whole);
    }
  });

  it('stars out an encoded form of the secret in a dump (base64 | xxd, a JSON file through hexdump -C)', () => {
    const token = 'tok/3nX+Q"z=9fA2b c7Lw-deploy-2026';
    const secrets = [key, token];
    const { mask } = createSecretMask(secrets);
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const sh = (script: string, secret: string) =>
      execFileSync('bash', ['-c', script], {
        encoding: 'utf8',
        env: { ...process.env, S: secret },
      });
    for (const [command, args] of dumps) {
      const dumper = `${command} ${args.join(' ')}`;
      const cases: [string, string, string][] = [
        // `kubectl get secret -o jsonpath='{.data.token}' | xxd`: the secret's base64.
        ['printf %s "$S" | base64 -w0', token, b64(token)],
        ['printf %s "$S" | base64', key, b64(key)],
        // The base64 of text around the secret (curl's Authorization header in a capture).
        ['printf "user:%s" "$S" | base64 -w0', token, b64(`user:${token}`).slice(8, -8)],
        ['printf %s "$S" | jq -R .', token, JSON.stringify(token).slice(1, -1)],
      ];
      for (const [encode, secret, shown] of cases) {
        const text = sh(`${encode} | ${dumper}`, secret);
        const whole = mask(text);
        expect(shownOf(whole, shown), `${encode} | ${dumper}`).toEqual([]);
        expect(whole.split('\n').map((l) => l.length)).toEqual(
          text.split('\n').map((l) => l.length),
        );
        for (const size of [1, 7, 64, 1000])
          expect(streamed(secrets, text, size), `${encode} | ${dumper}, chunks of ${size}`).toBe(
            whole,
          );
      }
    }
  });

  it('stars out the secret in hex dumps without offsets (od -An -t x1, -x, -t x2, -t x4, -w8), whole and streamed', () => {
    const secrets = [key, 'hunter2-Pa55w0rd'];
    const { mask } = createSecretMask(secrets);
    for (const args of [
      ['-An', '-t', 'x1'],
      ['-An', '-x'],
      ['-An', '-t', 'x2'],
      ['-An', '-t', 'x4'],
      ['-An', '-t', 'x1', '-w8'],
    ]) {
      const what = `od ${args.join(' ')}`;
      const text = dump('od', args, `user: ${key}pass=hunter2-Pa55w0rd;end\n`);
      const whole = mask(text);
      expect(shownOf(whole, key), what).toEqual([]);
      expect(shownOf(whole, 'hunter2-Pa55w0rd'), what).toEqual([]);
      expect(whole.includes('*'), what).toBe(true);
      expect(
        whole.split('\n').map((l) => l.length),
        what,
      ).toEqual(text.split('\n').map((l) => l.length));
      // "user" stays (in order, or as od's little-endian words).
      const plain = whole.replaceAll(' ', '').toLowerCase();
      expect(
        ['75736572', '73757265', '72657375'].some((user) => plain.includes(user)),
        what,
      ).toBe(true);
      for (const size of [1, 7, 64, 1000])
        expect(streamed(secrets, text, size), `${what} in chunks of ${size}`).toBe(whole);
    }
    // Indented numbers that are not the secret's bytes stay as they are.
    const table = ' 10 20 30 40\n 50 60 70 80\n';
    expect(mask(table)).toBe(table);
    expect(streamed(secrets, table, 1)).toBe(table);
  });

  it('stars out a piece of the secret at the end or the start of a dump of a cut file (head -c, tail -c)', () => {
    const { mask } = createSecretMask([key]);
    const head = dump('xxd', [], key.slice(0, 40));
    expect(shownOf(mask(head), key)).toEqual([]);
    const tail = dump('hexdump', ['-C'], key.slice(-45));
    expect(shownOf(mask(tail), key)).toEqual([]);
  });

  it('masks a dump streamed in chunks of any size as it masks the whole dump', () => {
    const secrets = [key, 'hunter2-Pa55w0rd'];
    const { mask } = createSecretMask(secrets);
    const text = `before\n${dump('xxd', [], `user: ${key}`)}between\n${dump('hexdump', ['-C'], `x${key}pass=hunter2-Pa55w0rd`)}${dump('od', ['-An', '-c'], `k=${key}`)}`;
    const whole = mask(text);
    expect(shownOf(whole, key)).toEqual([]);
    for (const size of [1, 7, 40, 333, 5000])
      expect(streamed(secrets, text, size), `chunks of ${size}`).toBe(whole);
    // A dump cut off by the end of the output: its last lines are masked at the end too.
    const cut = dump('xxd', [], key.slice(0, 60));
    for (const size of [1, 16, 1000]) expect(shownOf(streamed([key], cut, size), key)).toEqual([]);
  });

  it('holds back an unfinished line only while it may still be a dump line', () => {
    const stream = createSecretMask([key]).maskStream();
    // A line of a dump is read whole: its beginning waits for its end.
    expect(stream.push('00000000: 6162 6364')).toBe('');
    // Whole, it is held until enough of the dump follows it, or the dump ends.
    expect(stream.push(' 6566  abcdef\n')).toBe('');
    expect(stream.push('done.\n')).toBe('00000000: 6162 6364 6566  abcdef\ndone.\n');
    expect(stream.push('   h   u')).toBe('');
    expect(stream.push('\n')).toBe('');
    expect(stream.push('ok\n')).toBe('   h   u\nok\n');
    // Progress without a line break, indented or not, is let out as it comes.
    const progress = createSecretMask(['hunter2-Pa55w0rd']).maskStream();
    expect(progress.push('  % Total    % Received %')).toBe('  % Total    % Received %');
    expect(progress.push('\r  45  100M')).toBe('\r  45  100M');
    expect(progress.push('\ndownloading... 10%')).toBe('\ndownloading... 10%');
  });

  it("lets a line out as it comes once it is longer than any dump line (a host's endless line is not held)", () => {
    const stream = createSecretMask([key]).maskStream();
    expect(stream.push('00000000: ')).toBe('');
    const tokens = '00 '.repeat(10_000);
    const out = stream.push(tokens);
    expect(out.length).toBeGreaterThan(20_000);
    expect(stream.push(tokens).length).toBeGreaterThan(20_000);
  });

  it('leaves dumps and output without the secret as they are', () => {
    const { mask } = createSecretMask([key]);
    const text = dump('xxd', [], 'nothing secret here, just bytes 0123456789\n');
    expect(mask(text)).toBe(text);
    expect(streamed([key], text, 5)).toBe(text);
    expect(mask('00000000 a log line that looks a bit like a dump\n')).toBe(
      '00000000 a log line that looks a bit like a dump\n',
    );
  });
});
