export { DEFAULT_PRIORITIES } from './fake-edit.js';
export {
  FAKE_STATUS_NAMES,
  FAKE_TRANSITIONS,
  type FakeGroup,
  type FakeIssue,
  type FakeProjectRole,
  type FakeUser,
  type StatusRole,
} from './fake-workflow.js';
export {
  FAKE_CREDENTIALS,
  type Fault,
  type FaultRule,
  type JiraFake,
  type JiraFakeOptions,
  type RecordedRequest,
  startJiraFake,
  type Violation,
} from './jira-fake.js';
export { type Flavour, OpenApiValidator } from './openapi-validator.js';
export {
  ADDED_QUERY_PARAMETERS,
  DC_REQUEST_MINIMUMS,
  QUERY_OVERRIDES,
  RESPONSE_OVERRIDES,
  SCHEMA_OVERRIDES,
} from './spec-overrides.js';
