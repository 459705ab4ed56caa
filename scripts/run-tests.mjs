// The test command (`npm test`): runs the native C++ tests and the ava suite, then prints one
// combined line "N passed, N failed" (skipped tests are listed, not counted as passed).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let passed = 0;
let failed = 0;
let skipped = 0;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20, env: process.env });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  return r;
}

// 1. Native tests (built by node-gyp next to the addon).
const candidates = ['build/Release/af_native_tests', 'build-cmake/af_native_tests'].map((p) => join(root, p));
const exe = candidates.find((p) => existsSync(p));
if (!exe) {
  console.log('not ok - native tests: af_native_tests not built (run `npm install` or `npx node-gyp rebuild`)');
  failed += 1;
} else {
  const r = run(exe, []);
  const m = /(\d+) passed, (\d+) failed\s*$/.exec(r.stdout ?? '');
  if (!m) {
    console.log(`not ok - native tests did not finish (status ${r.status}, signal ${r.signal})`);
    failed += 1;
  } else {
    passed += Number(m[1]);
    failed += Number(m[2]);
    if (r.status !== 0 && Number(m[2]) === 0) failed += 1;
  }
}

// 2. The ava suite, with the TAP reporter so the counts can be read back.
const ava = run(process.execPath, [join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), '--tap']);
const tap = ava.stdout ?? '';
const count = (label) => {
  const m = new RegExp(`^# ${label} (\\d+)$`, 'm').exec(tap);
  return m ? Number(m[1]) : 0;
};
const avaPass = count('pass');
const avaFail = count('fail');
const avaSkip = count('skip');
if (!/^# (pass|fail) \d+$/m.test(tap)) {
  console.log(`not ok - ava did not report results (status ${ava.status})`);
  failed += 1;
} else {
  passed += avaPass;
  failed += avaFail;
  skipped += avaSkip;
  if (ava.status !== 0 && avaFail === 0) failed += 1; // e.g. an uncaught exception in a test file
}

if (skipped) console.log(`${skipped} skipped (see the reasons above)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
