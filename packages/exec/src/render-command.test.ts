import { describe, expect, it } from 'vitest';
import { paramEnv, paramEnvName, renderRunTemplate } from './render-command.js';

const host = { name: 'web-01', vars: { port: 8080, region: 'eu west', nested: { a: 1 } } };

describe('renderRunTemplate', () => {
  it('substitutes params, host name and host vars as quoted shell words', () => {
    const out = renderRunTemplate(
      'find {{ params.path }} -mtime +{{params.days}} # {{ host.name }}:{{ host.vars.port }} {{ host.vars.region }}',
      {
        params: { path: '/var/log/app', days: 7 },
        host,
      },
    );
    expect(out).toBe("find '/var/log/app' -mtime +'7' # 'web-01':'8080' 'eu west'");
  });

  it('renders a secret param as a reference to its environment variable, never its value', () => {
    const out = renderRunTemplate('curl -H "X: $(cat)" -u {{ params.token }} x', {
      params: { token: 'hunter2' },
      secretParams: ['token'],
      host,
    });
    expect(out).toBe('curl -H "X: $(cat)" -u "$OPSBOOK_PARAM_TOKEN" x');
    expect(out).not.toContain('hunter2');
    expect(
      renderRunTemplate('echo {{ params.token }}', { params: {}, secretParams: ['token'], host }),
    ).toBe('echo "$OPSBOOK_PARAM_TOKEN"');
  });

  it('renders a vaulted host var as its environment variable, handing the value to the caller only', () => {
    const vaultedHost = {
      ...host,
      vars: { ...host.vars, db_pw: "s3'cret" },
      isVaulted: (n: string) => n === 'db_pw',
    };
    const seen: [string, string][] = [];
    const out = renderRunTemplate('login {{ host.vars.db_pw }} {{ host.vars.port }}', {
      params: {},
      host: vaultedHost,
      vaulted: (name, value) => seen.push([name, value]),
    });
    expect(out).toBe(`login "$OPSBOOK_VAULT_db_pw" '8080'`);
    expect(seen).toEqual([['db_pw', "s3'cret"]]);
    // Nobody to bind it: refused, without the value.
    const e = (() => {
      try {
        renderRunTemplate('login {{ host.vars.db_pw }}', { params: {}, host: vaultedHost });
      } catch (x) {
        return x as Error;
      }
    })();
    expect(e?.message).toContain("host variable 'db_pw' of 'web-01' is Ansible Vault encrypted");
    expect(JSON.stringify(e) + String(e?.message)).not.toContain('s3');
  });

  it('refuses a value with a line break for a placeholder in a comment, but not a vaulted one (never substituted)', () => {
    const multiLine = {
      ...host,
      vars: { ...host.vars, note: 'a\nid #', key: 'line one\nline two' },
      isVaulted: (n: string) => n === 'key',
    };
    const render = (template: string) =>
      renderRunTemplate(template, { params: {}, host: multiLine, vaulted: () => undefined });
    expect(() => render('# {{ host.vars.note }}\ntrue')).toThrow(
      /is in a shell comment, and its value has a line break, which ends the comment/,
    );
    expect(render('# {{ host.vars.key }}\ntrue')).toBe('# "$OPSBOOK_VAULT_key"\ntrue');
    // Where opsbook's quotes do not hold, even a template never validated is refused.
    expect(() => render('echo "{{ host.vars.port }}"')).toThrow(/is inside double quotes/);
  });

  it('keeps literal braces written as {{ "{{" }}', () => {
    expect(renderRunTemplate(`docker inspect -f '{{ "{{" }}.State}}'`, { params: {}, host })).toBe(
      "docker inspect -f '{{.State}}'",
    );
  });

  it('refuses missing params, missing or non-scalar host vars, bad templates and NUL bytes, listing every problem', () => {
    const attempt = () =>
      renderRunTemplate(
        'x {{ params.nope }} {{ host.vars.missing }} {{ host.vars.nested }} {{ 1+1 }} {{ params.nul }}',
        {
          params: { nul: 'a\0b' },
          host,
          source: 'runbook.yaml steps.s1.run',
        },
      );
    expect(attempt).toThrow(expect.objectContaining({ kind: 'invalid', code: 'TEMPLATE_INVALID' }));
    const error = (() => {
      try {
        attempt();
      } catch (e) {
        return e as { problems: Array<{ rule: string }> };
      }
      throw new Error('renderRunTemplate did not throw');
    })();
    {
      const rules = error.problems.map((p) => p.rule);
      expect(rules).toEqual([
        'template',
        'template-value',
        'template-value',
        'template-value',
        'nul-byte',
      ]);
    }
    expect(() => renderRunTemplate('{{ params.nul }}', { params: { nul: 'a\0b' }, host })).toThrow(
      /NUL byte/,
    );
  });
});

describe('paramEnv', () => {
  it('maps every param to OPSBOOK_PARAM_<NAME> as text', () => {
    expect(paramEnv({ path: '/x', days: 7, dry_run: false })).toEqual({
      OPSBOOK_PARAM_PATH: '/x',
      OPSBOOK_PARAM_DAYS: '7',
      OPSBOOK_PARAM_DRY_RUN: 'false',
    });
    expect(paramEnvName('logDir')).toBe('OPSBOOK_PARAM_LOGDIR');
  });

  it('refuses names that collide once upper-cased and values with NUL bytes', () => {
    expect(() => paramEnv({ dir: 'a', DIR: 'b' })).toThrow(/collides/);
    expect(() => paramEnv({ x: 'a\0' })).toThrow(/NUL byte/);
  });
});
