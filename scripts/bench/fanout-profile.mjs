// BENCH_PROFILE=1 of fanout.mjs: one opsbook run under `node --cpu-prof --heap-prof` and one
// bare loop under `--cpu-prof` at the largest size, each summarised by self time (and, for the
// heap, by what is still held when the run ends: what a run keeps per host until its end).
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { waitForIdleSshd } from './bench-measure.mjs';
import { cleanEnv, runGroup } from './bench-processes.mjs';

/** One opsbook run (`prepared`: approveInFreshState's) under the CPU and heap profilers. */
export async function profileOpsbook(world, prepared, size, timeoutMs) {
  const profDir = path.join(process.env.BENCH_PROFILE_DIR ?? path.join(world.dir, 'profile'));
  await mkdir(profDir, { recursive: true });
  const [node, ...args] = prepared.argv;
  await waitForIdleSshd(world.sshd);
  const r = await runGroup(
    [
      node,
      '--cpu-prof',
      `--cpu-prof-dir=${profDir}`,
      // BENCH_PROFILE_INTERVAL=50: one sample every 50 µs (Node's default 1,000), for one host.
      ...(process.env.BENCH_PROFILE_INTERVAL
        ? [`--cpu-prof-interval=${process.env.BENCH_PROFILE_INTERVAL}`]
        : []),
      '--heap-prof',
      `--heap-prof-dir=${profDir}`,
      ...args,
    ],
    { cwd: world.dir, env: cleanEnv() },
    timeoutMs,
  );
  if (r.code !== 0)
    throw new Error(`profiled opsbook run failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  const files = await readdir(profDir);
  const cpu = files.find((f) => f.endsWith('.cpuprofile'));
  summariseCpu(JSON.parse(await readFile(path.join(profDir, cpu), 'utf8')), {
    what: 'opsbook run',
    size,
    profDir,
  });
  const heap = files.find((f) => f.endsWith('.heapprofile'));
  summariseHeap(JSON.parse(await readFile(path.join(profDir, heap), 'utf8')), { size, profDir });
}

/** The bare loop (`argv`) under `node --cpu-prof` at the same size and parallelism. */
export async function profileFloor(world, argv, size, timeoutMs) {
  const parent = process.env.BENCH_PROFILE_DIR ?? path.join(world.dir, 'profile');
  const profDir = path.join(parent, 'floor');
  await mkdir(profDir, { recursive: true });
  const [node, ...args] = argv;
  await waitForIdleSshd(world.sshd);
  const r = await runGroup(
    [node, '--cpu-prof', `--cpu-prof-dir=${profDir}`, ...args],
    { cwd: world.dir, env: cleanEnv() },
    timeoutMs,
  );
  if (r.code !== 0) throw new Error(`profiled bare loop failed (exit ${r.code}): ${r.stderr}`);
  const name = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
  summariseCpu(JSON.parse(await readFile(path.join(profDir, name), 'utf8')), {
    what: 'bare ssh2 loop',
    size,
    profDir,
  });
}

function summariseCpu(prof, { what, size, profDir }) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const self = new Map(); // node id -> µs
  for (let i = 0; i < prof.samples.length; i++) {
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const ownerFrame = (id) => {
    for (let at = id, depth = 0; at !== undefined && depth < 200; at = parentOf.get(at), depth++) {
      const frame = byId.get(at).callFrame;
      if (/node_modules|packages\//.test(frame.url)) return frame;
    }
    return undefined;
  };
  const tally = tallies();
  for (const [id, us] of self) tally.add(byId.get(id).callFrame, ownerFrame(id), us);
  console.log(
    `\nCPU profile of one ${what} on ${size.n} hosts, ${size.concurrency} in parallel (${(tally.total / 1000).toFixed(0)} ms of wall time sampled; ${profDir}):`,
  );
  tally.print((us) => `${(us / 1000).toFixed(0).padStart(6)} ms`);
}

/**
 * The sampling heap profile Node writes at exit: the allocations still alive then, i.e. what
 * the run held until its end, by allocating function and by package.
 */
function summariseHeap(prof, { size, profDir }) {
  const tally = tallies();
  const walk = (node, owner) => {
    const frame = node.callFrame;
    const here = /node_modules|packages\//.test(frame.url) ? frame : owner;
    if (node.selfSize > 0) tally.add(frame, here, node.selfSize);
    for (const child of node.children ?? []) walk(child, here);
  };
  walk(prof.head, undefined);
  console.log(
    `\nheap still allocated at the end of the opsbook run on ${size.n} hosts (sampled, ${(tally.total / 2 ** 20).toFixed(1)} MB, ${(tally.total / size.n / 1024).toFixed(1)} KB a host; ${profDir}):`,
  );
  tally.print((bytes) => `${(bytes / 1024).toFixed(0).padStart(6)} KB`);
}

/** Self cost by area, by owning package and by function. */
function tallies() {
  const byFunction = new Map();
  const byArea = new Map();
  const byOwner = new Map();
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  const tally = {
    total: 0,
    add(frame, owner, v) {
      add(byFunction, `${describe(frame)}  ← ${describe(owner ?? frame)}`, v);
      add(byArea, areaOf(frame), v);
      // Native and Node-core cost is charged to the nearest opsbook or dependency frame that called it.
      add(byOwner, owner ? areaOf(owner) : areaOf(frame), v);
      tally.total += v;
    },
    print(unit) {
      const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
      const print = (title, m, k) => {
        console.log(title);
        for (const [a, v] of top(m, k))
          console.log(`  ${unit(v)}  ${((100 * v) / tally.total).toFixed(1).padStart(5)} %  ${a}`);
      };
      print('by area (self):', byArea, 12);
      print(
        'by owner (self; native and Node-core charged to the opsbook or dependency code that called it):',
        byOwner,
        12,
      );
      print('top functions (self ← owning frame):', byFunction, 25);
    },
  };
  return tally;
}

function describe(f) {
  const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '(native)';
  return `${f.functionName || '(anonymous)'} ${where}`;
}

function shortUrl(url) {
  const file = url.replace('file://', '');
  const at = file.search(/node_modules\/\.pnpm\/|packages\//);
  return at >= 0
    ? file.slice(at).replace(/^node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
    : file;
}

function areaOf(frame) {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
  const m = url.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/);
  if (m) return `dependency ${m[1]}`;
  const pkg = url.match(/packages\/([^/]+)\//);
  if (pkg) return `@opsbook/${pkg[1]}`;
  if (url.startsWith('node:')) return `node core ${url.slice(5).split('/')[0]}`;
  return url;
}
