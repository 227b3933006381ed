import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LintFinding } from './lint-finding.js';
import { type LintSeverity, lintRules, shellCheckHelpUri } from './lint-rules.js';
import type { LintReport } from './lint-runbooks.js';

/**
 * The lint report as SARIF 2.1.0 (OASIS), the format CI code scanning reads (GitHub's
 * upload-sarif, GitLab, Azure DevOps). Paths are relative to the repository root (`SRCROOT`);
 * suppressed findings stay in, with their reason as an in-source suppression.
 */
export interface SarifOptions {
  /** The repository root, which artifact URIs are relative to. */
  root: string;
  /** The folder the report's file names are relative to (the working folder). */
  cwd: string;
  /** opsbook's version, for the tool description. */
  version?: string;
}

const levels: Record<LintSeverity, 'error' | 'warning' | 'note'> = {
  error: 'error',
  warning: 'warning',
  info: 'note',
};

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

export function renderSarif(report: LintReport, options: SarifOptions): object {
  const findings = report.runbooks.flatMap((r) => r.findings);
  const ruleIds = [...lintRules.keys(), ...shellCheckCodes(findings)];
  const ruleIndex = new Map(ruleIds.map((id, i) => [id, i]));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'opsbook lint',
            ...(options.version ? { version: options.version } : {}),
            rules: ruleIds.map(ruleDescriptor),
          },
          extensions: [
            {
              name: 'ShellCheck',
              version: report.shellcheck.version,
              informationUri: 'https://www.shellcheck.net',
            },
          ],
        },
        originalUriBaseIds: {
          SRCROOT: { uri: `${pathToFileURL(options.root).href.replace(/\/?$/, '/')}` },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ruleIndex.get(f.rule),
          level: levels[f.severity],
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: artifactUri(f.file, options), uriBaseId: 'SRCROOT' },
                region: {
                  startLine: f.line,
                  startColumn: f.col,
                  endLine: f.endLine,
                  // SARIF's end column is the one after the region.
                  endColumn: f.endCol + 1,
                },
              },
            },
          ],
          ...(f.suppressed
            ? { suppressions: [{ kind: 'inSource', justification: f.suppressed.reason }] }
            : {}),
          properties: { runbook: f.runbook, ...(f.step ? { step: f.step } : {}) },
        })),
      },
    ],
  };
}

function shellCheckCodes(findings: readonly LintFinding[]): string[] {
  return [...new Set(findings.filter((f) => f.source === 'shellcheck').map((f) => f.rule))].sort();
}

function ruleDescriptor(id: string) {
  const own = lintRules.get(id as never);
  if (own)
    return {
      id,
      shortDescription: { text: own.summary },
      defaultConfiguration: { level: levels[own.severity] },
      properties: { source: 'opsbook' },
    };
  return {
    id,
    shortDescription: { text: `ShellCheck ${id}` },
    helpUri: shellCheckHelpUri(id),
    properties: { source: 'shellcheck' },
  };
}

/** `runbooks/x/runbook.yaml`: relative to the root, `/`-separated, each segment URI-encoded. */
function artifactUri(file: string, options: SarifOptions): string {
  const relative = path.relative(options.root, path.resolve(options.cwd, file));
  return relative.split(path.sep).map(encodeURIComponent).join('/');
}
