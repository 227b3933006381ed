// biome-ignore-all lint/suspicious/noTemplateCurlyInString: shell parameter expansions (${!n}, ${args[@]}), what is tested
import { describe, expect, it } from 'vitest';
import { lintFixture } from './lint-fixture.js';

/*
 * secret-in-command's reach: a secret must never be in a program's argv (ps and /proc/PID/cmdline
 * show it to every user of the host); the environment and stdin are fine. Each line of these
 * scripts hands the secret on in one way the shell has, with the real ShellCheck running too.
 */

const params = '    token: {type: string, secret: true, description: API token}';
const file = 'scripts/call.sh';
const script = (lines: string[]) => ({
  params,
  phases: `  steps:\n    - id: call\n      name: Call\n      script: ${file}`,
  files: { [file]: `#!/bin/sh\ntok=$OPSBOOK_PARAM_TOKEN\n${lines.join('\n')}\n` },
});
const run = (...commands: string[]) => ({
  params,
  phases: `  steps:\n${commands
    .map((c, i) => `    - id: s${i}\n      name: Step ${i}\n      run: ${c}`)
    .join('\n')}`,
});

describe('secret-in-command: where the secret is in no argv', () => {
  it('passes a secret in an assignment word from $(printf …): the environment, through a builtin', async () => {
    // printf is a builtin of bash and dash, and PGPASSWORD=… is psql's environment.
    const r = await lintFixture(
      script([
        `PGPASSWORD="$(printf '%s' "$tok")" psql -h db -c 'select 1'`,
        `PGPASSWORD=$(printf '%s' "$OPSBOOK_PARAM_TOKEN") psql -h db -c 'select 1'`,
        'AUTH="Bearer `printf %s "$tok"`" ./api-call',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([]);
    const placeholder = await lintFixture(
      run(`PGPASSWORD="$(printf '%s' {{ params.token }})" psql -h db -c 'select 1'`),
    );
    expect(placeholder.of('secret-in-command')).toEqual([]);
  });

  it('passes a secret given on stdin by a here-string, or to read, command printf', async () => {
    const r = await lintFixture(
      script([
        'login --password-stdin <<< "$tok"',
        'login --password-stdin <<<"$OPSBOOK_PARAM_TOKEN"',
        'read -r pw <<< "$tok"',
        'MYSQL_PWD=$pw mysql -u app -e "select 1"',
        `command printf '%s' "$tok" | login --password-stdin`,
        `printf '%s' "$tok" | { read -r t; API_TOKEN=$t ./api-call; }`,
        // What the pipe carries is psql's output, not its environment.
        `PGPASSWORD="$tok" psql -Atc 'select host from replicas' | while read -r host; do ping -c 1 -- "$host"; done`,
        `PGPASSWORD="$tok" psql -Atc 'select host from replicas' | xargs -n 1 ping -c 1 --`,
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([]);
    const placeholder = await lintFixture(run('login --password-stdin <<< {{ params.token }}'));
    expect(placeholder.of('secret-in-command')).toEqual([]);
  });
});

it('passes what read or mapfile read at the end of a pipe without lastpipe (a subshell: the variable stays empty), and a digest of the secret', async () => {
  const r = await lintFixture(
    script([
      `printf '%s' "$tok" | mapfile -t a`,
      'curl -u "ops:${a[0]}" https://x.example',
      `printf '%s' "$tok" | read -r t && curl -u "ops:$t" https://x.example`,
      `h=$(printf %s "$tok" | sha256sum)`,
      'curl -H "X-Hash: ${h%% *}" https://x.example',
      `curl -H "X-Len: $(printf %s "$tok" | wc -c)" https://x.example`,
      `printf %s "$tok" | sha256sum | xargs -n 1 echo`,
    ]),
  );
  expect(r.of('secret-in-command')).toEqual([]);
});

describe("secret-in-command: a secret followed into a program's argv", () => {
  it('still fails a secret given as an argument through $(…), or to a program that prints it (env printf, /usr/bin/printf)', async () => {
    const r = await lintFixture(
      script([
        `curl -u "ops:$(printf '%s' "$tok")" https://x.example`,
        `env printf '%s' "$tok" | login --password-stdin`,
        `/usr/bin/printf '%s' "$OPSBOOK_PARAM_TOKEN" | login --password-stdin`,
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$tok")" https', file),
      r.at('$tok" | login', file),
      r.at('$OPSBOOK_PARAM_TOKEN" | login', file),
    ]);
    const placeholder = await lintFixture(
      run('curl -u "ops:$(printf %s {{ params.token }})" https://x.example'),
    );
    expect(placeholder.of('secret-in-command')).toEqual([placeholder.at('{{ params.token }}')]);
  });

  it('fails a secret that xargs makes an argument of', async () => {
    const r = await lintFixture(
      script([
        'echo "$tok" | xargs curl -fsS -H',
        'xargs -I{} mysql -u app -p{} <<< "$OPSBOOK_PARAM_TOKEN"',
        'echo "$OPSBOOK_VAULT_db_pw_2" | tr -d "\\n" | xargs -n 1 mysql -u app -p',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$tok" | xargs', file),
      r.at('$OPSBOOK_PARAM_TOKEN"', file),
      r.at('$OPSBOOK_VAULT_db_pw_2', file),
    ]);
    const messages = r.findings.filter((x) => x.rule === 'secret-in-command').map((x) => x.message);
    expect(messages[0]).toMatch(/an argument of curl \(by xargs\)/);
    expect(messages[2]).toMatch(/Ansible Vault encrypted host var 'db_pw_2' .*mysql \(by xargs\)/);
  });

  it('fails a secret read into a variable (here-string, pipe) that reaches an argument', async () => {
    const r = await lintFixture(
      script([
        'read -r x <<< "$tok"; curl -u "ops:$x" https://x.example',
        `printf '%s' "$tok" | { read -r t; curl -u "ops:$t" https://x.example; }`,
        `printf '%s' "$tok" | base64 | while read -r b; do curl -H "Authorization: Basic $b" https://x.example; done`,
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$x"', file),
      r.at('$t"', file),
      r.at('$b"', file),
    ]);
  });

  it("fails a secret given to a shell function that puts its argument into a program's", async () => {
    const r = await lintFixture(
      script([
        'call() { curl -u "ops:$1" https://x.example; }',
        'quiet() { systemctl restart -- "$1"; }',
        'call "$tok"',
        'quiet nginx',
      ]),
    );
    // The call itself starts no process: the finding is where the function expands it.
    expect(r.of('secret-in-command')).toEqual([r.at('$1"', file)]);
    // `command curl` runs the program, not the function that wraps it.
    const wrapped = await lintFixture(
      script(['curl() { command curl --retry 3 "$@"; }', 'curl -u "ops:$tok" https://x.example']),
    );
    expect(wrapped.of('secret-in-command')).toEqual([wrapped.at('$@"', file)]);
    const message = r.findings.find((x) => x.rule === 'secret-in-command')!.message;
    expect(message).toMatch(
      /\(\$1, from \$OPSBOOK_PARAM_TOKEN\) is expanded into an argument of curl/,
    );
  });

  it('fails a secret in an array expanded into arguments, or named by ${!name}', async () => {
    const r = await lintFixture(
      script([
        'args=(-u "ops:$tok"); curl "${args[@]}" https://x.example',
        'n=OPSBOOK_PARAM_TOKEN; curl -u "ops:${!n}" https://x.example',
        'm=tok; curl -u "ops:${!m}" https://x.example',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('${args[@]}', file),
      r.at('${!n}', file),
      r.at('${!m}', file),
    ]);
  });

  // Lint failed these while it took a here-string's word for an argument; letting here-strings
  // pass must not let through what reads them into a variable.
  it('fails a secret written to a file by a group, a subshell, a loop or an if, read back into an argument', async () => {
    const r = await lintFixture(
      script([
        '{ echo "user = ops"; echo "$tok"; } > f1',
        'curl -u "ops:$(tail -n 1 f1)" https://x.example',
        '( printf %s "$tok" ) >> f2; xargs -a f2 curl -u',
        'for t in "$tok"; do echo "$t"; done > f3',
        'read -r x < f3; curl -u "ops:$x" https://x.example',
        'if true; then echo "$tok"; fi > f4; < f4 xargs curl -u',
        // A group that writes no secret.
        '{ hostname; uptime; } > f5; curl -d "$(cat f5)" https://x.example',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('f1)', file),
      r.at('f2 curl', file),
      r.at('$x"', file),
      r.at('f4 xargs', file),
    ]);
  });

  it('fails a secret handed on through a file descriptor exec opens (<<<, <<EOF) or a coprocess, read back into an argument', async () => {
    const r = await lintFixture(
      script([
        'exec 3<<<"$tok"; read -r x <&3; curl -u "ops:$x" https://x.example',
        'exec 4<<EOF',
        '$tok',
        'EOF',
        'xargs curl -u <&4',
        'coproc cat; printf %s "$tok" >&"${COPROC[1]}"; read -r c <&"${COPROC[0]}"; curl -u "ops:$c" https://x.example',
        'coproc B { cat; }; echo "$tok" >&${B[1]}; xargs -n 1 mysql -u app -p <&${B[0]}',
        // A descriptor that holds no secret.
        'exec 5<<<"hello"; read -r y <&5; curl -H "X-Y: $y" https://x.example',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$x"', file),
      r.at('<&4', file),
      r.at('$c"', file),
      r.at('<&${B[0]}', file),
    ]);
  });

  it('fails a secret handed on through a descriptor exec opens on a process substitution (exec 3< <(…)), read back into an argument', async () => {
    const r = await lintFixture(
      script([
        'exec 3< <(printf %s "$tok"); read -r x <&3; curl -u "ops:$x" https://x.example',
        'exec 6< <(echo "$(printf %s "$tok")"); xargs curl -u <&6',
        // A descriptor on a process substitution that prints no secret.
        'exec 5< <(date +%s); read -r y <&5; curl -H "X-Y: $y" https://x.example',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([r.at('$x"', file), r.at('<&6', file)]);
  });

  it('fails a secret that a group, an if or a loop is given on stdin (<<<, < f) or pipes on, read into an argument', async () => {
    const r = await lintFixture(
      script([
        '{ read -r a; } <<< "$tok"; curl -u "ops:$a" https://x.example',
        'if read -r b; then curl -u "ops:$b" https://x.example; fi <<< "$tok"',
        'echo "$tok" > f1',
        '{ read -r c; curl -u "ops:$c" https://x.example; } < f1',
        'env | while read -r l; do echo "$l"; done | xargs curl -u',
        '{ read -r h; ping -c 1 -- "$h"; } <<< "db-1"',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$a"', file),
      r.at('$b"', file),
      r.at('$c"', file),
      // What env prints, and the variable echo prints it from, reach xargs: both are the leak.
      r.at('env | while', file),
      r.at('$l"; done', file),
    ]);
  });

  it('fails a secret piped into GNU parallel, or into a command whose $(…) argument reads that stdin (curl -u "$(cat)")', async () => {
    const r = await lintFixture(
      script([
        'echo "$tok" | parallel curl -u {} https://x.example',
        `printf %s "$tok" | curl -u "ops:$(cat)" https://x.example`,
        `printf %s "$tok" | mysql -u app -p"$(head -n 1)" -e "select 1"`,
        // The substitution reads no stdin, or stands in an assignment word: in no argv.
        `printf %s "$tok" | login --user "$(whoami)" --password-stdin`,
        `printf %s "$tok" | PGPASSWORD="$(cat)" psql -c 'select 1'`,
        'parallel ping -c 1 -- ::: db-1 db-2',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$tok" | parallel', file),
      r.at('$tok" | curl', file),
      r.at('$tok" | mysql', file),
    ]);
    expect(r.findings.filter((x) => x.rule === 'secret-in-command')[1]!.message).toMatch(
      /an argument of curl \(through a \$\(…\) reading its stdin\)/,
    );
  });

  it('fails a secret that xargs reads from a file (-a, --arg-file) or from an output process substitution (> >(xargs …))', async () => {
    const r = await lintFixture(
      script([
        'echo "$tok" > f1',
        'xargs -a f1 curl -u',
        'xargs --arg-file=f1 -n 1 mysql -u app -p',
        `printf '%s' "$tok" > >(xargs curl -u)`,
        `printf '%s' "$tok" | tee >(xargs -n 1 mysql -u app -p) | login --password-stdin`,
        // xargs reading a file that holds no secret.
        'xargs -a hosts.txt -n 1 ping -c 1 --',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('f1 curl', file),
      r.at('f1 -n', file),
      r.at('$tok" > >', file),
      r.at('$tok" | tee', file),
    ]);
  });

  it('fails a secret that a while-read loop reads from after its done (<<<, < <(…)) and that reaches an argument', async () => {
    const r = await lintFixture(
      script([
        'while read -r t; do curl -u "ops:$t" https://x.example; done <<< "$tok"',
        'while IFS= read -r u; do',
        '  curl -u "ops:$u" https://x.example',
        'done < <(printf %s "$tok")',
        'while read -r w; do for h in a b; do ping -c 1 -- "$h"; done; ssh "$w" uptime; done <<<"$tok"',
        // Not the loop's input: an ordinary list after done.
        'while read -r v; do curl -u "ops:$v" https://x.example; done < hosts.txt; cat <<< "$tok"',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$t"', file),
      r.at('$u"', file),
      r.at('$w"', file),
    ]);
  });

  it('fails a secret that mapfile or readarray reads (here-string, pipe) and that reaches an argument', async () => {
    const r = await lintFixture(
      script([
        'mapfile -t a <<< "$tok"; curl -u "ops:${a[0]}" https://x.example',
        'readarray -d , -t b <<< "$tok"; curl -u "ops:${b[0]}" https://x.example',
        `printf '%s' "$tok" | { mapfile -t c; curl -u "ops:\${c[0]}" https://x.example; }`,
        'mapfile -t <<< "$tok"; curl -u "ops:${MAPFILE[0]}" https://x.example',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('${a[0]}', file),
      r.at('${b[0]}', file),
      r.at('${c[0]}', file),
      r.at('${MAPFILE[0]}', file),
    ]);
  });

  it('fails a secret given to a program that a function of the same name is defined only after (the shell runs the program then)', async () => {
    const r = await lintFixture(
      script([
        'curl -u "ops:$tok" https://x.example',
        'curl() { :; }',
        'later() { ssh -o "User=$1" db uptime; }',
        'first() { later "$tok"; }',
        'first',
      ]),
    );
    // The call inside first's body runs once first is called, after later is defined: followed
    // into later's body.
    expect(r.of('secret-in-command')).toEqual([r.at('$tok"', file), r.at('$1"', file)]);
  });

  it('fails what read or mapfile read at the end of a pipe under shopt -s lastpipe (the shell itself runs them), and a digest piped on through base64', async () => {
    const r = await lintFixture(
      script([
        'shopt -s lastpipe',
        `printf '%s' "$tok" | mapfile -t a`,
        'curl -u "ops:${a[0]}" https://x.example',
        `h=$(printf %s "$tok" | sha256sum | cut -c1-8; printf %s "$tok" | base64)`,
        'curl -H "X-Hash: $h" https://x.example',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([r.at('${a[0]}', file), r.at('$h"', file)]);
  });

  it('fails a secret that read or mapfile reads from a process substitution and that reaches an argument', async () => {
    const r = await lintFixture(
      script([
        'read -r x < <(printf %s "$tok"); curl -u "ops:$x" https://x.example',
        'mapfile -t a < <(printf %s "$tok"); curl -u "ops:${a[0]}" https://x.example',
        'read -r h < <(hostname); ping -c 1 -- "$h"',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([r.at('$x"', file), r.at('${a[0]}', file)]);
  });

  it('fails a secret that a here-document gives xargs, read, mapfile or a while-read loop, and that reaches an argument', async () => {
    const r = await lintFixture(
      script([
        'xargs curl -u <<EOF',
        'ops:$tok',
        'EOF',
        'read -r t <<EOF',
        '$tok',
        'EOF',
        'curl -u "ops:$t" https://x.example',
        'mapfile -t a <<-EOF',
        '\t${tok}',
        '\tEOF',
        'curl -u "ops:${a[0]}" https://x.example',
        'while read -r w; do curl -u "ops:$w" https://x.example; done <<EOF',
        '$OPSBOOK_PARAM_TOKEN',
        'EOF',
        'cat <<EOF | xargs -n 1 mysql -u app -p',
        '$tok',
        'EOF',
        // Commands in a here-document's body run: curl's argv holds it.
        'cat <<EOF',
        '$(curl -u "ops:$tok" https://x.example)',
        'EOF',
        // stdin, or a quoted delimiter (the body is not expanded): in no argv.
        'login --password-stdin <<EOF',
        '$tok',
        'EOF',
        "xargs -n 1 echo <<'EOF'",
        '$tok $(curl -u "ops:$tok" https://x.example)',
        'EOF',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$tok\nEOF\nread', file),
      r.at('$t"', file),
      r.at('${a[0]}', file),
      r.at('$w"', file),
      `${file}:18:1`,
      r.at('$tok" https://x.example)', file),
    ]);
  });

  it('fails a secret given to a program from a function body run before a decoy function of its name is defined', async () => {
    const r = await lintFixture(
      script(['send() { curl -u "ops:$tok" https://x.example; }', 'send', 'curl() { :; }']),
    );
    // send runs where it is called, before curl() exists: the shell runs the program curl.
    expect(r.of('secret-in-command')).toEqual([r.at('$tok"', file)]);
  });

  it('fails a secret that a while-read loop reads after its done when do or done is an argument in the loop', async () => {
    const r = await lintFixture(
      script([
        'while read -r t; do echo done; curl -u "ops:$t" https://x.example; done <<< "$tok"',
        'while read -r u; do printf "%s\\n" do; curl -u "ops:$u" https://x.example; done <<< "$tok"',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([r.at('$t"', file), r.at('$u"', file)]);
  });

  it('fails a secret that printenv or env prints from its environment into xargs or read, reaching an argument', async () => {
    const r = await lintFixture(
      script([
        'TOKEN="$tok" printenv TOKEN | xargs curl -u',
        'T2="$tok" env | sed -n "s/^T2=//p" | while read -r e; do curl -u "ops:$e" https://x.example; done',
        // env running a program: what the pipe carries is that program's output.
        'PGPASSWORD="$tok" env psql -Atc "select host from replicas" | xargs -n 1 ping -c 1 --',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([r.at('$tok" printenv', file), r.at('$e"', file)]);
  });

  it('fails a secret that printenv prints by its variable name (the param itself, or one exported) into an argument', async () => {
    const r = await lintFixture(
      script([
        'curl -u "ops:$(printenv OPSBOOK_PARAM_TOKEN)" https://x.example',
        'printenv OPSBOOK_PARAM_TOKEN | xargs curl -u',
        'export T3="$tok"; pw=$(printenv T3); curl -u "ops:$pw" https://x.example',
        // Printed to the step's output (masked there), in no argv.
        'printenv OPSBOOK_PARAM_TOKEN | login --password-stdin',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('OPSBOOK_PARAM_TOKEN)', file),
      r.at('OPSBOOK_PARAM_TOKEN | xargs', file),
      r.at('$pw"', file),
    ]);
  });

  it('fails the whole environment, secret params in it, that env or printenv prints into xargs', async () => {
    const r = await lintFixture(
      script([
        'env | grep TOKEN | xargs curl -u',
        'printenv | sed -n s/^OPSBOOK_PARAM_TOKEN=//p | xargs -n 1 curl -u',
        // Printed to the step's output (masked there), or into a program's stdin: in no argv.
        'env | sort',
        'printenv',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('env | grep', file),
      r.at('printenv | sed', file),
    ]);
  });

  it('fails the environment or the variables, secret params in them, printed into $(…), read or xargs, reaching an argument', async () => {
    const r = await lintFixture(
      script([
        `curl -u "$(env | sed -n 's/^OPSBOOK_PARAM_TOKEN=//p')" https://x.example`,
        'env | while read -r l; do curl -H "$l" https://x.example; done',
        'export -p | xargs curl -u',
        'k=$(declare -x | grep TOKEN); curl -H "$k" https://x.example',
        'set | { read -r v; curl -H "$v" https://x.example; }',
        'curl -H "$(declare -p tok)" https://x.example',
        `curl -H "$(tr '\\0' '\\n' < /proc/self/environ)" https://x.example`,
        // Printed to the step's output (masked there), a count, or nothing printed: in no argv.
        'env | sort',
        'n=$(env | wc -l); curl -H "X-N: $n" https://x.example',
        'set -eu; declare -x PATH; export T5="$tok"',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('env | sed', file),
      r.at('$l"', file),
      r.at('export -p', file),
      r.at('$k"', file),
      r.at('$v"', file),
      r.at('tok)"', file),
      r.at('/proc/self/environ', file),
    ]);
    const messages = r.findings.filter((x) => x.rule === 'secret-in-command').map((x) => x.message);
    expect(messages[0]).toMatch(
      /secret param 'token' \(what env prints, from \$OPSBOOK_PARAM_TOKEN\) is expanded into an argument of curl/,
    );
  });

  it('fails a secret written to a file (>, >>, tee, a here-document) and read back into an argument', async () => {
    const r = await lintFixture(
      script([
        'echo "$tok" > f1',
        'curl -u "ops:$(cat f1)" https://x.example',
        `printf '%s' "$tok" >> "$HOME/f2"`,
        '< "$HOME/f2" xargs curl -u',
        'echo "$tok" | tee f3 >/dev/null',
        'read -r t < f3; curl -u "ops:$t" https://x.example',
        'cat > f4 <<EOF',
        '$tok',
        'EOF',
        'while read -r w; do curl -u "ops:$w" https://x.example; done < f4',
        'cat f4 | xargs -n 1 mysql -u app -p',
        'p=$(< f1); curl -u "ops:$p" https://x.example',
        'cp f1 f6; curl -u "ops:$(head -n 1 f6)" https://x.example',
        // The file's name is no secret: curl reads the file itself (no argv holds its content).
        'curl --data @f1 -T f3 https://x.example',
        'id=$(docker run -d --env-file f1 img); docker logs "$id"',
        'sha256sum f1 | xargs -n 1 echo',
        'echo hello > f5; curl -H "X-Greeting: $(cat f5)" https://x.example',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('f1)', file),
      r.at('"$HOME/f2" xargs', file),
      r.at('$t"', file),
      r.at('$w"', file),
      r.at('f4 | xargs', file),
      r.at('$p"', file),
      r.at('f6)', file),
    ]);
    const messages = r.findings.filter((x) => x.rule === 'secret-in-command').map((x) => x.message);
    expect(messages[0]).toMatch(
      /secret param 'token' \(written to the file f1, from \$OPSBOOK_PARAM_TOKEN\) is expanded into an argument of curl/,
    );
    expect(messages[0]).toMatch(/PGPASSWORD="\$OPSBOOK_PARAM_TOKEN" psql/);
  });

  it('fails a secret reached through a nameref (declare -n, local -n) or an array element assigned by index', async () => {
    const r = await lintFixture(
      script([
        'declare -n r1=tok; curl -u "ops:$r1" https://x.example',
        'f() { local -n r2=$1; curl -u "ops:$r2" https://x.example; }',
        'f OPSBOOK_PARAM_TOKEN',
        'typeset -n r3=OPSBOOK_PARAM_TOKEN; curl -u "ops:${r3}" https://x.example',
        'a[1]="$tok"; curl -u "ops:${a[1]}" https://x.example',
        // A nameref to an ordinary variable.
        'declare -n r4=HOME; ls -- "$r4"',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$r1"', file),
      r.at('$r2"', file),
      r.at('${r3}', file),
      r.at('${a[1]}', file),
    ]);
  });

  it('passes a secret a here-document gives a shell as code where that code hands it to no argv (an assignment word, stdin)', async () => {
    const r = await lintFixture(
      script([
        'bash <<EOF',
        "PGPASSWORD=$tok psql -h db -c 'select 1'",
        'printf \'%s\' "$tok" | login --password-stdin',
        'EOF',
        'sh <<EOF',
        'mysql -u app -p$tok -e "select 1"',
        'EOF',
      ]),
    );
    // Only the line that puts it in mysql's argv.
    expect(r.of('secret-in-command')).toEqual([r.at('$tok -e', file)]);
    expect(r.findings.find((x) => x.rule === 'secret-in-command')!.message).toMatch(
      /an argument of mysql \(in the code sh reads\)/,
    );
  });

  it('fails a secret in shell code a shell reads from stdin, a process substitution or a file (source <(…), bash <<EOF, | sh)', async () => {
    const r = await lintFixture(
      script([
        'source <(printf "curl -u ops:%s https://x.example" "$tok")',
        '. <(echo "curl -u ops:$tok https://x.example")',
        'printf "curl -u ops:%s https://x.example\\n" "$tok" | sh',
        'bash <<EOF',
        'curl -u "ops:$tok" https://x.example',
        'EOF',
        'bash -s <<< "curl -u ops:$tok https://x.example"',
        'echo "curl -u ops:$tok https://x.example" > job.sh; . ./job.sh; bash job.sh',
        // A shell given a script: what it reads on stdin is data, not code.
        `printf '%s' "$tok" | bash -c 'read -r t; PGPASSWORD=$t psql -c "select 1"'`,
        `printf '%s' "$tok" | sh ./login.sh`,
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$tok")', file),
      r.at('$tok https://x.example")', file),
      r.at('$tok" | sh', file),
      r.at('$tok" https://x.example\nEOF', file),
      r.at('$tok https://x.example"\n', file),
      r.at('./job.sh', file),
      r.at('job.sh\n', file),
    ]);
    const messages = r.findings.filter((x) => x.rule === 'secret-in-command').map((x) => x.message);
    expect(messages[0]).toMatch(
      /is expanded into an argument of the commands source reads as code/,
    );
  });

  it('fails a secret a for loop takes into its variable that reaches an argument', async () => {
    const r = await lintFixture(
      script([
        'for t in "$tok"; do curl -u "ops:$t" https://x.example; done',
        'for h in db-1 db-2; do ping -c 1 -- "$h"; done',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([r.at('$t"', file)]);
  });

  it('fails a secret a ${V:=…} default assigns to a variable, or ${V:-…} expands to, that reaches an argument', async () => {
    const r = await lintFixture(
      script([
        ': "${pw:=$tok}"; curl -u "ops:$pw" https://x.example',
        'echo "${pw2=$tok}" >/dev/null; curl -u "ops:$pw2" https://x.example',
        ': "${dir:=/tmp}"; ls -- "$dir"',
        'curl -u "ops:${user:-$tok}" https://x.example',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$pw"', file),
      r.at('$pw2"', file),
      r.at('$tok}" https', file),
    ]);
  });

  it('fails a secret given to a program whose decoy function is defined only in a branch, or after && or ||: lint cannot know it runs', async () => {
    const r = await lintFixture(
      script([
        'if false; then curl() { :; }; fi',
        'curl -u "ops:$tok" https://x.example',
        'case "$1" in dry) ssh() { :; } ;; esac',
        'ssh -o "User=$tok" db uptime',
        '[ -n "$DRY" ] && mysql() { :; }',
        'mysql -u app -p"$tok" -e "select 1"',
        'while false; do psql() { :; }; done',
        'psql "password=$tok"',
        'setup() { wget() { :; }; }',
        'wget --password="$tok" https://x.example',
        // Defined unconditionally: the call runs the function, whose argument is no argv.
        'login() { printf %s "$1" | docker login --password-stdin; }',
        'login "$tok"',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('$tok" https', file),
      r.at('$tok" db', file),
      r.at('$tok" -e', file),
      r.at('$tok"\nsetup', file),
      r.at('$tok" https://x.example\nlogin', file),
    ]);
  });

  it("follows shift inside a shell function: its own positional params move, not the script's", async () => {
    const r = await lintFixture(
      script([
        'post() { shift; curl -u "ops:$1" https://x.example; }',
        'post2() { shift 2; curl -u "ops:${1}" https://x.example; }',
        'post x "$tok"',
        'post2 x y "$tok"',
      ]),
    );
    expect(r.of('secret-in-command')).toEqual([r.at('$1"', file), r.at('${1}', file)]);
  });
});

describe('secret-in-command: a credential host var handed on through a variable', () => {
  it('fails a credential-named host var assigned to a variable that reaches an argument', async () => {
    const r = await lintFixture({
      phases: `  steps:
    - id: via
      name: Via a variable
      run: pw={{ host.vars.db_password }}; mysql -u app -p"$pw" -e "select 1"
    - id: env
      name: In the environment
      run: pw={{ host.vars.db_password }}; MYSQL_PWD=$pw mysql -u app -e "select 1"
    - id: plain
      name: An ordinary var
      run: c={{ host.vars.color }}; echo "$c" | tr a-z A-Z`,
    });
    expect(r.of('secret-in-command')).toEqual([r.at('$pw"')]);
    expect(r.findings.find((f) => f.rule === 'secret-in-command')!.message).toMatch(
      /host var 'db_password' \(named as a credential; \$pw, from \{\{ host\.vars\.db_password \}\}\) is expanded into an argument of mysql/,
    );
  });
});

describe('secret-in-command: a run: block placeholder handed to xargs', () => {
  it('fails a secret placeholder that xargs reads (a here-string, a pipe) and makes an argument of', async () => {
    const r = await lintFixture(
      run(
        'xargs curl -u <<< {{ params.token }}',
        "printf '%s' {{ params.token }} | xargs -n 1 curl -u",
        "printf '%s' {{ host.vars.db_password }} | xargs mysql -u app -p",
        'echo {{ params.token }} > /tmp/t; curl -u "ops:$(cat /tmp/t)" https://x.example',
        "printf 'curl -u ops:%s https://x.example' {{ params.token }} | sh",
        // stdin of a program, a digest: in no argv.
        "printf '%s' {{ params.token }} | login --password-stdin",
        "printf '%s' {{ params.token }} | sha256sum | xargs -n 1 echo",
      ),
    );
    expect(r.of('secret-in-command')).toEqual([
      r.at('{{ params.token }}'),
      r.at('{{ params.token }} | xargs'),
      r.at('{{ host.vars.db_password }}'),
      r.at('/tmp/t)'),
      r.at('{{ params.token }} | sh'),
    ]);
    const messages = r.findings.filter((f) => f.rule === 'secret-in-command').map((f) => f.message);
    expect(messages[0]).toMatch(
      /secret param 'token' \(\$OPSBOOK_PARAM_TOKEN\) is expanded into an argument of curl \(by xargs\)/,
    );
    expect(messages[2]).toMatch(
      /host var 'db_password' \(named as a credential; its value, from \{\{ host\.vars\.db_password \}\}\) .*PGPASSWORD=\{\{ host\.vars\.db_password \}\} psql/,
    );
  });
});

describe('secret-in-command: host vars the inventory vaults, whatever their names', () => {
  const phases = `  steps:
    - id: direct
      name: Direct
      run: mysql -u app -p{{ host.vars.db_pw_2 }} -e 'select 1'
    - id: via
      name: Via a variable
      run: pw={{ host.vars.db_pw_2 }}; mysql -u app -p"$pw" -e 'select 1'
    - id: env
      name: In the environment
      run: MYSQL_PWD={{ host.vars.db_pw_2 }} mysql -u app -e 'select 1'`;
  it('fails a vaulted host var with an ordinary name in an argument when lint is told it is vaulted', async () => {
    const r = await lintFixture({ phases }, { vaultedHostVars: ['db_pw_2'] });
    expect(r.of('secret-in-command')).toEqual([r.at('{{ host.vars.db_pw_2 }} -e'), r.at('$pw"')]);
    const messages = r.findings.filter((f) => f.rule === 'secret-in-command').map((f) => f.message);
    expect(messages[0]).toMatch(/host var 'db_pw_2' is Ansible Vault encrypted in the inventory/);
    expect(messages[1]).toMatch(
      /host var 'db_pw_2' \(Ansible Vault encrypted in the inventory; \$pw/,
    );
  });

  it('cannot tell such a var from an ordinary one without the inventory', async () => {
    const r = await lintFixture({ phases });
    expect(r.of('secret-in-command')).toEqual([]);
  });
});
