import { accessSync, constants, mkdirSync } from 'node:fs';

/**
 * namespace: the command runs in its own mount and PID namespaces, where /inputs/<name> (read-only)
 * and /outputs/<name> are bind mounts, the team cache and STRATA_HOME are hidden, and it cannot
 * remount anything (CAP_SYS_ADMIN dropped), so not even root can change an input.
 * none: the paths are directories of the run, given as STRATA_INPUT_<NAME>/STRATA_OUTPUT_<NAME>.
 */
export type Isolation = 'namespace' | 'none';

export interface Mount {
  name: string;
  hostPath: string;
}

export interface NamespacePlan {
  inputs: Mount[];
  outputs: Mount[];
  /** directories the job must not see (cache, STRATA_HOME) */
  hide: string[];
}

/** Namespaces need root here (unprivileged user namespaces cannot create /inputs on the host). */
export function chooseIsolation(requested: 'auto' | 'none'): { isolation: Isolation; why: string } {
  if (requested === 'none') return { isolation: 'none', why: 'asked for --isolation none' };
  if (process.getuid?.() !== 0) return { isolation: 'none', why: 'not running as root' };
  for (const tool of ['/usr/bin/unshare', '/usr/bin/setpriv']) {
    try {
      accessSync(tool, constants.X_OK);
    } catch {
      return { isolation: 'none', why: `${tool} is missing (util-linux)` };
    }
  }
  return { isolation: 'namespace', why: 'running as root' };
}

const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * The argv that runs `command` inside fresh namespaces with the mounts in place. The mounts are
 * private to the namespace; on the host /inputs and /outputs stay empty mountpoints.
 */
export function namespaceArgv(plan: NamespacePlan, command: string): string[] {
  mkdirSync('/inputs', { recursive: true });
  mkdirSync('/outputs', { recursive: true });
  const lines = [
    'set -e',
    'mount -t tmpfs -o mode=755,size=1m strata-inputs /inputs',
    'mount -t tmpfs -o mode=755,size=1m strata-outputs /outputs',
  ];
  for (const m of plan.inputs) {
    lines.push(
      `mkdir -p /inputs/${m.name}`,
      `mount --bind ${quote(m.hostPath)} /inputs/${m.name}`,
      `mount -o remount,bind,ro /inputs/${m.name}`,
    );
  }
  for (const m of plan.outputs) {
    lines.push(`mkdir -p /outputs/${m.name}`, `mount --bind ${quote(m.hostPath)} /outputs/${m.name}`);
  }
  lines.push('mount -o remount,ro /inputs');
  for (const dir of plan.hide)
    lines.push(`if [ -d ${quote(dir)} ]; then mount -t tmpfs -o ro,size=4k strata-hidden ${quote(dir)}; fi`);
  lines.push(`exec /usr/bin/setpriv --bounding-set -sys_admin --inh-caps -sys_admin -- /bin/sh -c ${quote(command)}`);
  return [
    '/usr/bin/unshare',
    '--mount',
    '--propagation',
    'private',
    '--pid',
    '--fork',
    '--kill-child=SIGKILL',
    '--mount-proc',
    '--',
    '/bin/sh',
    '-c',
    lines.join('\n'),
  ];
}
