/**
 * Runbook templates (root README, Writing a runbook). Deliberately tiny: a template is text with
 * `{{ ... }}` placeholders that name a value, never an expression or code. The allowed forms are
 *
 *   {{ params.NAME }}      a declared runbook parameter
 *   {{ host.name }}        the inventory name of the host
 *   {{ host.vars.NAME }}   an inventory variable of the host
 *   {{ "{{" }}             literal text (for commands that use braces themselves)
 *
 * Substituting and quoting the values is the renderer's job (@opsbook/exec); this module only
 * parses, so that validation and rendering agree on what a template means.
 */

export type TemplateRef =
  | { kind: 'param'; name: string }
  | { kind: 'host-name' }
  | { kind: 'host-var'; name: string };

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; ref: TemplateRef; raw: string; offset: number };

export interface TemplateError {
  offset: number;
  message: string;
}

export interface ParsedTemplate {
  parts: TemplatePart[];
  errors: TemplateError[];
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const PARAM = new RegExp(`^params\\.(${IDENT})$`);
const HOST_VAR = new RegExp(`^host\\.vars\\.(${IDENT})$`);
const LITERAL = /^"([^"]*)"$/;

export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const errors: TemplateError[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) {
      text += template.slice(i);
      break;
    }
    text += template.slice(i, open);
    const close = template.indexOf('}}', literalEnd(template, open + 2));
    if (close < 0) {
      errors.push({
        offset: open,
        message: "'{{' is never closed by '}}': close it, or write {{ \"{{\" }} for literal braces",
      });
      text += template.slice(open);
      break;
    }
    const raw = template.slice(open, close + 2);
    const expr = template.slice(open + 2, close).trim();
    i = close + 2;
    const literal = LITERAL.exec(expr);
    if (literal) {
      text += literal[1];
      continue;
    }
    const ref = parseRef(expr);
    if (!ref) {
      errors.push({
        offset: open,
        message: `'${raw}' is not a template opsbook knows: use {{ params.NAME }}, {{ host.name }} or {{ host.vars.NAME }} (templates hold no expressions; write {{ "{{" }} for literal braces)`,
      });
      continue;
    }
    if (text) parts.push({ kind: 'text', text });
    text = '';
    parts.push({ kind: 'ref', ref, raw, offset: open });
  }
  if (text) parts.push({ kind: 'text', text });
  return { parts, errors };
}

/** Where to look for the closing braces: after a quoted literal, which may itself hold '}}'. */
function literalEnd(template: string, from: number): number {
  let j = from;
  while (template[j] === ' ' || template[j] === '\t') j++;
  if (template[j] !== '"') return from;
  const quote = template.indexOf('"', j + 1);
  return quote < 0 ? from : quote + 1;
}

function parseRef(expr: string): TemplateRef | undefined {
  if (expr === 'host.name') return { kind: 'host-name' };
  const p = PARAM.exec(expr);
  if (p?.[1]) return { kind: 'param', name: p[1] };
  const v = HOST_VAR.exec(expr);
  if (v?.[1]) return { kind: 'host-var', name: v[1] };
  return undefined;
}

/** Every template string inside a `with:` value, with its path below `with`. */
export function templateStrings(
  value: unknown,
  path: Array<string | number> = [],
): Array<{ path: Array<string | number>; text: string }> {
  const found: Array<{ path: Array<string | number>; text: string }> = [];
  collectTemplates(value, path, found);
  return found;
}

/** Paths are copied only for the strings that hold a template: most hold none. */
function collectTemplates(
  value: unknown,
  path: Array<string | number>,
  found: Array<{ path: Array<string | number>; text: string }>,
): void {
  if (typeof value === 'string') {
    if (value.includes('{{')) found.push({ path: [...path], text: value });
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      collectTemplates(value[i], path, found);
      path.pop();
    }
  } else if (value && typeof value === 'object') {
    for (const k of Object.keys(value)) {
      path.push(k);
      collectTemplates((value as Record<string, unknown>)[k], path, found);
      path.pop();
    }
  }
}
