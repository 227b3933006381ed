// A peer of `opsbook validate` for validate.mjs: what Node alone costs to read a catalog's files
// (`read`), and to read them and parse each runbook.yaml with the yaml package, the YAML library
// opsbook depends on (`yaml`, from BENCH_YAML_PACKAGE), or with js-yaml, the fastest common YAML
// parser for Node, which opsbook uses for files its own reader declines (`js-yaml`, from
// BENCH_JS_YAML_PACKAGE). It checks nothing. CommonJS, as opsbook's bin.js is: no ES module
// loader for either. Prints how many runbook folders it read.
//
//   node validate-peer.cjs read|yaml|js-yaml      (in the folder that holds runbooks/)
const fs = require('node:fs');
const path = require('node:path');

const mode = process.argv[2];
const parse =
  mode === 'yaml'
    ? require(process.env.BENCH_YAML_PACKAGE).parse
    : mode === 'js-yaml'
      ? require(process.env.BENCH_JS_YAML_PACKAGE).load
      : null;
const dir = path.join(process.cwd(), 'runbooks');
let count = 0;
for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
  if (!entry.isDirectory()) continue;
  JSON.parse(fs.readFileSync(path.join(dir, entry.name, 'package.json'), 'utf8'));
  const text = fs.readFileSync(path.join(dir, entry.name, 'runbook.yaml'), 'utf8');
  if (parse) parse(text);
  count++;
}
fs.writeSync(1, `${count} runbooks read\n`);
