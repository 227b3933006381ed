export {
  type AlertRecord,
  alertKey,
  alertName,
  parseWebhookBody,
  type WebhookPayload,
} from './alert.js';
export { AlertIntake, type IntakeResult } from './alert-intake.js';
export {
  type AlertDay,
  type AlertState,
  type AlertStore,
  incidentId,
  type StateChange,
} from './alert-store.js';
export { assignOwner, onCallAt } from './assign.js';
export {
  closeIncidentOfTicket,
  firingUnshown,
  type IncidentOfTicket,
  type Successors,
  type TicketClosure,
} from './closed-ticket.js';
export { type ConvergeInput, type ConvergeResult, convergeAlerts } from './converge.js';
export {
  type DispatchOptions,
  type DispatchReport,
  decideUncertain,
  dispatchIncidents,
  dispatchPending,
  type PriorityRefusal,
  type ProvenDecision,
} from './dispatch.js';
export { type AlertsErrorCode, alertsErrorCodes } from './error-codes.js';
export { ALERTS_DIR, filesAlertStore } from './files-alert-store.js';
export { gradeIncident, matchesLabels, suggestRunbooks, worstSeverity } from './grade.js';
export * from './incident.js';
export { unknownIncident } from './incident-query.js';
export { alertStoreOf } from './open-alert-store.js';
export { postgresAlertStore } from './postgres-alert-store.js';
export {
  type AlertPipeline,
  AlertProcessor,
  type AlertProcessorOptions,
  type ConvergeSummary,
  convergeStored,
  type PipelineSource,
  type ProcessorEvent,
  processAlerts,
} from './process-alerts.js';
export {
  type AlertReceiver,
  type AlertReceiverOptions,
  DEFAULT_MAX_BODY_BYTES,
  type ReceiverEvent,
  startAlertReceiver,
} from './receiver.js';
export { isLoopback, type ReceiverAuth } from './receiver-auth.js';
export {
  alreadyGraded,
  type RecordedSubject,
  type RegradeSubject,
  recordedRegrades,
  regradeIncident,
  regradeSubject,
} from './regrade.js';
export {
  ALERT_RULES_FILE,
  type AlertRules,
  type KnownPeople,
  type LoadRulesOptions,
  loadAlertRules,
} from './rules.js';
export { alertRulesSchema, onCallSchema } from './rules-schema.js';
export { alertsComment, incidentTicket, proposeCommand, ticketSummary } from './ticket-doc.js';
export { type Topology, topologyOf, withoutPort } from './topology.js';
export { webhookSchema } from './webhook-schema.js';
