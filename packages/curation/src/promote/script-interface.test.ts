import { describe, expect, it } from 'vitest';
import { type DetectedParam, detectScriptInterface } from './script-interface.js';

const params = (text: string) => detectScriptInterface(text).params;
const brief = (p: DetectedParam) => ({
  name: p.name,
  type: p.type,
  ...(p.default !== undefined ? { default: p.default } : {}),
  ...(p.required ? { required: true } : {}),
  ...(p.secret ? { secret: true } : {}),
  source: p.source,
});

describe('detectScriptInterface', () => {
  it('names positional arguments after the variables they are assigned to, with their defaults', () => {
    const found = params(`#!/bin/sh
set -eu
host=$1
port="\${2:-5432}"
echo "dumping $host:$port to $3"
`);
    expect(found.map(brief)).toEqual([
      {
        name: 'host',
        type: 'string',
        required: true,
        source: { kind: 'positional', index: 1, variable: 'host' },
      },
      {
        name: 'port',
        type: 'integer',
        default: 5432,
        source: { kind: 'positional', index: 2, variable: 'port' },
      },
      { name: 'arg3', type: 'string', required: true, source: { kind: 'positional', index: 3 } },
    ]);
  });

  it('takes environment variables the script reads before it sets them, not the ones it sets or every shell has', () => {
    const found = params(`#!/bin/sh
: "\${BACKUP_DIR:=/var/backups}"
LOG=/tmp/backup.log
echo "$HOME $PATH $OPSBOOK_HOST" >> "$LOG"
RETENTION=\${RETENTION:-7}
if [ "$DRY_RUN" = true ]; then exit 0; fi
PGPASSWORD="$DB_PASSWORD" pg_dump -h "\${DB_HOST:?set DB_HOST to the database host}" > "$BACKUP_DIR/db.sql"
find "$BACKUP_DIR" -mtime +"$RETENTION" -delete
`);
    expect(found.map(brief)).toEqual([
      {
        name: 'backup_dir',
        type: 'string',
        default: '/var/backups',
        source: { kind: 'env', variable: 'BACKUP_DIR' },
      },
      {
        name: 'db_host',
        type: 'string',
        required: true,
        source: { kind: 'env', variable: 'DB_HOST' },
      },
      {
        name: 'db_password',
        type: 'string',
        secret: true,
        source: { kind: 'env', variable: 'DB_PASSWORD' },
      },
      { name: 'dry_run', type: 'string', source: { kind: 'env', variable: 'DRY_RUN' } },
      {
        name: 'retention',
        type: 'integer',
        default: 7,
        source: { kind: 'env', variable: 'RETENTION' },
      },
    ]);
    expect(found.find((p) => p.name === 'db_host')?.description).toContain(
      'set DB_HOST to the database host',
    );
  });

  it('reads the options of a simple getopts loop, their defaults and the operands after it', () => {
    const found = params(`#!/bin/sh
PORT=22
VERBOSE=0
while getopts "h:p:vx" opt; do
  case "$opt" in
    h) HOST="$OPTARG" ;;
    p) PORT=$OPTARG ;;
    v) VERBOSE=1 ;;
    x) set -x ;;
    *) echo usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
echo "$HOST $PORT $VERBOSE $1"
`);
    expect(found.map(brief)).toEqual([
      {
        name: 'host',
        type: 'string',
        source: { kind: 'option', letter: 'h', takesValue: true, variable: 'HOST' },
      },
      {
        name: 'port',
        type: 'integer',
        default: 22,
        source: { kind: 'option', letter: 'p', takesValue: true, variable: 'PORT' },
      },
      {
        name: 'verbose',
        type: 'boolean',
        default: false,
        source: { kind: 'option', letter: 'v', takesValue: false, variable: 'VERBOSE' },
      },
      { name: 'arg1', type: 'string', required: true, source: { kind: 'positional', index: 1 } },
    ]);
    expect(
      detectScriptInterface('while getopts "x" o; do case $o in x) set -x;; esac; done').notes,
    ).toEqual([
      'option -x is not a param: its branch sets no variable (help, usage or a shell option)',
    ]);
  });

  it('follows shift, "$@" and functions called with the script\'s arguments', () => {
    const found = params(`#!/bin/sh
main() {
  local service=$1
  shift
  systemctl restart "$service" "$@"
}
log() { echo "$1" >&2; }
main "$@"
`);
    expect(found.map(brief)).toEqual([
      {
        name: 'service',
        type: 'string',
        required: true,
        source: { kind: 'positional', index: 1, variable: 'service' },
      },
      { name: 'args', type: 'string', default: '', source: { kind: 'rest' } },
    ]);
  });

  it('falls back to one list of arguments when the script parses them itself', () => {
    const result = detectScriptInterface(`#!/bin/sh
while [ $# -gt 0 ]; do
  case $1 in --host) HOST=$2; shift 2 ;; *) shift ;; esac
done
`);
    expect(result.params.map((p) => p.name)).toEqual(['args']);
    expect(result.notes[0]).toMatch(/shifts its arguments in a loop/);
  });

  it('ignores quoted text, comments, escaped dollars and single-quoted code', () => {
    expect(
      params(`#!/bin/sh
# uses $NOT_A_PARAM
echo '$ALSO_NOT' "\\$NOR_THIS"
awk '{ print $1 }' /etc/hosts
`),
    ).toEqual([]);
  });

  it("says a computed default is the script's, and gives the param none", () => {
    const [host] = params(`echo "\${TARGET_HOST:-$(hostname)}"
`);
    expect(brief(host!)).toEqual({
      name: 'target_host',
      type: 'string',
      source: { kind: 'env', variable: 'TARGET_HOST' },
    });
    expect(host!.description).toMatch(/computes its own default/);
  });

  it('types a variable compared as a number', () => {
    const [limit] = params(
      'if [ "$(df --output=pcent / | tail -1 | tr -dc 0-9)" -gt "$LIMIT" ]; then exit 1; fi\n',
    );
    expect(brief(limit!)).toMatchObject({ name: 'limit', type: 'integer' });
  });
});
