import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createSecretMask } from './secret-mask.js';

/** Every `k` characters in a row of `text`, whitespace and line ends left out. */
function windows(text: string, k: number): Set<string> {
  const flat = text.replace(/\s+/g, '');
  const out = new Set<string>();
  for (let i = 0; i + k <= flat.length; i++) out.add(flat.slice(i, i + k));
  return out;
}

const sh = (script: string, input: string) =>
  execFileSync('bash', ['-c', script], { input, encoding: 'utf8' });

describe('a stream with pauses (flush) at random places', () => {
  it('never shows more of a secret than masking the whole output does (seeded)', () => {
    let seed = 8122026;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const token = 'Ug8t9N2WCbnsNd4oMhJN-and-more-of-it';
    const key = 'k3y/Sec+'.repeat(5);
    const pass = 'hunter2-Pa55w0rd';
    const secrets = [token, key, pass];
    const forms: string[] = [];
    for (const s of secrets) {
      forms.push(`${s}\n`, `pw=${s}\r\n`, `${s}\r`);
      for (let w = 8; w <= 15; w++)
        forms.push(sh(`base64 -w ${w}`, s), sh(`base64 -w ${w}`, `u:${s}`));
      for (const c of [4, 5, 7]) forms.push(sh(`xxd -p -c ${c}`, s));
      forms.push(sh('fold -w 9', `${s}\n`), sh('fold -w 11', Buffer.from(s).toString('hex')));
      forms.push(sh('od -An -t u1', s), sh('od -t d1', `x${s}`), sh('xxd', `user: ${s}`));
      forms.push(sh('base64 -w 12 | tr "\\n" "\\r"', s));
    }
    const noise = ['ok\n', 'waiting\n', 'QUJDRUZH\n', '\n', '  ', 'abc', 'Zm9vYmFy\n', '\r'];
    // The forms a leak would show: the secret, its hex, its base64 at each shift (inner part).
    const leakWindows = new Set<string>();
    for (const s of secrets)
      for (const form of [
        s,
        Buffer.from(s).toString('hex'),
        Buffer.from(s).toString('hex').toUpperCase(),
        ...['', 'u', 'u:'].map((p) => Buffer.from(`${p}${s}`).toString('base64').slice(4, -4)),
      ])
        for (const w of windows(form, 10)) leakWindows.add(w);
    for (let round = 0; round < 300; round++) {
      let text = '';
      for (let i = 0; i < 6; i++)
        text += next(2) === 0 ? forms[next(forms.length)]! : noise[next(noise.length)]!;
      text += 'end\n';
      const whole = createSecretMask(secrets).mask(text);
      const allowed = windows(whole, 10);
      const stream = createSecretMask(secrets).maskStream();
      let out = '';
      const pauses: number[] = [];
      for (let at = 0; at < text.length; ) {
        const size = 1 + next(next(2) === 0 ? 6 : 60);
        out += stream.push(text.slice(at, at + size));
        at += size;
        if (next(3) === 0) {
          out += stream.flush();
          pauses.push(at);
        }
      }
      out += stream.end();
      const leaked = [...windows(out, 10)].filter((w) => leakWindows.has(w) && !allowed.has(w));
      expect(leaked, `round ${round}: ${JSON.stringify(text)} pauses ${pauses}\n${out}`).toEqual(
        [],
      );
    }
  });
});

describe('a form printed a line at a time, a pause after each line', () => {
  const token = 'Ug8t9N2WCbnsNd4oMhJN-and-more-of-it';
  /** Pushes `text` a line at a time, pausing (flush) after each; returns all it let out. */
  const paused = (secrets: string[], text: string) => {
    const stream = createSecretMask(secrets).maskStream();
    let out = '';
    for (const line of text.split(/(?<=\n)/)) out += stream.push(line) + stream.flush();
    return out + stream.end();
  };

  it('stars the middle lines of base64 -w 12 and xxd -p -c 5 as masking the whole output does', () => {
    for (const text of [
      sh('base64 -w 12', token),
      sh('base64 -w 12', `u:${token}`),
      sh('xxd -p -c 5', token),
    ]) {
      const whole = createSecretMask([token]).mask(text);
      expect(whole, text).not.toContain('V0NibnNOZDRv');
      // The first line may be starred whole (a pause ends it: read as the end of the output).
      const shown = paused([token], text).split('\n');
      expect(shown.slice(1), text).toEqual(whole.split('\n').slice(1));
      expect(['***', whole.split('\n')[0]], text).toContain(shown[0]);
    }
  });

  it('stars the first line of a form that a pause ends, after a dump of another secret', () => {
    const pass = 'hunter2-Pa55w0rd';
    const text = `${sh('od -An -t u1', pass)}${sh('base64 -w 14', `u:${pass}`)}end\n`;
    const firstLine = sh('base64 -w 14', `u:${pass}`).split('\n')[0]!;
    const stream = createSecretMask([token, pass]).maskStream();
    const cut = text.indexOf(firstLine) + firstLine.length + 1;
    const shown = stream.push(text.slice(0, cut)) + stream.flush() + stream.push(text.slice(cut));
    expect(shown + stream.end()).not.toContain(firstLine.slice(4));
  });
});

describe('a piece from the middle of a wrapped form, printed after a pause and followed by other text', () => {
  it('is starred line by line (a pause, then lines 3-5 of base64 -w 12 or xxd -p -c 5, then done)', () => {
    const token = 'Ug8t9N2WCbnsNd4oMhJN-and-more-of-it-and-even-more-of-the-token-here';
    for (const form of ['base64 -w 12', 'xxd -p -c 5', 'base64 -w 4']) {
      const lines = sh(form, token).split('\n');
      const middle = lines.slice(2, 5);
      const stream = createSecretMask([token]).maskStream();
      let out = stream.push(`${lines.slice(0, 2).join('\n')}\n`) + stream.flush();
      out += stream.push(`${middle.join('\n')}\n`);
      out += stream.push('done\n') + stream.end();
      const leaked = middle.filter((l) => out.includes(l));
      expect(leaked, `${form}: ${JSON.stringify(out)}`).toEqual([]);
      expect(out.endsWith('***\n***\n***\ndone\n'), `${form}: ${JSON.stringify(out)}`).toBe(true);
    }
  });
});

describe('a whole secret printed right after a pause', () => {
  it('is masked whole, also when it ends with its own beginning (k3y/Sec+ repeated)', () => {
    for (const secret of ['k3y/Sec+'.repeat(5), 'admin-2024-x-admin-2024']) {
      // Another secret, printed with a pause inside it and one after it.
      const stream2 = createSecretMask([secret, 'hunter2-Pa55w0rd']).maskStream();
      let out = stream2.push('hun') + stream2.flush();
      out += stream2.push('ter2-Pa55w0rd\n') + stream2.flush();
      out += stream2.push(`${secret}\nend\n`) + stream2.end();
      expect(out, secret).toBe('***\n***\nend\n');
    }
  });
});

describe('forms with CR-only line ends (tr "\\n" "\\r")', () => {
  it('are masked as the same forms with LF line ends, the CRs kept', () => {
    const token = 'Ug8t9N2WCbnsNd4oMhJN-and-more-of-it';
    const { mask } = createSecretMask([token]);
    for (const form of ['base64 -w 12', 'xxd -p -c 5', 'od -An -t u1', 'xxd']) {
      const lf = sh(form, token);
      const cr = lf.replaceAll('\n', '\r');
      expect(mask(`${cr}\nend\n`), form).toBe(`${mask(lf).replaceAll('\n', '\r')}\nend\n`);
      expect(mask(lf), form).not.toBe(lf);
    }
    // Ordinary output with carriage returns (a progress line) is left as it is.
    expect(mask('10%\r50%\r100%\ndone\n')).toBe('10%\r50%\r100%\ndone\n');
  });
});

describe('a CR-only "line" longer than the line splitter keeps (64 KiB), cut inside a form', () => {
  it('masks, as the end of a cut text (maskedTail), the lines of the form the cut line ends with', () => {
    const token = 'Ug8t9N2WCbnsNd4oMhJN-and-more-of-it';
    const mask = createSecretMask([token]);
    const form = sh('base64 -w 12 | tr "\\n" "\\r"', `cr:${token}`);
    // A progress meter's carriage returns, then the form: the splitter cut inside the form.
    const progress = 'progress 10%\r'.repeat(20);
    const lines = Buffer.from(`cr:${token}`)
      .toString('base64')
      .match(/.{1,12}/g)!
      .slice(1, -1);
    for (const cutAt of [24, 30, 36, 40]) {
      const cut = progress + form.slice(0, cutAt);
      const shown = mask.maskedTail(cut, cut.length);
      const leaked = lines.filter((l) => shown.includes(l.slice(0, 8)));
      expect(leaked, `cut at ${cutAt}: ${JSON.stringify(shown.slice(-60))}`).toEqual([]);
      expect(shown.startsWith(progress), 'the progress lines stay').toBe(true);
    }
    // The journal's copy of a long CR-only output whose start was cut inside the form.
    const tail = `${form.slice(30)}\rdone\r`;
    const journal = mask.maskedTail(tail, 10_000, 1000);
    expect(
      lines.filter((l) => journal.includes(l.slice(-8))),
      journal,
    ).toEqual([]);
    expect(journal.endsWith('\rdone\r'), journal).toBe(true);
    expect(journal.startsWith('…(1000 characters cut)…\n'), journal).toBe(true);
  });
});

describe('a form wrapped at 2-7 columns printed a line a pause (live output)', () => {
  /** The live output of `text` printed a line at a time, each line followed by a pause. */
  const linePerPause = (mask: ReturnType<typeof createSecretMask>, text: string) => {
    const stream = mask.maskStream();
    let out = '';
    for (const line of text.split(/(?<=\n)/)) out += stream.push(line) + stream.flush();
    return out + stream.end();
  };
  const token = 'Sup3rS3cretT0kenValue_xyz-and-more';
  const mask = createSecretMask([token]);
  const b64 = Buffer.from(token).toString('base64');
  const hex = Buffer.from(token).toString('hex');
  const cases: [string, string, string][] = [];
  for (const w of [2, 3, 4, 5, 6, 7]) {
    cases.push([`base64 -w ${w}`, sh(`base64 -w ${w}`, token), b64]);
    cases.push([`base64 -w ${w} | nl`, sh(`base64 -w ${w} | nl`, token), b64]);
    cases.push([
      `base64 -w ${w} | sed 's/^/> /'`,
      sh(`base64 -w ${w} | sed 's/^/> /'`, token),
      b64,
    ]);
    cases.push([`fold -w ${w} | cat -n`, sh(`fold -w ${w} | cat -n`, token), token]);
  }
  cases.push(['xxd -p -c 1', sh('xxd -p -c 1', token), hex]);
  cases.push(['xxd -p -c 3', sh('xxd -p -c 3', token), hex]);
  // nl's labels for the first half of the lines, then '> ' ones: the label changes mid-form.
  const nlLines = sh('base64 -w 3 | nl', token).split(/(?<=\n)/);
  const quoted = sh("base64 -w 3 | sed 's/^/> /'", token).split(/(?<=\n)/);
  const half = nlLines.length >> 1;
  cases.push(['nl, then > ', [...nlLines.slice(0, half), ...quoted.slice(half)].join(''), b64]);

  it.each(cases)(
    '%s: no more than the first 7 characters of the form are shown',
    (_, text, form) => {
      const shown = linePerPause(mask, text);
      // Each line's piece of the form (its label left out), and where it stands in the form.
      let at = 0;
      const leaked: string[] = [];
      const shownLines = shown.split('\n');
      for (const [i, line] of text.split('\n').entries()) {
        if (line === '') continue;
        const piece = /(\S+)$/.exec(line)![1]!;
        if (at + piece.length > 7 && shownLines[i] === line) leaked.push(line);
        at += piece.length;
      }
      expect(leaked, shown).toEqual([]);
      // Nor 8 characters of the form in a row, the shown lines' pieces joined.
      const joined = shownLines.map((l) => /(\S*)$/.exec(l)![1]).join('');
      const windows = [...form].map((_, i) => form.slice(i, i + 8)).filter((w) => w.length === 8);
      expect(windows.filter((w) => joined.includes(w))).toEqual([]);
      // The lines are kept (starred, not dropped).
      expect(shown.split('\n').length).toBe(text.split('\n').length);
    },
  );

  it('shows ordinary short lines printed a pause apart', () => {
    const text = 'ok\nab\n12\ndone\nQQ\nrunning\n';
    expect(linePerPause(mask, text)).toBe(text);
  });
});

describe('a very long secret (24 KiB: a certificate bundle, a keytab in base64)', () => {
  // (32 KiB passes too, in ~25 s: the masker's cost grows with the square of the length.)
  it.each([24 * 1024])(
    '%i characters: masked as it is, in base64 and hex, live and whole (the pattern of its forms was too large for V8: the masker threw)',
    (size) => {
      const secret = Array.from({ length: size }, (_, i) =>
        String.fromCharCode(65 + ((i * 7919) % 26) + (i % 3 === 0 ? 32 : 0)),
      ).join('');
      const mask = createSecretMask([secret, 'pw1']);
      const output = `before\n${secret}\n${sh('base64 -w 76', secret)}${sh('xxd -p', secret)}after pw1\n`;
      const stream = mask.maskStream();
      let live = '';
      for (let at = 0; at < output.length; at += 4096)
        live += stream.push(output.slice(at, at + 4096));
      live += stream.end();
      for (const shown of [live, mask.mask(output), mask.maskedTail(output, 10_000)]) {
        expect(shown).not.toContain(secret.slice(1000, 1016));
        expect(shown).not.toContain(Buffer.from(secret).toString('base64').slice(760, 776));
        expect(shown).not.toContain(Buffer.from(secret).toString('hex').slice(600, 616));
        expect(shown).not.toContain('pw1');
        expect(shown.endsWith('after ***\n')).toBe(true);
      }
      expect(live.startsWith('before\n')).toBe(true);
    },
    120_000,
  );
});
