// The approval's flow, as the rest of the runner imports it: plan, approve (or attach a
// signature), verify; each in its own module.
import { userInfo } from 'node:os';

export * from './approval-file.js';
export * from './plan-approval.js';
export * from './sign-approval.js';
export * from './verify-approval.js';

/** Who is acting: OPSBOOK_USER, else the OS user. Matched against approver ids. */
export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPSBOOK_USER || userInfo().username;
}
