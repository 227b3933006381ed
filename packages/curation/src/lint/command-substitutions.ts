import { shellContexts } from '@opsbook/schema';
import { hereDocuments } from './here-documents.js';

/** A command substitution: `$(…)` or backquotes, where it starts and ends, and its commands. */
export interface Substitution {
  start: number;
  contentStart: number;
  contentEnd: number;
  end: number;
}

/**
 * The outermost command substitutions of `text` (not `$((…))`, arithmetic), in code, double
 * quotes or the body of a here-document whose delimiter is unquoted (the shell runs them there);
 * one whose end the reading does not find is left out.
 */
export function substitutions(text: string): Substitution[] {
  const contexts = shellContexts(text);
  const bodies = hereDocuments(text).filter((d) => d.expands);
  const found: Substitution[] = [];
  for (let i = 0; i < text.length; i++) {
    const kind = contexts.contextAt(i);
    if (
      kind !== 'code' &&
      kind !== 'double' &&
      !(kind === 'heredoc' && bodies.some((d) => i >= d.bodyStart && i < d.bodyEnd))
    )
      continue;
    if (text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === '$' && text[i + 1] === '(' && text[i + 2] !== '(') {
      const close = substitutionEnd(text, i + 2);
      if (close < 0) continue;
      found.push({ start: i, contentStart: i + 2, contentEnd: close, end: close + 1 });
      i = close;
    } else if (text[i] === '`') {
      const close = backquoteEnd(text, i + 1);
      if (close < 0) continue;
      found.push({ start: i, contentStart: i + 1, contentEnd: close, end: close + 1 });
      i = close;
    }
  }
  return found;
}

/** The `)` that closes a `$(` whose text starts at `from`, or -1. */
function substitutionEnd(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') i++;
    else if (c === "'") {
      i = text.indexOf("'", i + 1);
      if (i < 0) return -1;
    } else if (c === '"') {
      i = doubleQuoteEnd(text, i + 1);
      if (i < 0) return -1;
    } else if (c === '`') {
      i = backquoteEnd(text, i + 1);
      if (i < 0) return -1;
    } else if (c === '#' && (i === from || /\s/.test(text[i - 1]!))) {
      const eol = text.indexOf('\n', i);
      if (eol < 0) return -1;
      i = eol;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** The `"` that closes a double-quoted string whose text starts at `from`, or -1. */
function doubleQuoteEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') i++;
    else if (c === '"') return i;
    else if (c === '$' && text[i + 1] === '(') {
      i = substitutionEnd(text, i + 2);
      if (i < 0) return -1;
    } else if (c === '`') {
      i = backquoteEnd(text, i + 1);
      if (i < 0) return -1;
    }
  }
  return -1;
}

/** The backquote that closes one whose text starts at `from`, or -1. */
function backquoteEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '`') return i;
  }
  return -1;
}
