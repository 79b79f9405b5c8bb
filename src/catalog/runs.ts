import type { Db } from './db.js';
import type { Run, RunInput, RunOutput, RunStatus } from '../core/model.js';

interface RunRow {
  id: string;
  job: string;
  spec_file: string | null;
  command: string;
  status: RunStatus;
  exit_code: number | null;
  isolation: string;
  host: string;
  runner_pid: number;
  log_path: string;
  started_at: string;
  ended_at: string | null;
  executor: 'local' | 'slurm';
  slurm_job_id: string | null;
  storage_provider_id: string | null;
  needs: string;
}

const toRun = (r: RunRow): Run => ({
  id: r.id,
  job: r.job,
  specFile: r.spec_file,
  command: r.command,
  status: r.status,
  exitCode: r.exit_code,
  isolation: r.isolation,
  host: r.host,
  runnerPid: r.runner_pid,
  logPath: r.log_path,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  executor: r.executor,
  slurmJobId: r.slurm_job_id,
  storageProviderId: r.storage_provider_id,
  needs: JSON.parse(r.needs) as string[],
});

/** Job runs, their resolved inputs and the versions they made (provenance). */
export class RunQueries {
  constructor(private readonly db: Db) {}

  insert(run: Run): void {
    this.db
      .prepare(
        `INSERT INTO runs (id, job, spec_file, command, status, exit_code, isolation, host, runner_pid, log_path,
           started_at, ended_at, executor, slurm_job_id, storage_provider_id, needs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run.id,
        run.job,
        run.specFile,
        run.command,
        run.status,
        run.exitCode,
        run.isolation,
        run.host,
        run.runnerPid,
        run.logPath,
        run.startedAt,
        run.endedAt,
        run.executor,
        run.slurmJobId,
        run.storageProviderId,
        JSON.stringify(run.needs),
      );
  }

  /** A Slurm run's state as its record and the scheduler say (an end time once it is final). */
  update(
    id: string,
    change: { status: RunStatus; exitCode: number | null; host?: string; endedAt: string | null },
  ): void {
    this.db
      .prepare('UPDATE runs SET status = ?, exit_code = ?, host = coalesce(?, host), ended_at = ? WHERE id = ?')
      .run(change.status, change.exitCode, change.host ?? null, change.endedAt, id);
  }

  setSlurmJobId(id: string, slurmJobId: string): void {
    this.db.prepare('UPDATE runs SET slurm_job_id = ? WHERE id = ?').run(slurmJobId, id);
  }

  finish(id: string, status: RunStatus, exitCode: number | null): void {
    this.db
      .prepare('UPDATE runs SET status = ?, exit_code = ?, ended_at = ? WHERE id = ?')
      .run(status, exitCode, new Date().toISOString(), id);
  }

  markLost(id: string): void {
    this.db.prepare("UPDATE runs SET status = 'lost' WHERE id = ? AND status = 'running'").run(id);
  }

  list(): Run[] {
    return (this.db.prepare('SELECT * FROM runs ORDER BY started_at DESC, id').all() as RunRow[]).map(toRun);
  }

  get(id: string): Run | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  addInput(runId: string, input: RunInput): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO run_inputs (run_id, name, dataset_id, version_id, url, git_commit) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(runId, input.name, input.datasetId, input.versionId, input.url, input.commit);
  }

  addOutput(runId: string, output: RunOutput): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO run_outputs (run_id, name, dataset_id, version_id, committed) VALUES (?, ?, ?, ?, ?)',
      )
      .run(runId, output.name, output.datasetId, output.versionId, output.committed ? 1 : 0);
  }

  inputs(runId: string): RunInput[] {
    return (
      this.db
        .prepare('SELECT name, dataset_id, version_id, url, git_commit FROM run_inputs WHERE run_id = ? ORDER BY name')
        .all(runId) as {
        name: string;
        dataset_id: string | null;
        version_id: string | null;
        url: string | null;
        git_commit: string | null;
      }[]
    ).map((r) => ({
      name: r.name,
      datasetId: r.dataset_id,
      versionId: r.version_id,
      url: r.url,
      commit: r.git_commit,
    }));
  }

  outputs(runId: string): RunOutput[] {
    return (
      this.db
        .prepare('SELECT name, dataset_id, version_id, committed FROM run_outputs WHERE run_id = ? ORDER BY name')
        .all(runId) as {
        name: string;
        dataset_id: string;
        version_id: string;
        committed: number;
      }[]
    ).map((r) => ({ name: r.name, datasetId: r.dataset_id, versionId: r.version_id, committed: r.committed === 1 }));
  }

  /** The run that made a version, if a job made it. */
  producerOf(datasetId: string, versionId: string): string | undefined {
    const row = this.db
      .prepare('SELECT run_id FROM run_outputs WHERE dataset_id = ? AND version_id = ?')
      .get(datasetId, versionId) as { run_id: string } | undefined;
    return row?.run_id;
  }
}
