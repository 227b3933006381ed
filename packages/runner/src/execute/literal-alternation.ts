/**
 * A regular expression matching any of `literals`, the longest one where several match at the
 * same place, as `literals.sort(longest first).map(escape).join('|')` does, but written as a trie:
 * literals that share a beginning share its test. The secret masker's targets are variations of
 * a few encodings of each secret (whole, cut into lines, in both cases), many sharing their
 * beginnings: masking 10 MB of log lines with three secrets took ~40 ms with a flat alternation,
 * ~30 ms with this one.
 */
export function literalAlternation(literals: readonly string[], flags: string): RegExp {
  const root: TrieNode = { children: new Map(), ends: false };
  for (const literal of literals) {
    if (literal === '') continue;
    let node = root;
    for (let i = 0; i < literal.length; i++) {
      const unit = literal.charAt(i);
      let next = node.children.get(unit);
      if (!next) {
        next = { children: new Map(), ends: false };
        node.children.set(unit, next);
      }
      node = next;
    }
    node.ends = true;
  }
  return new RegExp(branchesOf(root) || '(?!)', flags);
}

interface TrieNode {
  children: Map<string, TrieNode>;
  /** A literal ends here. */
  ends: boolean;
}

/**
 * The pattern of what may follow `node`. The children begin with distinct characters, so at
 * most one of them can match; trying it before stopping here gives the longest literal.
 */
function branchesOf(node: TrieNode): string {
  const branches = [...node.children].map(([unit, child]) => {
    // A chain without branches is one literal run, not a nest of groups.
    let run = escapeRegExp(unit);
    let tail = child;
    while (tail.children.size === 1 && !tail.ends) {
      const [next, only] = tail.children.entries().next().value as [string, TrieNode];
      run += escapeRegExp(next);
      tail = only;
    }
    const rest = branchesOf(tail);
    if (rest === '') return run;
    return tail.ends ? `${run}(?:${rest})?` : `${run}(?:${rest})`;
  });
  return branches.join('|');
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
