import { spawnSync } from 'child_process';
import * as path from 'path';

const cli = path.resolve(__dirname, '..', 'dist', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('selfcheck passes every check and says what it verified', () => {
  const r = run('selfcheck');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/all \d+ checks passed/);
  expect(r.stdout).toContain('17 buffers: E2BIG');
  expect(r.stdout).not.toContain('FAIL');
});

test('demo (the default command) runs every step and ends with a summary', () => {
  const r = run();
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/all \d+ steps behaved as Xen and Linux do/);
  expect(r.stdout).toMatch(/DMOP to the bystander d\d+ is refused\n\s+EPERM/);
  expect(r.stdout).toMatch(/a raw hypercall is refused\n\s+EPERM/);
  expect(r.stdout).toMatch(/its program prints a line, polling LSR before each byte\n\s+guest d\d+ says: "Hello from a guest, served by a restricted Node device model"/);
  expect(r.stdout).toMatch(/it binds a port of the bystander\n\s+EACCES/);
  expect(r.stdout).toMatch(/the bystander d\d+ ran a program meanwhile and is untouched\n\s+its state is what it was before/);
  expect(r.stdout).toMatch(/relabel-on-build \(Flask host\): built d\d+ under vm_building_t, relabelled, unpaused\n\s+builder mapped 1024 pages while building; now system_u:system_r:vm_t, running/);
  expect(r.stdout).toMatch(/the builder maps the running d\d+: refused by the policy\n\s+EACCES .*denied \{ map_read \}/);
  expect(r.stdout).toMatch(/relabel on a host without Flask: ENOSYS, said as such\n\s+ENOSYS .*runs without Flask/);
  expect(r.stdout).not.toContain('FAIL');
});

test('an unknown command exits 2 with usage on stderr', () => {
  const r = run('frobnicate');
  expect(r.status).toBe(2);
  expect(r.stderr).toContain("unknown command 'frobnicate'");
  expect(r.stderr).toContain('usage:');
});

test('help prints usage', () => {
  const r = run('help');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('selfcheck');
});

test('probe on a machine without Xen says so and exits 1', () => {
  if (require('fs').existsSync('/dev/xen/privcmd')) return; // a Xen host: the real-host harness covers probe
  const r = run('probe');
  expect(r.status).toBe(1);
  expect(r.stdout).toContain('this is not a Xen dom0');
  const j = run('probe', '--json');
  expect(j.status).toBe(1);
  expect(JSON.parse(j.stdout)).toMatchObject({ device: '/dev/xen/privcmd', available: false });
});

test('launch: missing --domid or command exits 2; a step that cannot be done exits 1 and runs nothing', () => {
  expect(run('launch', '--domid', '5').status).toBe(2);
  expect(run('launch', '--', 'true').status).toBe(2);
  expect(run('launch', '--domid', '5', '--bogus', 'x', '--', 'true').status).toBe(2);
  const marker = path.join(require('os').tmpdir(), `privcmd-launch-ran-${process.pid}`);
  const r = run('launch', '--domid', '5', '--base-uid', '20000', '--device', '/nonexistent/privcmd', '--', 'touch', marker);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/refusing to run the device model unprotected|does not exist/);
  expect(require('fs').existsSync(marker)).toBe(false);
});

test('launch --kill-stale is a flag without a value: the options after it are still read', () => {
  const r = run('launch', '--domid', '5', '--kill-stale', '--base-uid', '20000', '--device', '/nonexistent/privcmd', '--', 'true');
  expect(r.stderr).not.toContain('unknown option');
  expect(r.status).toBe(1);
});

test('relabel: missing --domid or --label, or an unknown option, exits 2; no privcmd exits 1 saying why', () => {
  expect(run('relabel', '--domid', '5').status).toBe(2);
  expect(run('relabel', '--label', 'system_u:system_r:vm_t').status).toBe(2);
  expect(run('relabel', '--domid', '5', '--label', 'x', '--bogus', 'y').status).toBe(2);
  const r = run('relabel', '--domid', '5', '--label', 'system_u:system_r:vm_t', '--device', '/nonexistent/privcmd');
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('ENOENT');
  const n = run('relabel', '--domid', '5', '--label', 'system_u:system_r:vm_t', '--device', '/dev/null');
  expect(n.status).toBe(1);
  expect(n.stderr).toContain('ENOTTY');
});
