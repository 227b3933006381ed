import { describe, expect, it } from 'vitest';
import { lintFixture } from './lint-fixture.js';

/*
 * Each rule of opsbook lint on a runbook that breaks it and on one that keeps it, with the real
 * ShellCheck. A finding is checked where it points (line:col in runbook.yaml or the script), so
 * a wrong mapping fails as surely as a missing finding.
 */

const pathParam = '    path: {type: string, default: /var/log/app, description: Log folder}';
const step = (id: string, body: string) =>
  `    - id: ${id}\n      name: Step ${id}\n${body.replace(/^/gm, '      ')}`;
const steps = (...list: string[]) => `  steps:\n${list.join('\n')}`;

describe('ShellCheck on run: blocks', () => {
  it('reports findings at their runbook.yaml line and column, in a literal block', async () => {
    const r = await lintFixture({
      params: pathParam,
      phases: steps(
        step('loop', 'run: |\n  for f in $(ls {{ params.path }}); do\n    echo $f\n  done'),
      ),
    });
    expect(r.of('SC2045')).toEqual([r.at('$(ls {{')]);
    expect(r.of('SC2086')).toEqual([r.at('$f\n')]);
    const sc = r.findings.find((f) => f.rule === 'SC2045')!;
    expect(sc).toMatchObject({
      source: 'shellcheck',
      severity: 'error',
      runbook: 'fx',
      step: { phase: 'steps', id: 'loop' },
    });
  });

  it('maps through folded, plain and double-quoted scalars', async () => {
    const r = await lintFixture({
      params: `${pathParam}\n    days: {type: integer, default: 7, description: Days}`,
      phases: steps(
        step(
          'folded',
          'run: >-\n  find {{ params.path }} -type f\n  -mtime +{{ params.days }} -print && echo $folded_var',
        ),
        step('plain', 'run: test -d {{ params.path }} && echo $plain_var'),
        step('quoted', 'run: "test -d {{ params.path }} && echo \\"x\\" $quoted_var"'),
      ),
    });
    expect(r.of('SC2154')).toEqual([r.at('$folded_var'), r.at('$plain_var'), r.at('$quoted_var')]);
  });

  it('reads a placeholder as the quoted word it becomes: no finding about it', async () => {
    const r = await lintFixture({
      // A pattern that rules out a leading - keeps option-injection quiet about find's path.
      params: `${pathParam.replace('default:', 'pattern: "^/", default:')}\n    unit: {type: string, default: "", description: Unit}`,
      phases: steps(
        step('z', 'run: test -z {{ params.unit }} || systemctl is-active -- {{ params.unit }}'),
        step('find', "run: find {{ params.path }} -name '*.log' -print"),
        step('subst', 'run: test -d "$(dirname -- {{ params.path }})"'),
        step('host', 'run: echo {{ host.name }} {{ host.vars.color }}'),
      ),
    });
    expect(r.findings).toEqual([]);
  });

  it('checks scripts as sh and points into the script', async () => {
    const r = await lintFixture({
      phases: steps(step('s', 'script: scripts/check.sh')),
      files: { 'scripts/check.sh': '#!/bin/sh\nset -eu\n[[ -n "$1" ]] && echo $1\n' },
    });
    expect(r.of('SC3010')).toEqual([r.at('[[', 'scripts/check.sh')]);
    expect(r.of('SC2086')).toEqual([r.at('$1\n', 'scripts/check.sh')]);
  });

  it('makes what dash lacks an error, and keeps what every sh has (local, echo -n) a warning', async () => {
    const r = await lintFixture({
      phases: steps(step('s', 'script: scripts/c.sh')),
      files: {
        'scripts/c.sh':
          '#!/bin/sh\nf() { local x=1; echo -n "$x"; }\nf\nif [[ -d /tmp ]]; then echo yes; fi\n',
      },
    });
    const severity = Object.fromEntries(r.findings.map((f) => [f.rule, f.severity]));
    expect(severity).toMatchObject({ SC3010: 'error', SC3043: 'warning', SC3037: 'warning' });
    expect(r.findings.find((f) => f.rule === 'SC3010')?.message).toContain(
      'the runner runs it with sh: dash on Debian and Ubuntu',
    );
  });

  it('finds nothing in a clean script', async () => {
    const r = await lintFixture({
      phases: steps(step('s', 'script: scripts/check.sh')),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, in the script
      files: { 'scripts/check.sh': '#!/bin/sh\nset -eu\n[ -n "${1:-}" ] && echo "$1"\n' },
    });
    expect(r.findings).toEqual([]);
  });
});

describe('change-without-postcheck and change-without-rollback', () => {
  const change = steps(step('do', 'run: touch /tmp/x\ntimeout: 1m'));
  it('fails a change runbook with neither, at its category', async () => {
    const r = await lintFixture({ category: 'change', phases: change });
    expect(r.of('change-without-postcheck')).toEqual([r.at('change')]);
    expect(r.of('change-without-rollback')).toEqual([r.at('change')]);
    expect(r.findings.find((f) => f.rule === 'change-without-postcheck')?.severity).toBe('error');
    expect(r.findings.find((f) => f.rule === 'change-without-rollback')?.severity).toBe('warning');
  });

  it('passes a change runbook with postchecks and rollback, and an incident without', async () => {
    const guarded = await lintFixture({
      category: 'change',
      phases: `${change}
  postchecks:
${step('check', 'run: test -e /tmp/x')}
  rollback:
${step('undo', 'run: rm -f /tmp/x\ntimeout: 1m')}`,
    });
    expect(guarded.findings).toEqual([]);
    expect((await lintFixture({ category: 'incident', phases: change })).findings).toEqual([]);
  });
});

describe('timeout-missing', () => {
  it('fails a change step and a rollback step without timeout, at their id', async () => {
    const r = await lintFixture({
      category: 'change',
      phases: `${steps(step('do', 'run: touch /tmp/x'))}
  postchecks:
${step('check', 'run: test -e /tmp/x')}
  rollback:
${step('undo', 'run: rm -f /tmp/x')}`,
    });
    expect(r.of('timeout-missing')).toEqual([r.at('do\n'), r.at('undo\n')]);
  });

  it('passes steps with timeouts, and prechecks and postchecks without', async () => {
    const r = await lintFixture({
      category: 'change',
      phases: `  prechecks:
${step('pre', 'run: test -d /tmp')}
${steps(step('do', 'run: touch /tmp/x\ntimeout: 30s'))}
  postchecks:
${step('check', 'run: test -e /tmp/x')}
  rollback:
${step('undo', 'run: rm -f /tmp/x\ntimeout: 1m')}`,
    });
    expect(r.of('timeout-missing')).toEqual([]);
  });

  it('passes a step that composes a runbook, which may not carry a timeout of its own', async () => {
    const r = await lintFixture({
      category: 'change',
      phases: `${steps(step('tidy', 'uses: runbook:disk-cleanup@^1.0.0'))}
  postchecks:
${step('check', 'run: test -e /tmp/x')}
  rollback:
${step('undo', 'run: rm -f /tmp/x\ntimeout: 1m')}`,
    });
    expect(r.findings).toEqual([]);
  });
});

describe('secret-in-command', () => {
  const params =
    '    token: {type: string, secret: true, description: API token}\n    user: {type: string, default: ops, description: User}';
  it('fails a secret param in a run: command, at the placeholder', async () => {
    const r = await lintFixture({
      params,
      phases: steps(
        step('call', 'run: curl -fsS -u {{ params.user }}:{{ params.token }} https://x.example'),
      ),
    });
    expect(r.of('secret-in-command')).toEqual([r.at('{{ params.token }}')]);
    // The fix it names works: an assignment word is the command's environment, not its argv.
    expect(r.findings.find((f) => f.rule === 'secret-in-command')!.message).toMatch(
      /an argument of curl, .*as an assignment word before the command \(e\.g\. PGPASSWORD=\{\{ params\.token \}\} psql …\)/,
    );
  });

  it('passes a secret read from the environment by a script, and a plain param in a command', async () => {
    const r = await lintFixture({
      params,
      phases: steps(
        step('call', 'script: scripts/call.sh'),
        step('who', 'run: id -- {{ params.user }}'),
      ),
      files: {
        'scripts/call.sh':
          '#!/bin/sh\nset -eu\nprintf \'user = "%s:%s"\\n\' "$OPSBOOK_PARAM_USER" "$OPSBOOK_PARAM_TOKEN" | curl -fsS -K - https://x.example\n',
      },
    });
    expect(r.of('secret-in-command')).toEqual([]);
    expect(r.findings).toEqual([]);
  });
});

describe('secret-in-command: the environment versus the arguments', () => {
  const params = '    token: {type: string, secret: true, description: API token}';
  it('passes a secret placeholder given as an assignment word or to export, readonly, local', async () => {
    // A secret renders as "$OPSBOOK_PARAM_TOKEN": an assignment word sets the environment of the
    // command (or the shell's variable), never an argument of a process.
    const r = await lintFixture({
      params,
      phases: steps(
        step('env', "run: PGPASSWORD={{ params.token }} psql -h db -c 'select 1'"),
        step('exported', 'run: export T={{ params.token }} && ./call.sh'),
        step('assigned', 'run: T={{ params.token }}; readonly T; env | grep -c T='),
      ),
      files: { 'call.sh': '#!/bin/sh\n' },
    });
    expect(r.of('secret-in-command')).toEqual([]);
  });

  it('passes a secret as the word of case, the list of for or set --, which the shell expands itself', async () => {
    const r = await lintFixture({
      params,
      phases: steps(
        step(
          'kind',
          'run: |\n        case "$OPSBOOK_PARAM_TOKEN" in\n          ghp_*) echo github ;;\n        esac',
        ),
        step(
          'placeholder',
          'run: |\n        case {{ params.token }} in\n          ghp_*) echo github ;;\n        esac',
        ),
        step('words', 'run: for t in $OPSBOOK_PARAM_TOKEN; do echo "$t" | wc -c; done'),
        step('positional', 'run: set -- "$OPSBOOK_PARAM_TOKEN"; printf %s "$1" | wc -c'),
        step(
          'then',
          'run: case x in x) curl -u "ops:$OPSBOOK_PARAM_TOKEN" https://x.example ;; esac',
        ),
      ),
    });
    expect(r.of('secret-in-command')).toEqual([r.at('$OPSBOOK_PARAM_TOKEN" https')]);
  });

  it('fails $OPSBOOK_PARAM_ of a secret expanded into the arguments of a program, in run: and scripts', async () => {
    const r = await lintFixture({
      params,
      phases: steps(
        step('leak', 'run: psql "password=$OPSBOOK_PARAM_TOKEN" -h db'),
        step('fine', 'run: PGPASSWORD="$OPSBOOK_PARAM_TOKEN" psql -h db'),
        step('script', 'script: scripts/call.sh'),
      ),
      files: {
        'scripts/call.sh':
          '#!/bin/sh\nset -eu\nexport TOKEN="$OPSBOOK_PARAM_TOKEN"\nprintf \'%s\' "$OPSBOOK_PARAM_TOKEN" | login --stdin\ncurl -fsS -u "ops:${OPSBOOK_PARAM_TOKEN}" https://x.example\n',
      },
    });
    expect(r.of('secret-in-command')).toEqual([
      r.at('$OPSBOOK_PARAM_TOKEN" -h'),
      r.at('${OPSBOOK_PARAM_TOKEN}', 'scripts/call.sh'),
    ]);
    const messages = r.findings.filter((f) => f.rule === 'secret-in-command').map((f) => f.message);
    expect(messages[0]).toMatch(
      /secret param 'token' \(\$OPSBOOK_PARAM_TOKEN\) is expanded into an argument of psql: .*ps.*PGPASSWORD="\$OPSBOOK_PARAM_TOKEN" psql/,
    );
    expect(messages[1]).toMatch(/an argument of curl/);
  });
});

describe('secret-in-command: host vars that hold credentials (Ansible Vault)', () => {
  // A vaulted host var reaches a run: command as "$OPSBOOK_VAULT_<name>" (masked, never in the
  // plan), but expanded into a program's arguments it is in that process's argv on the host, which
  // every user of the host can read. Which vars are vaulted is the inventory's: lint reads the
  // name, as promote does for a script's variables.
  it('fails a credential-named host var, or $OPSBOOK_VAULT_, in the arguments of a program', async () => {
    const r = await lintFixture({
      phases: steps(
        step('leak', 'run: mysql -u app --password={{ host.vars.db_password }} -e "select 1"'),
        step('env', 'run: MYSQL_PWD={{ host.vars.db_password }} mysql -u app -e "select 1"'),
        step('builtin', 'run: printf %s {{ host.vars.api_token }} > /run/app/token'),
        step('named', 'run: curl -fsS -u "ops:$OPSBOOK_VAULT_api_token" https://x.example'),
        step('plain', 'run: echo {{ host.vars.color }} && id -- {{ host.vars.passenger_user }}'),
        step('via', 'run: pw=$OPSBOOK_VAULT_db_password; mysql -u app -p"$pw" -e "select 1"'),
      ),
    });
    expect(r.of('secret-in-command')).toEqual([
      r.at('{{ host.vars.db_password }} -e'),
      r.at('$OPSBOOK_VAULT_api_token'),
      r.at('$pw"'),
    ]);
    const messages = r.findings.filter((f) => f.rule === 'secret-in-command').map((f) => f.message);
    expect(messages[0]).toMatch(
      /host var 'db_password' .*credential.*argument of mysql.*ps.*assignment word before the command/,
    );
    expect(messages[1]).toMatch(/Ansible Vault encrypted host var 'api_token' .*argument of curl/);
    expect(messages[2]).toMatch(
      /Ansible Vault encrypted host var 'db_password' \(\$pw, from \$OPSBOOK_VAULT_db_password\) .*argument of mysql/,
    );
  });
});

describe('secret-in-command: a secret handed on through $(…), backquotes and printf -v', () => {
  const params = '    token: {type: string, secret: true, description: API token}';
  it("fails a secret that reaches a program's arguments through a variable set by a command substitution or printf -v", async () => {
    // printf is the shell's own: the secret is in no argv until the variable it set is given to
    // curl, whose argv every user of the host reads in ps.
    const r = await lintFixture({
      params,
      phases: steps(step('script', 'script: scripts/call.sh')),
      files: {
        'scripts/call.sh': [
          '#!/bin/bash',
          'set -eu',
          'auth=$(printf \'ops:%s\' "$OPSBOOK_PARAM_TOKEN" | base64)',
          'curl -fsS -H "Authorization: Basic $auth" https://x.example',
          'old=`printf %s "$OPSBOOK_PARAM_TOKEN"`',
          'curl -fsS -u "ops:$old" https://x.example',
          'printf -v tok %s "$OPSBOOK_PARAM_TOKEN"',
          'curl -fsS -u "ops:$tok" https://x.example',
          'len=$(printf %s "$OPSBOOK_PARAM_TOKEN" | wc -c)',
          '',
        ].join('\n'),
      },
    });
    expect(r.of('secret-in-command')).toEqual([
      r.at('$auth"', 'scripts/call.sh'),
      r.at('$old"', 'scripts/call.sh'),
      r.at('$tok"', 'scripts/call.sh'),
    ]);
  });
});

describe('secret-in-command: a secret handed on through variables and set --', () => {
  const params =
    '    unit: {type: string, description: Unit}\n    token: {type: string, secret: true, description: API token}';
  it("fails a secret that reaches a program's arguments through a variable or a positional param, as promote's prologue hands it over", async () => {
    // What opsbook promote makes of `unit=$1 token=$2 … curl -H "…$token"`: the secret goes
    // OPSBOOK_PARAM_TOKEN → $2 → token → curl's argv, which every user of the host reads in ps.
    const r = await lintFixture({
      params,
      phases: steps(
        step('run', 'run: T={{ params.token }}; curl -u "ops:$T" https://x.example'),
        step('call', 'script: scripts/call.sh'),
      ),
      files: {
        'scripts/call.sh': `#!/bin/sh
set -eu
set -- "$OPSBOOK_PARAM_UNIT" "$OPSBOOK_PARAM_TOKEN"
unit=$1
token=$2
auth="Authorization: Bearer \${token}"
API_TOKEN=$OPSBOOK_PARAM_TOKEN; export API_TOKEN
systemctl restart -- "$unit"
curl -fsS -H "$auth" https://x.example/health
mysql -p$API_TOKEN -e 'select 1'
login --token "$2"
`,
      },
    });
    expect(r.of('secret-in-command')).toEqual([
      r.at('$T"'),
      r.at('$auth', 'scripts/call.sh'),
      r.at('$API_TOKEN -e', 'scripts/call.sh'),
      r.at('$2"\n', 'scripts/call.sh'),
    ]);
    const messages = r.findings.filter((f) => f.rule === 'secret-in-command').map((f) => f.message);
    expect(messages[1]).toMatch(
      /secret param 'token' \(\$auth, from \$OPSBOOK_PARAM_TOKEN\) is expanded into an argument of curl/,
    );
  });

  it('fails a secret given as a getopts option, as promote hands it over, once its variable reaches an argument', async () => {
    const r = await lintFixture({
      params:
        '    host: {type: string, description: Host}\n    token: {type: string, secret: true, description: API token}',
      phases: steps(step('call', 'script: scripts/call.sh')),
      files: {
        'scripts/call.sh': `#!/bin/sh
set --
set -- "$@" -h "$OPSBOOK_PARAM_HOST"
if [ -n "\${OPSBOOK_PARAM_TOKEN+set}" ]; then set -- "$@" -t "$OPSBOOK_PARAM_TOKEN"; fi
while getopts h:t: o; do
  case $o in
    h) host=$OPTARG ;;
    t) token=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
ping -c 1 -- "$host"
curl -fsS -u "ops:$token" "https://$host/api" "$@"
`,
      },
    });
    expect(r.of('secret-in-command')).toEqual([r.at('$token', 'scripts/call.sh')]);
  });

  it('passes a secret kept in variables that only reach the environment, printf or a pipe', async () => {
    const r = await lintFixture({
      params,
      phases: steps(step('call', 'script: scripts/call.sh')),
      files: {
        'scripts/call.sh': `#!/bin/sh
set -eu
set -- "$OPSBOOK_PARAM_UNIT" "$OPSBOOK_PARAM_TOKEN"
unit=$1
token=$2
PGPASSWORD=$token psql -h db -c 'select 1'
printf '%s' "$token" | login --stdin
systemctl restart -- "$unit"
`,
      },
    });
    expect(r.of('secret-in-command')).toEqual([]);
  });
});

describe('param-unquoted', () => {
  const params = [
    '    dir: {type: string, description: Folder}',
    '    days: {type: integer, default: 7, description: Days}',
    '    mode: {type: string, enum: [fast, safe], default: safe, description: Mode}',
  ].join('\n');
  it("fails a param's value expanded unquoted into a program's arguments, even under # shellcheck disable=SC2086", async () => {
    // dir=' /' would make rm -rf /tmp/ / : the shell splits the value and globs it. A ShellCheck
    // directive silences ShellCheck (SC2086, only info anyway), not opsbook's own rule.
    const r = await lintFixture({
      params,
      phases: steps(
        step('run', 'run: ls -- $OPSBOOK_PARAM_DIR'),
        step('copied', 'run: d={{ params.dir }}; n={{ params.days }}; ls -- $d; sleep $n'),
        step('clean', 'script: scripts/clean.sh'),
      ),
      files: {
        'scripts/clean.sh': `#!/bin/sh
set -eu
set -- "$OPSBOOK_PARAM_DIR"
dir=$1
# shellcheck disable=SC2086
rm -rf /tmp/$dir/*
find "$dir" -mtime +$OPSBOOK_PARAM_DAYS -name x -exec gzip -- {} +
run-mode --mode $OPSBOOK_PARAM_MODE
case $dir in /tmp/*) echo $dir ;; esac
copy="$dir"
ls -- "$copy" "$1"
`,
      },
    });
    expect(r.of('param-unquoted')).toEqual([
      r.at('$OPSBOOK_PARAM_DIR'),
      r.at('$d;'),
      r.at('$dir/*', 'scripts/clean.sh'),
    ]);
    const messages = r.findings.filter((f) => f.rule === 'param-unquoted').map((f) => f.message);
    expect(messages[1]).toMatch(/param 'dir' \(\$d, from \{\{ params\.dir \}\}\) .* of ls:/);
    expect(messages[2]).toMatch(
      /param 'dir' \(\$dir, from \$OPSBOOK_PARAM_DIR\) is expanded unquoted into an argument of rm: .*splits .*quote it: "\$dir"/,
    );
  });
});

describe('remote-hop', () => {
  it('warns of a step that reaches another host with ssh, scp, sftp or rsync, which no approval names', async () => {
    const r = await lintFixture({
      phases: steps(
        step('reload', 'run: ssh -o BatchMode=yes admin@10.0.3.17 systemctl reload nginx'),
        step('copy', 'script: scripts/copy.sh'),
      ),
      files: {
        'scripts/copy.sh': `#!/bin/sh
set -eu
scp /var/backups/app.sql backup@db01.prod.example.com:/srv/in/
rsync -a /var/lib/app/ /var/backups/app/
rsync -a /var/lib/app/ mirror:/srv/app/
echo "ssh is not run here"
`,
      },
    });
    expect(r.of('remote-hop')).toEqual([
      r.at('ssh -o'),
      r.at('scp', 'scripts/copy.sh'),
      r.at('rsync -a /var/lib/app/ mirror', 'scripts/copy.sh'),
    ]);
    const f = r.findings.find((x) => x.rule === 'remote-hop')!;
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(
      /ssh reaches another host from the target: that host is not among the hosts the approval names/,
    );
  });
});

// A placeholder inside quotes, a here-document or $(( )) is refused by loading (opsbook validate,
// packages/schema/test/invalid-runbooks.ts); lint reads the spots that load as values.
describe('placeholders where the shell reads a value', () => {
  it('passes a placeholder in $( ) inside double quotes, in a heredoc line of code, and literal braces', async () => {
    const r = await lintFixture({
      params: pathParam,
      phases: steps(
        step('subst', 'run: test -d "$(dirname -- {{ params.path }})"'),
        step('var', 'run: dir={{ params.path }} && echo "cleaning $dir"'),
        step(
          'heredoc',
          "run: |\n  cat <<'EOF' > {{ params.path }}/note\n  written by opsbook\n  EOF",
        ),
        step('literal', `run: docker inspect --format '{{ "{{" }}.State.Status{{ "}}" }}' web`),
      ),
    });
    expect(r.findings).toEqual([]);
  });
});

describe('option-injection', () => {
  it('fails a placeholder that starts an argument with no -- before it, when its value may start with -', async () => {
    const r = await lintFixture({
      params: `${pathParam}\n    unit: {type: string, description: Unit}\n    pid: {type: integer, description: Process}`,
      phases: steps(
        step('ssh', 'run: ssh -o BatchMode=yes {{ host.vars.primary }} true'),
        step('unit', 'run: systemctl restart {{ params.unit }}'),
        step('kill', 'run: kill {{ params.pid }}'),
      ),
    });
    expect(r.of('option-injection')).toEqual([
      r.at('{{ host.vars.primary }}'),
      r.at('{{ params.unit }}'),
      r.at('{{ params.pid }}'),
    ]);
    expect(r.findings.find((f) => f.rule === 'option-injection')!.message).toMatch(
      /starts an argument of ssh with no -- before it: a value that starts with - is read as an option.*ProxyCommand.*write -- before it/,
    );
  });

  it('passes it after --, as an option argument, in a redirection, for builtins and for values that cannot start with -', async () => {
    const r = await lintFixture({
      params: [
        pathParam.replace(
          'default: /var/log/app,',
          'default: /var/log/app, pattern: "^/[A-Za-z0-9/._-]*$",',
        ),
        '    unit: {type: string, pattern: "^[a-z][a-z0-9@.-]*$", description: Unit}',
        '    n: {type: integer, minimum: 1, default: 5, description: Lines}',
        '    mode: {type: string, enum: [fast, slow], default: fast, description: Mode}',
        '    free: {type: string, default: x, description: Anything}',
      ].join('\n'),
      phases: steps(
        step('dash', 'run: systemctl restart -- {{ params.free }}'),
        step('optarg', 'run: journalctl -u {{ params.free }} --no-pager'),
        step('redirect', 'run: date > {{ params.free }}'),
        step('builtin', 'run: printf %s {{ params.free }}; echo {{ params.free }}'),
        step('pattern', 'run: ls {{ params.path }} && systemctl status {{ params.unit }}'),
        step('number', 'run: tail -n 3 /etc/hosts {{ params.n }} && run-it {{ params.mode }}'),
        step('name', 'run: ping -c 1 {{ host.name }}'),
        step('subst', 'run: test "$(hostname)" = {{ params.free }}'),
      ),
    });
    expect(r.of('option-injection')).toEqual([]);
  });
});

describe('unpinned-download', () => {
  it('fails curl | sh, wget -O- | sudo bash and sh -c "$(curl …)", where each starts', async () => {
    const r = await lintFixture({
      phases: steps(
        step('a', 'run: curl -fsSL https://get.example.com | sh'),
        step('b', 'run: wget -qO- https://get.example.com/install | sudo bash -s -- --yes'),
        step('c', 'run: sh -c "$(curl -fsSL https://get.example.com)"'),
      ),
    });
    expect(r.of('unpinned-download')).toEqual([
      r.at('curl -fsSL https://get.example.com |'),
      r.at('wget'),
      r.at('sh -c'),
    ]);
  });

  it('fails it in a script, not in its comments', async () => {
    const r = await lintFixture({
      phases: steps(step('s', 'script: scripts/get.sh')),
      files: {
        'scripts/get.sh':
          '#!/bin/sh\n# never: curl https://x | sh\nset -eu\ncurl -fsSL https://get.example.com | sh -s\n',
      },
    });
    expect(r.of('unpinned-download')).toEqual([r.at('curl -fsSL', 'scripts/get.sh')]);
  });

  it('fails a download to a file that is then run without a checksum, at the download', async () => {
    const r = await lintFixture({
      phases: steps(
        step('a', 'run: curl -fsSL -o /tmp/i.sh https://get.example.com/i.sh && sh /tmp/i.sh'),
        step(
          'b',
          'run: |\n  wget -q -O /tmp/setup https://get.example.com/setup\n  sudo bash /tmp/setup --yes',
        ),
      ),
    });
    expect(r.of('unpinned-download')).toEqual([r.at('curl -fsSL -o'), r.at('wget -q')]);
  });

  it('passes a download checked against its sha256, a fallback after ||, and a pipe into grep', async () => {
    const r = await lintFixture({
      phases: steps(
        step(
          'pinned',
          "run: |\n  curl -fsSLo /tmp/i.sh https://get.example.com/v1.2.3/i.sh\n  echo '0123  /tmp/i.sh' | sha256sum -c -\n  sh /tmp/i.sh",
        ),
        step('fallback', 'run: curl -fsS https://x.example/health || sh -c "exit 1"'),
        step('grep', 'run: curl -fsS https://x.example/version | grep -q sha'),
      ),
    });
    expect(r.of('unpinned-download')).toEqual([]);
  });
});

describe('sudo-unneeded', () => {
  it('fails sudo on a step whose commands all work without root, at sudo', async () => {
    const r = await lintFixture({
      params: pathParam,
      phases: steps(
        step('usage', 'run: df -hP {{ params.path }} | grep -v tmpfs\nsudo: true'),
        step('active', 'run: systemctl is-active --quiet nginx\nsudo: true'),
      ),
    });
    expect(r.of('sudo-unneeded')).toEqual(r.all('sudo: true'));
  });

  it('fails sudo on a command whose only redirection is to /dev/null, spaced or not', async () => {
    const r = await lintFixture({
      phases: steps(
        step('spaced', 'run: echo hi > /dev/null\nsudo: true'),
        step('joined', 'run: echo hi >/dev/null 2> /dev/null\nsudo: true'),
      ),
    });
    expect(r.of('sudo-unneeded')).toEqual(r.all('sudo: true'));
  });

  it('judges a script by its text, in whichever step uses it with sudo', async () => {
    const r = await lintFixture({
      phases: `${steps(step('usage', 'script: scripts/usage.sh'))}
  evidence:
${step('usage-again', 'script: scripts/usage.sh\nsudo: true')}`,
      files: { 'scripts/usage.sh': '#!/bin/sh\ndf -hP /\nuptime\n' },
    });
    expect(r.of('sudo-unneeded')).toEqual([r.at('sudo: true')]);
    expect(r.findings.find((f) => f.rule === 'sudo-unneeded')!.message).toMatch(/\(df, uptime\)/);
  });

  it('passes sudo where a command needs root or may, and for a script that writes', async () => {
    const r = await lintFixture({
      params: pathParam,
      phases: steps(
        step('restart', 'run: systemctl restart nginx\nsudo: true'),
        step('read', 'run: du -xa {{ params.path }} | sort -rn | head -n 20\nsudo: true'),
        step('shadow', 'run: cat /etc/shadow | wc -l\nsudo: true'),
        step('write', 'run: echo 1 > /proc/sys/vm/drop_caches\nsudo: true'),
        step('script', 'script: scripts/w.sh\nsudo: true'),
      ),
      files: { 'scripts/w.sh': '#!/bin/sh\necho ok > /etc/motd\n' },
    });
    expect(r.of('sudo-unneeded')).toEqual([]);
  });
});

describe('script-not-sh', () => {
  it('fails a script whose #! is bash, and ShellCheck reads it as sh', async () => {
    const r = await lintFixture({
      phases: steps(step('s', 'script: scripts/b.sh')),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell array reference, in the script
      files: { 'scripts/b.sh': '#!/usr/bin/env bash\narr=(a b)\necho "${arr[0]}"\n' },
    });
    expect(r.of('script-not-sh')).toEqual(['scripts/b.sh:1:1']);
    expect(r.of('SC3030')).toEqual([r.at('(a b)', 'scripts/b.sh')]);
  });

  it('passes #!/bin/sh and a script without #!', async () => {
    const r = await lintFixture({
      phases: steps(step('s', 'script: scripts/a.sh'), step('t', 'script: scripts/b.sh')),
      files: { 'scripts/a.sh': '#!/bin/sh\necho a\n', 'scripts/b.sh': 'echo b\n' },
    });
    expect(r.findings).toEqual([]);
  });
});

describe('script-sibling-file', () => {
  it('fails a script that sources or runs a file beside itself, which the runner never copies to the host', async () => {
    const r = await lintFixture({
      phases: steps(step('s', 'script: scripts/main.sh')),
      files: {
        // A folder of scripts run by hand: main.sh finds its helpers where it lies.
        'scripts/main.sh':
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, in the script
          '#!/bin/sh\n# usage: $0 MOUNT (dirname "$0" in a comment is fine)\n. "$(dirname "$0")/lib.sh"\n. ./env.sh\nsource ../common.sh\nhere=${0%/*}\nsh "$here/other.sh"\necho "usage: $0 MOUNT" >&2\nif true; then ./step2.sh --now; fi\n',
        'scripts/lib.sh': 'log() { echo "$*"; }\n',
      },
    });
    expect(r.of('script-sibling-file')).toEqual([
      r.at('. "$(dirname', 'scripts/main.sh'),
      r.at('. ./env.sh', 'scripts/main.sh'),
      r.at('source ../common.sh', 'scripts/main.sh'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, in the script
      r.at('${0%/*}', 'scripts/main.sh'),
      r.at('./step2.sh', 'scripts/main.sh'),
    ]);
    const first = r.findings.find((f) => f.rule === 'script-sibling-file');
    expect(first).toMatchObject({ severity: 'error', step: { phase: 'steps', id: 's' } });
    expect(first!.message).toMatch(
      /^main\.sh finds lib\.sh beside itself .*the runner copies only the script a step names.*Paste what main\.sh needs from lib\.sh into it/,
    );
  });

  it('passes files of the host: absolute paths, $HOME, a folder the script changed into, and $0 in messages', async () => {
    const r = await lintFixture({
      phases: steps(step('s', 'script: scripts/a.sh')),
      files: {
        'scripts/a.sh':
          '#!/bin/sh\n. /etc/os-release\n. "$HOME/.profile"\n/usr/bin/env true\ncd /opt/app\n. ./env.sh\n./bin/migrate --check\necho "usage: $0 NAME" >&2\n',
      },
    });
    expect(r.of('script-sibling-file')).toEqual([]);
  });
});

describe('script-empty', () => {
  it('fails a script with no command, empty or only comments, as opsbook promote refuses it', async () => {
    const r = await lintFixture({
      phases: steps(
        step('a', 'script: scripts/empty.sh'),
        step('b', 'script: scripts/comments.sh'),
        step('c', 'script: scripts/real.sh'),
      ),
      files: {
        'scripts/empty.sh': '',
        'scripts/comments.sh': '#!/bin/sh\n# TODO: write the check\n\n',
        'scripts/real.sh': '#!/bin/sh\n# a comment\nuptime\n',
      },
    });
    expect(r.of('script-empty')).toEqual(['scripts/comments.sh:1:1', 'scripts/empty.sh:1:1']);
    const empty = r.findings.find((f) => f.file === 'scripts/empty.sh');
    expect(empty).toMatchObject({ severity: 'error', step: { phase: 'steps', id: 'a' } });
    expect(empty?.message).toMatch(/holds no command \(it is empty\).*write the commands/);
  });
});

describe('scaffold-todo', () => {
  it("fails the scaffolds' placeholder steps and checks, at their name or run", async () => {
    const r = await lintFixture({
      params: pathParam,
      // What pnpm new-runbook and opsbook promote write, and a step whose run is a TODO.
      phases: `${steps(
        step(
          'do-the-work',
          'name: TODO the change itself\nrun: echo would act on {{ params.path }} of {{ host.name }}',
        ).replace('      name: Step do-the-work\n', ''),
        step('later', 'run: TODO write this'),
      )}
  postchecks:
${step('check-result', `run: "echo 'TODO: write the postcheck of fx in runbook.yaml' >&2; exit 1"`)}`,
    });
    expect(r.of('scaffold-todo')).toEqual([
      r.at('TODO the change itself'),
      r.at('TODO write this'),
      r.at(`"echo 'TODO: write the postcheck`),
    ]);
    const [first, , check] = r.findings.filter((f) => f.rule === 'scaffold-todo');
    expect(first).toMatchObject({ severity: 'error', step: { phase: 'steps', id: 'do-the-work' } });
    expect(first!.message).toMatch(
      /^step 'do-the-work' is still the scaffold's placeholder \(its name starts with TODO\): write the real command and name it for what it does/,
    );
    expect(check!.message).toMatch(
      /^postcheck 'check-result' is still the scaffold's placeholder .*: write a check that proves the change worked/,
    );
  });

  it('passes a step that only mentions TODO further in', async () => {
    const r = await lintFixture({
      params: pathParam,
      phases: steps(step('tidy', "run: find {{ params.path }} -name 'TODO*' -delete")),
    });
    expect(r.of('scaffold-todo')).toEqual([]);
  });
});

describe('description-missing', () => {
  it('fails a runbook without description and a param without one', async () => {
    const r = await lintFixture({
      description: null,
      params: '    days: {type: integer, default: 7}',
      phases: steps(step('s', 'run: echo {{ params.days }}')),
    });
    expect(r.of('description-missing')).toEqual([r.at('metadata'), r.at('days')]);
    // Where to add it: under metadata, after its title (line 5 of the fixture).
    expect(r.findings[0]?.message).toMatch(
      /^the runbook has no description: add `description:` under `metadata:` \(after `title:` on line 5\)/,
    );
  });

  it('points at an empty description itself, where it is to be written', async () => {
    const r = await lintFixture({ description: "''", phases: steps(step('s', 'run: echo ok')) });
    expect(r.of('description-missing')).toEqual([r.at("''")]);
    expect(r.findings[0]?.message).toMatch(/^metadata.description is empty: say when/);
  });

  it("fails the scaffolds' TODO placeholders left as descriptions (pnpm new-runbook, opsbook promote)", async () => {
    const r = await lintFixture({
      description: "'TODO: when to use this runbook'",
      params:
        "    days: {type: integer, default: 7, description: TODO replace with the runbook's own parameters}",
      phases: steps(step('s', 'run: echo {{ params.days }}')),
    });
    // At the placeholder to replace, not at the `metadata:` above it.
    expect(r.of('description-missing')).toEqual([r.at("'TODO: when"), r.at('days')]);
    expect(r.findings.map((f) => f.message).join('\n')).toContain('TODO placeholder');
  });

  it('passes a described runbook and params', async () => {
    const r = await lintFixture({
      params: '    days: {type: integer, default: 7, description: Days to keep}',
      phases: steps(step('s', 'run: echo {{ params.days }}')),
    });
    expect(r.findings).toEqual([]);
  });
});

describe('path-pattern-escape', () => {
  it("fails a param pattern that confines a path to a folder but lets '..' leave it", async () => {
    const r = await lintFixture({
      params: [
        '    logs: {type: string, default: /var/log/app, pattern: "^/var/log/[A-Za-z0-9._/-]+$", description: Logs}',
        '    conf: {type: string, default: /etc/app.conf, pattern: "^/etc/.+$", description: Config}',
      ].join('\n'),
      phases: steps(step('ls', 'run: ls -- {{ params.logs }} {{ params.conf }}')),
    });
    expect(r.of('path-pattern-escape')).toEqual([
      r.at('"^/var/log/[A-Za-z0-9._/-]+$"'),
      r.at('"^/etc/.+$"'),
    ]);
    expect(r.findings.find((f) => f.rule === 'path-pattern-escape')!.message).toMatch(
      /param 'logs'.*\/var\/log\/.*\/var\/log\/\.\.\/x.*\. and \.\. segments/,
    );
  });

  it('passes a folder pattern that refuses . and .. segments, and patterns that confine no folder', async () => {
    const r = await lintFixture({
      params: [
        '    logs: {type: string, default: /var/log/app, pattern: "^/(?!.*/[.]{1,2}/)(?!.*/[.]{1,2}$)var/log/[A-Za-z0-9._/-]+$", description: Logs}',
        '    any: {type: string, default: /srv, pattern: "^/[A-Za-z0-9/._-]*$", description: Any path}',
        '    unit: {type: string, default: app, pattern: "^[a-z]+$", description: Unit}',
        '    names: {type: string, default: /var/log/app, pattern: "^/var/log/[a-z]+$", description: One folder}',
      ].join('\n'),
      phases: steps(
        step(
          'ls',
          'run: ls -- {{ params.logs }} {{ params.any }} {{ params.unit }} {{ params.names }}',
        ),
      ),
    });
    expect(r.of('path-pattern-escape')).toEqual([]);
  });
});
