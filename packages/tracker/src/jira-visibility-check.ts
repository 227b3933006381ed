import { isOpsbookError } from '@opsbook/schema';
import type { CommentVisibility } from './jira-connection.js';
import { sameName } from './jira-fields.js';
import type { SetupCheck, SetupTarget } from './jira-setup-check.js';
import type { ReadOptions } from './tracker.js';

type Json = Record<string, unknown>;

const NAME = 'comment visibility';

/** Most group actors of a role named in a message; the rest are counted. */
const NAMED_GROUPS = 5;

/**
 * Whether the account opsbook signs in as (`me`, GET /myself; on Cloud with its groups) may post
 * comments restricted as `tracker.jira.commentVisibility` says: Jira refuses a comment restricted
 * to a role or group its author is not in. A role is read with its actors (GET
 * …/project/{key}/role, then …/role/{id}): the account itself, or one of its groups. Data Center's
 * document offers no operation an ordinary account reads its own groups with, so where only a
 * group would make it a member, the check says it cannot tell (`unknown`) rather than guess.
 */
export async function visibilityCheck(
  target: SetupTarget,
  visibility: CommentVisibility,
  me: Json,
  who: string,
  options: ReadOptions,
): Promise<SetupCheck> {
  const fix = `add ${who} to it in Jira, or set tracker.jira.commentVisibility in opsbook.yaml to a ${visibility.type} it is in (or remove it: comments are then visible to everyone who can see the ticket)`;
  const refused = `Jira refuses the comments opsbook posts restricted to it (proposals, run reports)`;
  try {
    if (visibility.type === 'group') {
      const groups = myGroups(target, me);
      const label = `group ${visibility.value}`;
      if (!groups)
        return cannotTell(
          `cannot tell whether ${who} is in ${label}: Jira Data Center's REST API lets an account list its groups only with admin rights; check it in Jira (${refused} otherwise)`,
        );
      const found = groups.items.find((g) => isGroup(g, visibility));
      if (found) return pass(`${who} is in group ${String(found.name ?? visibility.value)}`);
      if (!groups.complete)
        return cannotTell(
          `cannot tell whether ${who} is in ${label}: Jira did not list all the account's groups (${groups.items.length} of ${Number.isNaN(groups.size) ? 'an unknown number' : groups.size}), and it is not among those listed`,
        );
      return { name: NAME, ok: false, detail: `${who} is not in ${label}: ${refused}`, fix };
    }
    return await roleCheck(target, visibility, me, who, { fix, refused }, options);
  } catch (e) {
    if (!isOpsbookError(e)) throw e;
    return cannotTell(
      `cannot tell whether ${who} may post comments restricted to ${visibility.type} ${visibility.value}: ${e.message}`,
    );
  }
}

async function roleCheck(
  target: SetupTarget,
  visibility: CommentVisibility,
  me: Json,
  who: string,
  words: { fix: string; refused: string },
  options: ReadOptions,
): Promise<SetupCheck> {
  const project = encodeURIComponent(target.project);
  const list = await target.http.send({
    method: 'GET',
    path: target.apiPath(`/project/${project}/role`),
    signal: options.signal,
    context: {
      action: `list the roles of project ${target.project}`,
      permission: 'Browse Projects',
    },
  });
  const roles = Object.entries((list.body ?? {}) as Json).filter(
    (e): e is [string, string] => typeof e[1] === 'string',
  );
  const entry = roles.find(([name]) => sameName(name, visibility.value));
  const id = entry ? /\/role\/(\d+)\/?$/.exec(entry[1])?.[1] : undefined;
  if (!entry || !id)
    return {
      name: NAME,
      ok: false,
      detail: `${target.project} has no project role '${visibility.value}' (it has: ${roles.map(([n]) => n).join(', ') || 'none'})`,
      fix: 'set tracker.jira.commentVisibility.value in opsbook.yaml to one of them',
    };
  const label = `project role ${entry[0]} of ${target.project}`;
  const res = await target.http.send({
    method: 'GET',
    path: target.apiPath(`/project/${project}/role/${id}`),
    signal: options.signal,
    context: {
      action: `read who acts in ${label}`,
      permission: 'Administer Projects',
    },
  });
  const role = (res.body ?? {}) as Json;
  if (role.currentUserRole === true) return pass(`${who} acts in role ${entry[0]}`);
  const actors = (Array.isArray(role.actors) ? role.actors : []) as Json[];
  if (actors.some((a) => isMe(target, a, me))) return pass(`${who} acts in role ${entry[0]}`);
  // The rest: group actors (typed, or on Data Center possibly untyped: only a name).
  const groupActors = actors.filter((a) => a.type !== USER_ACTOR);
  const groups = myGroups(target, me);
  for (const a of groupActors) {
    const g = (a.actorGroup ?? {}) as Json;
    const ref = { name: String(g.name ?? a.name ?? ''), groupId: g.groupId };
    const found = groups?.items.find((mine) =>
      typeof ref.groupId === 'string' && typeof mine.groupId === 'string'
        ? ref.groupId === mine.groupId
        : sameName(String(mine.name ?? ''), ref.name),
    );
    if (found)
      return pass(
        `${who} acts in role ${entry[0]} through group ${String(found.name ?? ref.name)}`,
      );
  }
  if (groupActors.length > 0 && !groups?.complete) {
    const names = groupActors.map((a) => String(((a.actorGroup ?? {}) as Json).name ?? a.name));
    const shown = names.slice(0, NAMED_GROUPS).join(', ');
    const more = names.length > NAMED_GROUPS ? ` and ${names.length - NAMED_GROUPS} more` : '';
    return cannotTell(
      `cannot tell whether ${who} is in ${label}: not by name, and ${groups ? 'Jira did not list all its groups' : "Jira Data Center's REST API lets an account list its groups only with admin rights"}; it is if it is in group ${shown}${more}`,
    );
  }
  return {
    name: NAME,
    ok: false,
    detail: `${who} is not in ${label}: ${words.refused}`,
    fix: words.fix,
  };
}

const USER_ACTOR = 'atlassian-user-role-actor';

/** A role actor that is the account itself: Cloud by account id, Data Center by user name. */
function isMe(target: SetupTarget, actor: Json, me: Json): boolean {
  if (target.cloud) {
    const user = actor.actorUser as Json | undefined;
    return typeof me.accountId === 'string' && user?.accountId === me.accountId;
  }
  if (actor.type !== undefined && actor.type !== USER_ACTOR) return false;
  return typeof me.name === 'string' && actor.name === me.name;
}

/** Cloud's `groups` of /myself (expand=groups); undefined on Data Center, which has none. */
function myGroups(
  target: SetupTarget,
  me: Json,
): { items: Json[]; size: number; complete: boolean } | undefined {
  if (!target.cloud) return undefined;
  // Every member of User.groups is optional: without items (a Jira that ignored the expand),
  // or with fewer than `size`, an absent group proves nothing.
  const list = (me.groups ?? {}) as Json;
  if (!Array.isArray(list.items)) return { items: [], size: Number.NaN, complete: false };
  const items = list.items.filter((g): g is Json => !!g && typeof g === 'object');
  const size = typeof list.size === 'number' ? list.size : items.length;
  return { items, size, complete: items.length >= size };
}

/** A group of the account's that is the configured one: by id where it gives one, else by name. */
function isGroup(group: Json, visibility: CommentVisibility): boolean {
  if (visibility.identifier !== undefined) return group.groupId === visibility.identifier;
  return sameName(String(group.name ?? ''), visibility.value);
}

function pass(detail: string): SetupCheck {
  return { name: NAME, ok: true, detail };
}

function cannotTell(detail: string): SetupCheck {
  return { name: NAME, ok: false, unknown: true, detail };
}
