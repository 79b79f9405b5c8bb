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
   * `strata ARGS --json` with STRATA_HOME=home (and STRATA_CACHE_DIR=cache when given); resolves to
   * { json, seconds, rssKiB? }. A failure rejects with the exact command line and Strata's error.
   */
  async strata(home, cache, args, opts = {}) {
    const env = { ...process.env, STRATA_HOME: home };
    const shown = { STRATA_HOME: home };
    if (cache) {
      mkdirSync(cache, { recursive: true });
      env.STRATA_CACHE_DIR = shown.STRATA_CACHE_DIR = cache;
    }
    const argv = [...args, '--json'];
    const r = await run(process.execPath, [this.strataBin, ...argv], {
      env,
      settle: true,
      ...opts,
      show: { argv: ['node', 'bin/run.cjs', ...argv], env: shown, secrets: this.secrets },
    });
    let json;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      throw new Error(`strata printed no JSON result: ${r.line}\n${r.stdout}\n${r.stderr}`);
    }
    return { json, seconds: r.seconds, rssKiB: r.rssKiB, line: r.line };
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

  /** `versions create --id DS` → the new version's ref. */
  async newVersion(home, dataset) {
    return (await this.strata(home, null, ['datasets', 'versions', 'create', '--id', dataset])).json.ref;
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
