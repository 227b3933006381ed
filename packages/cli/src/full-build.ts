/**
 * Thrown by a command of a cached bundle (dist/fast.js) that needs a module the bundle leaves
 * out (scripts/bundle.mjs, `fullBuildOnly`), before it has read or printed anything: main()
 * answers `rerunInFullBuild`, and bin.js runs the same command again from dist/main.mjs.
 */
export class FullBuildNeeded extends Error {
  constructor() {
    super('internal: this command continues in the full build (dist/main.mjs)');
  }
}
