import type { Command, CommandMeta, CommandSpec } from '../command.js';

/**
 * Every command: its name and one-line summary, the only place either is written (`opsbook
 * --help` lists them, `opsbook <cmd> --help` shows them), and a loader that imports the command's
 * module only when it runs, so that start-up stays fast however many commands exist.
 */
export interface CommandEntry extends CommandMeta {
  load: () => Promise<CommandSpec>;
}

export const commands: CommandEntry[] = [
  {
    name: 'doctor',
    summary:
      "check this machine's setup before work needs it: opsbook.yaml, trust pin, state store, outbox, tracker (Jira statuses), inventory",
    load: async () => (await import('./doctor.js')).default,
  },
  {
    name: 'validate',
    summary: 'check runbooks against the schema and the rules; list every problem',
    load: async () => (await import('./validate.js')).default,
  },
  {
    name: 'lint',
    summary:
      "check run: blocks and scripts with ShellCheck and opsbook's rules (secrets, sudo, rollback…)",
    load: async () => (await import('./lint.js')).default,
  },
  {
    name: 'promote',
    summary:
      'turn an ad-hoc shell script into a runbook package: params from its arguments and environment, valid at once',
    load: async () => (await import('./promote.js')).default,
  },
  {
    name: 'list',
    summary: 'list the runbooks of this repository',
    load: async () => (await import('./list.js')).default,
  },
  {
    name: 'show',
    summary: "show a runbook's params, targets, steps and versions",
    load: async () => (await import('./show.js')).default,
  },
  {
    name: 'digest',
    summary: "print a runbook bundle's digest (what an approval is bound to)",
    load: async () => (await import('./digest.js')).default,
  },
  {
    name: 'inspect',
    summary:
      'run the daily inspection under its standing approval and print the findings, worst first',
    load: async () => (await import('./inspect.js')).default,
  },
  {
    name: 'inventory',
    summary: 'collect host facts under the standing approval and print fleet statistics',
    load: async () => (await import('./inventory.js')).default,
  },
  {
    name: 'plan',
    summary:
      'render a run (runbook + params + hosts) into an unsigned approval for a senior to sign',
    load: async () => (await import('./plan.js')).default,
  },
  {
    name: 'approve',
    summary: 'sign an approval with your SSH key or ssh-agent (seniors)',
    load: async () => (await import('./approve.js')).default,
  },
  {
    name: 'verify',
    summary: 'check an approval against the trust store and this checkout, without running it',
    load: async () => (await import('./verify.js')).default,
  },
  {
    name: 'approval payload',
    summary:
      "write an approval's exact statement bytes to stdout (to sign with ssh-keygen -Y sign)",
    load: async () => (await import('./approval-payload.js')).default,
  },
  {
    name: 'approval attach-signature',
    summary: 'add a signature made with ssh-keygen -Y sign to an approval file',
    load: async () => (await import('./approval-attach-signature.js')).default,
  },
  {
    name: 'run',
    summary:
      'run an approved runbook: verify the approval, execute exactly what was signed, journal it',
    load: async () => (await import('./run.js')).default,
  },
  {
    name: 'worker',
    summary:
      "run the shards of distributed runs for a zone from the team's PostgreSQL job queue, verifying each itself",
    load: async () => (await import('./worker.js')).default,
  },
  {
    name: 'runs list',
    summary:
      "list the runs in the state store (this machine's, or the team's database), newest first",
    load: async () => (await import('./runs.js')).list,
  },
  {
    name: 'runs show',
    summary: "show one run's hosts, steps and results from its journal",
    load: async () => (await import('./runs.js')).show,
  },
  {
    name: 'db migrate',
    summary:
      "bring the team's PostgreSQL state store to this opsbook's schema (nothing to do for files)",
    load: async () => (await import('./db.js')).migrate,
  },
  {
    name: 'db grant-runner',
    summary:
      "give the role runners connect as what they need on the team's PostgreSQL store: the journal append-only",
    load: async () => (await import('./db.js')).grantRunner,
  },
  {
    name: 'schedule run',
    summary:
      'run the schedules of opsbook.yaml: each slot runs its routine under its standing approval',
    load: async () => (await import('./schedule.js')).run,
  },
  {
    name: 'schedule list',
    summary:
      'each schedule: next slot, last run, missed slots (exit 1 when one was missed; for alerts)',
    load: async () => (await import('./schedule.js')).list,
  },
  {
    name: 'journal verify',
    summary:
      'check that run journals are intact (no edited, dropped, reordered or appended events)',
    load: async () => (await import('./journal-verify.js')).default,
  },
  {
    name: 'trust init',
    summary: 'pin approvers.yaml as the trust store of this machine (explicit, never silent)',
    load: async () => (await import('./trust.js')).init,
  },
  {
    name: 'trust show',
    summary: 'show the pinned trust store, its approvers, policy and revoked keys',
    load: async () => (await import('./trust.js')).show,
  },
  {
    name: 'trust add-approver',
    summary:
      'add an approver to approvers.yaml (creates it if missing; rotation signatures once pinned)',
    load: async () => (await import('./trust.js')).addApprover,
  },
  {
    name: 'trust revoke',
    summary: 'revoke a key by fingerprint (raises the version; needs rotation signatures)',
    load: async () => (await import('./trust.js')).revoke,
  },
  {
    name: 'trust sign',
    summary: 'add your rotation signature to approvers.yaml.sig (seniors of the pinned version)',
    load: async () => (await import('./trust.js')).sign,
  },
  {
    name: 'ticket open',
    summary:
      'open a ticket with the symptoms, collected by a read-only runbook under a standing approval',
    load: async () => (await import('./ticket-open.js')).default,
  },
  {
    name: 'ticket propose',
    summary:
      'plan the fix on a ticket: attach the plan, post every command, assign the senior (→ Awaiting Approval)',
    load: async () => (await import('./ticket-review.js')).propose,
  },
  {
    name: 'ticket approve',
    summary:
      'sign the plan proposed on a ticket (seniors): attach the approval, → Approved, assign back',
    load: async () => (await import('./ticket-review.js')).approve,
  },
  {
    name: 'ticket approval',
    summary:
      "write a ticket's signed approval to a file (a standing one where opsbook.yaml's standing: names it)",
    load: async () => (await import('./ticket-approval.js')).default,
  },
  {
    name: 'ticket reject',
    summary:
      "send a ticket back to the engineer (→ Open) with a reason, or ask for more data: a proposed or approved plan, a run's result in review, or a ticket a dead run left In Progress",
    load: async () => (await import('./ticket-review.js')).reject,
  },
  {
    name: 'ticket comment',
    summary:
      'add data to a ticket (a need-data answer): text, files, or an evidence run under a standing approval',
    load: async () => (await import('./ticket-comment.js')).default,
  },
  {
    name: 'ticket run',
    summary:
      'run the approval attached to a ticket (→ In Progress, then → In Review with the results)',
    load: async () => (await import('./ticket-run.js')).default,
  },
  {
    name: 'ticket report',
    summary:
      "write a run's end to its ticket when its runner was killed before it did (summary, journal, → In Review)",
    load: async () => (await import('./ticket-report.js')).default,
  },
  {
    name: 'ticket accept',
    summary:
      'verify the finished work (journal, post-checks) and sign an Acceptance (seniors; → Done)',
    load: async () => (await import('./ticket-accept.js')).default,
  },
  {
    name: 'ticket bugs',
    summary: 'search the tracker for known bugs mentioning the text (JQL)',
    load: async () => (await import('./ticket-lookup.js')).bugs,
  },
  {
    name: 'ticket escalate',
    summary: 'assign a ticket to the R&D lead with the evidence collected so far',
    load: async () => (await import('./ticket-lookup.js')).escalate,
  },
  {
    name: 'ticket show',
    summary: 'show a ticket and every opsbook step on it (proposal, approval, runs, acceptance)',
    load: async () => (await import('./ticket-lookup.js')).show,
  },
  {
    name: 'outbox list',
    summary: 'list tracker writes waiting to be delivered (comments, attachments, transitions)',
    load: async () => (await import('./outbox.js')).list,
  },
  {
    name: 'outbox flush',
    summary: 'deliver the waiting tracker writes now: in order per ticket, each exactly once',
    load: async () => (await import('./outbox.js')).flush,
  },
  {
    name: 'outbox drop',
    summary: 'forget one write the tracker refused for good, so the writes behind it go out',
    load: async () => (await import('./outbox.js')).drop,
  },
  {
    name: 'alerts serve',
    summary:
      "receive Alertmanager's webhook: store every alert durably, converge, grade and dispatch tickets (seniors)",
    load: async () => (await import('./alerts-serve.js')).serve,
  },
  {
    name: 'alerts ingest',
    summary:
      'store the alerts of saved Alertmanager webhook bodies (files or stdin), as serve would',
    load: async () => (await import('./alerts.js')).ingest,
  },
  {
    name: 'alerts list',
    summary:
      'list the incidents alerts converged into: grade, alerts firing, hosts, ticket, assignee',
    load: async () => (await import('./alerts.js')).list,
  },
  {
    name: 'alerts show',
    summary: 'show one incident (INC-n or its ticket): rule, grade and why, re-grades, every alert',
    load: async () => (await import('./alerts.js')).show,
  },
  {
    name: 'alerts grade',
    summary:
      're-grade an incident P1-P4 with a reason, signed with your key (seniors); the ticket says so',
    load: async () => (await import('./alerts.js')).grade,
  },
  {
    name: 'alerts dispatch',
    summary:
      'converge stored alerts and send what the tracker lacks (tickets, comments), when serve does not run',
    load: async () => (await import('./alerts.js')).dispatch,
  },
  {
    name: 'report',
    summary:
      'environment health from the journal: scores, trends, changes, headroom (HTML, Markdown, JSON)',
    load: async () => (await import('./report.js')).default,
  },
  {
    name: 'stats',
    summary:
      'usage of the runbooks from the run history: runs, failure rate, durations, rollbacks, failing steps, unused ones',
    load: async () => (await import('./stats.js')).default,
  },
  {
    name: 'catalog',
    summary:
      'write a searchable HTML catalog and a Markdown one of every runbook: params, steps, versions, approvals and runs',
    load: async () => (await import('./catalog.js')).default,
  },
  {
    name: 'backup list',
    summary:
      'list backups: one repository (with their last verification), or with --history those the runs in the state store made',
    load: async () => (await import('./backup.js')).list,
  },
  {
    name: 'backup verify',
    summary:
      're-hash archives against their manifests (pg_restore --list for dumps); exit 1 if any is damaged',
    load: async () => (await import('./backup.js')).verify,
  },
  {
    name: 'backup prune',
    summary: 'remove backups a retention policy no longer keeps (never the last verified one)',
    load: async () => (await import('./backup.js')).prune,
  },
];

/** Import a command's module and give it its name and summary from the table. */
export async function loadCommand(entry: CommandEntry): Promise<Command> {
  return { ...(await entry.load()), name: entry.name, summary: entry.summary };
}
