export {
  type AlertRecord,
  alertKey,
  alertName,
  parseWebhookBody,
  type WebhookPayload,
} from './alert.js';
export { AlertIntake, type AlertIntakeOptions, type IntakeResult } from './alert-intake.js';
export {
  type AlertDay,
  type AlertState,
  type AlertStore,
  incidentId,
  type StateChange,
} from './alert-store.js';
export { type AlertsErrorCode, alertsErrorCodes } from './error-codes.js';
export { ALERTS_DIR, filesAlertStore } from './files-alert-store.js';
export * from './incident.js';
export { alertStoreOf } from './open-alert-store.js';
export { postgresAlertStore } from './postgres-alert-store.js';
export {
  type AlertReceiver,
  type AlertReceiverOptions,
  DEFAULT_MAX_BODY_BYTES,
  type ReceiverEvent,
  startAlertReceiver,
} from './receiver.js';
export { isLoopback, type ReceiverAuth } from './receiver-auth.js';
export { MAX_ALERTS_PER_PAYLOAD, webhookSchema } from './webhook-schema.js';
