// Writes each package README's error table (between <!-- error-codes:start --> and
// <!-- error-codes:end -->) from the package's src/error-codes.ts: `pnpm gen:errors`.
// packages/cli/test/exit-codes-documented.test.ts fails when a table differs from what this writes.
// The lists and the CLI's exit codes are TypeScript and Node 20 cannot import it: vite (the
// loader vitest runs the tests with) loads the same module the test uses, from the sources.
import { fileURLToPath } from 'node:url';
import { createViteServer } from 'vitest/node';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const server = await createViteServer({
  configFile: false,
  root: repoRoot,
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, watch: null },
});
try {
  const { writeErrorTables } = await server.ssrLoadModule(
    fileURLToPath(new URL('../packages/cli/test/error-tables.ts', import.meta.url)),
  );
  const written = await writeErrorTables(repoRoot);
  console.log(
    written.length ? written.map((f) => `wrote ${f}`).join('\n') : 'all tables up to date',
  );
} finally {
  await server.close();
}
