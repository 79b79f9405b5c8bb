import { UsageError } from '../core/errors.js';
import type { JobSpec } from './spec.js';

/** Jobs in an order where each comes after everything it needs; a cycle is a spec error. */
export function jobOrder(jobs: Map<string, JobSpec>, file: string): JobSpec[] {
  const order: JobSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (job: JobSpec, path: string[]): void => {
    if (state.get(job.name) === 'done') return;
    if (state.get(job.name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(job.name)), job.name].join(' → ');
      // The line of the need that closes the cycle: that is where it can be broken.
      const from = jobs.get(path.at(-1) ?? job.name);
      const line = from?.needLines?.[job.name] ?? job.line;
      throw new UsageError(`${file}:${line}: jobs form a cycle: ${cycle}`, 'ESPEC');
    }
    state.set(job.name, 'visiting');
    for (const need of job.needs) visit(jobs.get(need)!, [...path, job.name]);
    state.set(job.name, 'done');
    order.push(job);
  };
  for (const job of jobs.values()) visit(job, []);
  return order;
}
