// The tools side by side (Strata, rclone, aws-cli, restic), plus bucket making and removal.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.js';

export const PEER_FLAGS = ['--transfers', '32', '--checkers', '32'];

export class Tools {
  /** server: the JSON line of `s3-server.sh start`; dir: a scratch directory of this run; strataBin: bin/run.cjs. */
  constructor(server, dir, strataBin) {
    this.server = server;
    this.strataBin = strataBin;
    this.secrets = [server.secretKey];
    this.rcloneConf = join(dir, 'rclone.conf');
    writeFileSync(
      this.rcloneConf,
      [
        '[bench]',
        'type = s3',
        'provider = Ceph',
        `endpoint = ${server.endpoint}`,
        `access_key_id = ${server.accessKey}`,
        `secret_access_key = ${server.secretKey}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // rclone 1.60 fails on plain http when AWS_CA_BUNDLE is set (as this machine does): run it without.
    this.rcloneEnv = { ...process.env };
    delete this.rcloneEnv.AWS_CA_BUNDLE;
    this.awsEnvShown = {
      AWS_DEFAULT_REGION: server.region,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
    };
    this.awsEnv = {
      ...process.env,
      ...this.awsEnvShown,
      AWS_ACCESS_KEY_ID: server.accessKey,
      AWS_SECRET_ACCESS_KEY: server.secretKey,
    };
  }

  /**
   * `strata ARGS --json` with STRATA_HOME=home (and STRATA_CACHE_DIR=cache when given; opts.env
   * added to its environment); resolves to { json, seconds, rssKiB? }. A failure rejects with the
   * exact command line and Strata's error.
   */
  async strata(home, cache, args, opts = {}) {
    const r = await this.strataRun(home, cache, [...args, '--json'], opts);
    let json;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      throw new Error(`strata printed no JSON result: ${r.line}\n${r.stdout}\n${r.stderr}`);
    }
    return { json, seconds: r.seconds, rssKiB: r.rssKiB, line: r.line };
  }

  /** `strata ARGS` printing text, its lines counted as a `| wc -l` would: run()'s result with `lines`. */
  strataLines(home, args, opts = {}) {
    return this.strataRun(home, null, args, { ...opts, lines: true });
  }

  strataRun(home, cache, argv, { env: extra = {}, ...opts }) {
    const shown = { STRATA_HOME: home, ...extra };
    if (cache) {
      mkdirSync(cache, { recursive: true });
      shown.STRATA_CACHE_DIR = cache;
    }
    return run(process.execPath, [this.strataBin, ...argv], {
      env: { ...process.env, ...shown },
      settle: true,
      ...opts,
      show: { argv: ['node', 'bin/run.cjs', ...argv], env: shown, secrets: this.secrets },
    });
  }

  /** A fresh provider on a fresh bucket in a fresh STRATA_HOME, and one dataset on it. */
  async strataSetup(home, bucket, dataset) {
    mkdirSync(home, { recursive: true });
    const s = this.server;
    await this.strata(home, null, [
      'storageProviders', 'create', 's3', '--name', 'bench', '--bucket', bucket, '--endpoint', s.endpoint,
      '--accessKey', s.accessKey, '--secretAccessKey', s.secretKey,
    ]); // prettier-ignore
    await this.strata(home, null, ['datasets', 'create', '--name', dataset, '--storageProviderId', 'bench']);
  }

  /** `versions create --id DS [--from REF]` → the new version's ref. */
  async newVersion(home, dataset, from) {
    const args = ['datasets', 'versions', 'create', '--id', dataset, ...(from ? ['--from', from] : [])];
    return (await this.strata(home, null, args)).json.ref;
  }

  rclone(args, opts = {}) {
    const argv = ['rclone', '--config', this.rcloneConf, ...args];
    return run('rclone', argv.slice(1), {
      env: this.rcloneEnv,
      stdout: 'ignore',
      settle: true,
      ...opts,
      show: { argv: ['env', '-u', 'AWS_CA_BUNDLE', ...argv] },
    });
  }

  aws(args, opts = {}) {
    const argv = [...args, '--endpoint-url', this.server.endpoint];
    return run('aws', argv, {
      env: this.awsEnv,
      stdout: 'ignore',
      settle: true,
      ...opts,
      show: { argv: ['aws', ...argv], env: this.awsEnvShown },
    });
  }

  /**
   * `restic ARGS` on the repository s3:ENDPOINT/BUCKET (password and keys in its environment), with
   * its own cache directory: restic's is per repository, so a fresh one is a cold restore.
   */
  restic(bucket, cache, args, opts = {}) {
    const repo = `s3:${this.server.endpoint}/${bucket}`;
    const argv = ['--repo', repo, '--cache-dir', cache, '--quiet', ...args];
    return run('restic', argv, {
      env: { ...this.awsEnv, RESTIC_PASSWORD: 'bench' },
      stdout: 'ignore',
      settle: true,
      ...opts,
      show: { argv: ['restic', ...argv], env: { ...this.awsEnvShown, RESTIC_PASSWORD: 'bench' } },
    });
  }

  /** Every object in the bucket, as [{ key, size }] (aws-cli follows the pages). */
  async listBucket(name) {
    const r = await this.aws(['s3api', 'list-objects-v2', '--bucket', name, '--output', 'json'], {
      stdout: 'pipe',
      settle: false,
    });
    const listed = r.stdout.trim() ? (JSON.parse(r.stdout).Contents ?? []) : [];
    return listed.map((o) => ({ key: o.Key, size: o.Size }));
  }

  mkBucket(name) {
    return this.aws(['s3api', 'create-bucket', '--bucket', name], { settle: false });
  }

  /** Remove a bucket and its objects at once (--bypass-gc frees the memstore now, not in 2 h). */
  rmBucket(name) {
    const conf = join(this.server.baseDir, 'ceph.conf');
    return run('radosgw-admin', ['-c', conf, 'bucket', 'rm', `--bucket=${name}`, '--purge-objects', '--bypass-gc'], {
      stdout: 'ignore',
      check: false,
    });
  }
}
