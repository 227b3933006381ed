import { UsageError } from '@opsbook/schema';
import SSHConfig, { type Line, type Section } from 'ssh-config';
import { directiveWords, type SshConfigSource } from './ssh-config-source.js';

/**
 * One config for `alias` with every Include replaced by the lines of the files it names, so that
 * the `ssh-config` package's first-value-wins walk sees them where OpenSSH reads them:
 * - a top-level Include (before the first Host/Match) applies its files unconditionally;
 * - an Include inside a Host/Match block applies its files only when that block applies to
 *   `alias` (OpenSSH reads them with "never match" otherwise), and the block's own lines after
 *   the Include still apply, as they do in OpenSSH.
 * Whether a block applies is asked of the package itself, with everything before it as context,
 * so that `Match host` sees the HostName set by earlier lines.
 */
export function flattenIncludes(source: SshConfigSource, alias: string): SSHConfig {
  const out = new SSHConfig();
  appendFlattened(out, source, alias);
  return out;
}

function appendFlattened(out: SSHConfig, source: SshConfigSource, alias: string): void {
  for (const line of SSHConfig.parse(source.text)) {
    if (isInclude(line)) {
      for (const child of includedFiles(source, line)) appendFlattened(out, child, alias);
      continue;
    }
    if (!isSection(line) || !line.config.some(isInclude)) {
      out.push(line);
      continue;
    }
    const index = line.config.findIndex(isInclude);
    const head = { ...line, config: sectionOf(line.config.slice(0, index)) } as Section;
    const applies = blockApplies(out, head, alias);
    out.push(head);
    if (!applies) continue;
    // The block applies: what follows the Include in it applies as well, so it goes on as
    // top-level lines (which the package applies unconditionally) after the included files.
    for (const rest of line.config.slice(index)) {
      if (isInclude(rest))
        for (const child of includedFiles(source, rest)) appendFlattened(out, child, alias);
      else out.push(rest);
    }
  }
}

const SENTINEL = 'OpsbookBlockApplies';

function blockApplies(before: SSHConfig, block: Section, alias: string): boolean {
  const probe = new SSHConfig();
  probe.push(...before);
  const sentinel = {
    type: SSHConfig.DIRECTIVE,
    param: SENTINEL,
    separator: ' ',
    value: 'yes',
    before: '',
    after: '\n',
  } as Line;
  probe.push({ ...block, config: sectionOf([sentinel]) } as Section);
  return probe.compute(alias, { matchExec: false })[SENTINEL] === 'yes';
}

function includedFiles(source: SshConfigSource, line: Line): SshConfigSource[] {
  const key = directiveWords((line as { value: string | { val: string }[] }).value).join(' ');
  const files = source.includes[key];
  if (!files) {
    throw new UsageError(
      `ssh config ${source.file}: Include ${key} was not loaded: read the config with loadSshConfig, which follows Include`,
    );
  }
  return files;
}

function isInclude(line: Line): boolean {
  return line.type === SSHConfig.DIRECTIVE && /^include$/i.test(line.param);
}

function isSection(line: Line): line is Section {
  return line.type === SSHConfig.DIRECTIVE && 'config' in line;
}

function sectionOf(lines: Line[]): SSHConfig {
  const config = new SSHConfig();
  config.push(...lines);
  return config;
}
