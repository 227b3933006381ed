import {
  type ParamSpec,
  type RunTemplatePlaceholder,
  runTemplateSkeleton,
  type TemplateRef,
} from '@opsbook/schema';

/** A `{{ … }}` of a run: block: what it names, where it is, and how the shell reads that spot. */
export interface Placeholder extends RunTemplatePlaceholder {
  isSecret: boolean;
}

/**
 * A run: block as ShellCheck reads it: each placeholder replaced by a stand-in of the same
 * length. Where the shell reads code, the stand-in is a quoted variable (`"$PARAM_PATH___"`):
 * one word whose value is unknown, exactly what opsbook's quoted substitution gives, so
 * ShellCheck neither complains about it (`test -z '…'` would be "always false") nor misses what
 * is around it. Elsewhere (quotes, here-documents, comments) it is plain `___`: opsbook
 * validate refuses those spots but a comment. A literal `{{ "{{" }}` becomes its text.
 */
export interface RenderedRunBlock {
  text: string;
  placeholders: Placeholder[];
  /** The template offset that rendered offset `offset` came from. */
  templateOffset(offset: number): number;
}

export function renderRunBlock(
  template: string,
  params: Readonly<Record<string, ParamSpec>>,
): RenderedRunBlock {
  const { skeleton, placeholders: spots, templateOffset } = runTemplateSkeleton(template);
  let text = skeleton;
  const placeholders = spots.map((p) => {
    const isSecret = p.ref.kind === 'param' && params[p.ref.name]?.secret === true;
    const at = p.renderedStart;
    if (p.context === 'code')
      text = text.slice(0, at) + standIn(p.ref, p.raw.length) + text.slice(at + p.raw.length);
    return { ...p, isSecret };
  });
  return { text, placeholders, templateOffset };
}

/** `"$NAME"` padded with `_` to `length` (a placeholder is always long enough). */
function standIn(ref: TemplateRef, length: number): string {
  const name =
    ref.kind === 'param'
      ? `PARAM_${ref.name.toUpperCase()}`
      : ref.kind === 'host-var'
        ? `HOSTVAR_${ref.name.toUpperCase()}`
        : 'HOST_NAME';
  const room = length - 3;
  return `"$${name.slice(0, room).padEnd(room, '_')}"`;
}
