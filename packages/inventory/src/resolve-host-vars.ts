import type { ValidationError } from '@opsbook/schema';
import type { SourceLocation, Vars } from './inventory.js';
import { setOwn } from './set-own.js';
import {
  isTemplate,
  renderVarTemplate,
  TemplateRefused,
  TemplateUndefined,
} from './var-templates.js';
import {
  hostVariableError,
  unreadVaultError,
  VAULTED_VALUE,
  VaultedValue,
  vaultLockedError,
} from './vault-values.js';

interface HostVarsInput {
  host: string;
  groups: string[];
  vars: Vars;
  origins: Record<string, SourceLocation>;
  /** Variables an unread vault file could override, with those files. */
  shadowed?: Map<string, string[]>;
  /** Vault files of the host left unread: a name not found may be in them. */
  unread?: string[];
}

/** Thrown inside resolution; becomes the variable's error when it is read. */
class Locked extends Error {
  constructor(readonly error: ValidationError) {
    super(error.message);
  }
}

function hasLockedOrTemplate(value: unknown): boolean {
  if (value instanceof VaultedValue) return true;
  if (typeof value === 'string') return isTemplate(value);
  if (Array.isArray(value)) return value.some(hasLockedOrTemplate);
  if (value && typeof value === 'object') return Object.values(value).some(hasLockedOrTemplate);
  return false;
}

function anyLockedOrTemplate(vars: Vars): boolean {
  for (const name of Object.keys(vars)) if (hasLockedOrTemplate(vars[name])) return true;
  return false;
}

/**
 * A host's variables as Ansible would use them: templates (the subset of var-templates.ts)
 * rendered, vaulted values opened. A variable that cannot be given (a vaulted value without a
 * password, a template beyond the subset or naming an undefined variable) stays a property
 * whose reading throws the error that names it, its file and the fix: the inventory stays
 * usable, and only what needs that variable fails, as in Ansible.
 *
 * `vars` and `origins` are the host's own (the caller made them for it): when no variable needs
 * rendering, opening or guarding, the most common host, they are returned as they are.
 */
export function resolveHostVars({
  host,
  groups,
  vars,
  origins,
  shadowed = new Map(),
  unread = [],
}: HostVarsInput): {
  vars: Vars;
  origins: Record<string, SourceLocation>;
} {
  if (unread.length === 0 && shadowed.size === 0 && !anyLockedOrTemplate(vars)) {
    return { vars, origins };
  }
  const outVars: Vars = {};
  const outOrigins: Record<string, SourceLocation> = {};
  const done = new Map<string, { value: unknown } | { error: ValidationError }>();
  const inProgress = new Set<string>();
  const vaultedReads = new Set<string>();
  const magic: Record<string, unknown> = {
    inventory_hostname: host,
    inventory_hostname_short: host.split('.')[0],
    group_names: groups,
  };

  const templateError = (name: string, message: string): ValidationError =>
    hostVariableError(
      host,
      name,
      origins[name]!,
      'unsupported-template',
      message,
      'INVENTORY_INVALID',
    );

  const resolve = (name: string): unknown => {
    const known = done.get(name);
    if (known) {
      if ('error' in known) throw new Locked(known.error);
      return known.value;
    }
    if (!Object.hasOwn(vars, name)) {
      if (Object.hasOwn(magic, name)) return magic[name];
      if (unread.length > 0) throw new Locked(unreadVaultError(host, name, unread));
      return undefined;
    }
    const vaults = shadowed.get(name);
    if (vaults) throw new Locked(unreadVaultError(host, name, vaults, origins[name]));
    if (inProgress.has(name)) {
      throw new Locked(
        templateError(name, 'refers to itself through its template: break the loop'),
      );
    }
    inProgress.add(name);
    try {
      const value = render(name, vars[name]);
      done.set(name, { value });
      return value;
    } catch (e) {
      if (!(e instanceof Locked)) throw e;
      done.set(name, { error: e.error });
      throw e;
    } finally {
      inProgress.delete(name);
    }
  };

  const render = (name: string, value: unknown): unknown => {
    if (value instanceof VaultedValue) throw new Locked(vaultLockedError(host, name, value.at));
    if (typeof value === 'string') {
      if (!isTemplate(value)) return value;
      try {
        return renderVarTemplate(value, (ref) => {
          const v = resolve(ref);
          // Through any number of templates: a value made of a vaulted one is vaulted too.
          if (v !== undefined && (origins[ref]?.isVaulted || vaultedReads.has(ref)))
            vaultedReads.add(name);
          return v;
        });
      } catch (e) {
        // The template is decrypted text: its names and expressions are not for messages.
        if (
          origins[name]?.isVaulted &&
          (e instanceof TemplateUndefined || e instanceof TemplateRefused)
        ) {
          throw new Locked(
            templateError(
              name,
              `${VAULTED_VALUE} has a template opsbook cannot evaluate, or that names a variable not defined for this host: see it with ansible-vault view, and write the value out or define the variable`,
            ),
          );
        }
        if (e instanceof TemplateUndefined) {
          throw new Locked(
            templateError(
              name,
              `has a template that names '${e.variable}', which is not defined for this host: define it or add | default(...)`,
            ),
          );
        }
        if (e instanceof TemplateRefused) {
          throw new Locked(
            templateError(
              name,
              `has a template opsbook cannot evaluate: ${e.message}; write the value out`,
            ),
          );
        }
        throw e;
      }
    }
    if (Array.isArray(value)) return value.map((v) => render(name, v));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        Object.defineProperty(out, k, {
          value: render(name, v),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return value;
  };

  for (const name of Object.keys(vars)) {
    const own = { enumerable: true, configurable: true };
    const at = origins[name]!;
    if (!hasLockedOrTemplate(vars[name]) && !shadowed.has(name)) {
      setOwn(outVars, name, vars[name]);
      setOwn(outOrigins, name, at);
      continue;
    }
    try {
      setOwn(outVars, name, resolve(name));
    } catch (e) {
      if (!(e instanceof Locked)) throw e;
      const error = e.error;
      Object.defineProperty(outVars, name, {
        ...own,
        get() {
          throw error;
        },
      });
    }
    const vaulted = at.isVaulted || vaultedReads.has(name);
    setOwn(outOrigins, name, vaulted ? { ...at, isVaulted: true } : at);
  }
  return { vars: outVars, origins: outOrigins };
}
