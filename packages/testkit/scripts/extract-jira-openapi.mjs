#!/usr/bin/env node
// Vendors the few Jira operations opsbook uses out of Atlassian's full OpenAPI documents
// (shared/jira-openapi/*.json, several MB each) into packages/testkit/fixtures/jira-openapi/,
// so the spec-validated Jira fake runs from a plain clone. The JSON is copied, never edited:
// spec defects are overridden in src/jira/spec-overrides.ts.
//
// usage: node scripts/extract-jira-openapi.mjs [source-dir]   (default ../../../shared/jira-openapi)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceDir = path.resolve(
  process.argv[2] ?? path.join(here, '../../../../shared/jira-openapi'),
);
const outDir = path.join(here, '../fixtures/jira-openapi');

const issue = '/issue/{issueIdOrKey}';
const operations = (prefix, search) => ({
  [`${prefix}/issue`]: ['post'],
  [`${prefix}${issue}`]: ['get', 'put'],
  [`${prefix}${issue}/comment`]: ['get', 'post'],
  [`${prefix}${issue}/attachments`]: ['post'],
  [`${prefix}${issue}/transitions`]: ['get', 'post'],
  [`${prefix}${issue}/assignee`]: ['put'],
  [`${prefix}${issue}/remotelink`]: ['get', 'post'],
  [`${prefix}${issue}/properties`]: ['get'],
  [`${prefix}${issue}/properties/{propertyKey}`]: ['get', 'put', 'delete'],
  // The delivery id a comment carries, read back when its answer was lost.
  [`${prefix}/comment/{commentId}/properties/{propertyKey}`]: ['get'],
  [`${prefix}${search}`]: ['get', 'post'],
  [`${prefix}/myself`]: ['get'],
  // `opsbook doctor`: the project's issue types and their workflows' statuses.
  [`${prefix}/project/{projectIdOrKey}/statuses`]: ['get'],
  // `opsbook doctor`: whether approvers.yaml's Jira accounts can be assigned tickets.
  [`${prefix}/user/assignable/search`]: ['get'],
  // The site's own URL (browse links) when the base is Atlassian's API gateway.
  [`${prefix}/serverInfo`]: ['get'],
  // The name of an issue's status where the issue answers with its id only (name is optional).
  [`${prefix}/status/{idOrName}`]: ['get'],
});

const specs = [
  {
    file: 'jira-cloud-platform-v3.openapi.json',
    out: 'cloud-v3.json',
    ops: operations('/rest/api/3', '/search/jql'),
  },
  {
    file: 'jira-software-dc-10.3.openapi.json',
    out: 'dc-v2.json',
    ops: operations('/api/2', '/search'),
  },
];

/** Every `#/components/<kind>/<name>` reachable from `node`, followed transitively. */
function collectRefs(spec, node, seen) {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(spec, item, seen);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/')) {
      if (seen.has(value)) continue;
      seen.add(value);
      const [, , kind, name] = value.split('/');
      const target = spec.components?.[kind]?.[name];
      if (!target) throw new Error(`unresolved $ref ${value}`);
      collectRefs(spec, target, seen);
    } else {
      collectRefs(spec, value, seen);
    }
  }
}

for (const { file, out, ops } of specs) {
  const spec = JSON.parse(readFileSync(path.join(sourceDir, file), 'utf8'));
  const paths = {};
  for (const [route, methods] of Object.entries(ops)) {
    const item = spec.paths[route];
    if (!item) throw new Error(`${file}: no path ${route}`);
    paths[route] = {};
    for (const m of methods) {
      if (!item[m]) throw new Error(`${file}: no ${m.toUpperCase()} ${route}`);
      paths[route][m] = item[m];
    }
    if (item.parameters) paths[route].parameters = item.parameters;
  }
  const seen = new Set();
  collectRefs(spec, paths, seen);
  const components = { securitySchemes: spec.components.securitySchemes };
  for (const ref of [...seen].sort()) {
    const [, , kind, name] = ref.split('/');
    components[kind] ??= {};
    components[kind][name] = spec.components[kind][name];
  }
  const vendored = {
    openapi: spec.openapi,
    info: { ...spec.info, 'x-opsbook-vendored': { from: file, operations: ops } },
    servers: spec.servers,
    paths,
    components,
  };
  writeFileSync(path.join(outDir, out), `${JSON.stringify(vendored, null, 1)}\n`);
  console.log(`${out}: ${Object.keys(paths).length} paths, ${seen.size} components`);
}
