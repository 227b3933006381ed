export {
  CLOCK_SKEW_WARN_MS,
  clockSkewWarning,
  measureClockSkew,
  scheduleClockWarning,
} from './clock-skew.js';
export { checkScheduleApproval, type ScheduleApproval } from './schedule-approval.js';
export { readScheduleReport, type ScheduleReport } from './schedule-report.js';
export { scheduleRunbookProblems } from './schedule-runbooks.js';
export {
  type LastSlot,
  type MissedSlot,
  type MissReason,
  type ScheduleStatus,
  SLOT_GRACE_MS,
  scheduleStatus,
} from './schedule-status.js';
export {
  runScheduledSlot,
  type ScheduleEvent,
  type SlotPayload,
  type SlotRunOptions,
} from './scheduled-run.js';
export {
  requireSchedules,
  type Scheduler,
  type SchedulerOptions,
  type ScheduleTasks,
  scheduleTasks,
  startScheduler,
} from './scheduler.js';
export {
  cronIdentifier,
  parseScheduleCron,
  SCHEDULE_TASK,
  type Schedule,
  scheduleLogOf,
  schedulesOf,
} from './schedules.js';
