import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { cacheDirFlag } from '../../../ui/cache-flags.js';
import { formatBytes } from '../../../ui/table.js';
import { getFromVersion } from '../../../services/file-reads.js';
import { materializeVersion } from '../../../services/cache.js';
import { LINK_MODES, type LinkMode } from '../../../core/model.js';

type Result = Awaited<ReturnType<typeof getFromVersion>> & Partial<Awaited<ReturnType<typeof materializeVersion>>>;

export default class FilesGet extends StrataCommand<Result> {
  static override hiddenAliases = singularAliases('datasets:files:get');
  static override summary = 'Write the files of a version into a directory, verified, through the team cache';
  static override description =
    "Blobs the team cache lacks are fetched (in parallel, each checked against its sha256) and kept there; then each file is placed in the target, with its mode and mtime. --link auto (the default) reflinks where the filesystem can and copies otherwise, so the files are yours to edit; --link hardlink shares the cache's read-only inode and is only for consumers that never write (editing such a file would change the cache). Into a directory that has files: a file already holding the version's bytes is left as it is, one as an earlier get left it is replaced, and one that differs from both (a local edit) stops the get before anything is written, unless --force; --mirror also removes files the version does not have (by the same rule). On a remote provider the dataset is first synced from the bucket, so DS:latest means the latest there.";
  static override examples = [
    '<%= config.bin %> datasets files get --id cifar10:prod --target-path ./cifar10',
    '<%= config.bin %> datasets files get --id cifar10 --source-path /train --target-path ./data',
    '<%= config.bin %> datasets files get --id cifar10:prod --target-path /scratch/ro --link hardlink',
  ];
  static override flags = {
    id: Flags.string({ description: 'ref: DATASET[:VERSION|:TAG|:latest]', required: true }),
    'target-path': Flags.string({ description: 'directory to write into', required: true }),
    'source-path': Flags.string({
      description: 'only this file or directory of the version (repeatable)',
      multiple: true,
    }),
    link: Flags.option({
      options: LINK_MODES,
      default: 'auto' as LinkMode,
      description: 'how files get from the cache into the target',
    })(),
    'cache-dir': cacheDirFlag,
    cache: Flags.boolean({
      description: 'go through the team cache (--no-cache: straight from storage, nothing kept)',
      default: true,
      allowNo: true,
    }),
    offline: Flags.boolean({ description: 'resolve the ref from this catalog alone, without asking the bucket' }),
    force: Flags.boolean({
      description: 'replace files that differ from the version and from what strata last put there (local edits)',
    }),
    mirror: Flags.boolean({
      description: 'also remove files the version (or the --source-path of it) does not have',
    }),
    concurrency: Flags.integer({
      description: 'downloads in flight (default 64, or concurrency in the config)',
      min: 1,
      max: 512,
    }),
  };

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(FilesGet);
    const input = {
      id: flags.id,
      targetPath: flags['target-path'],
      sourcePaths: flags['source-path'],
      offline: flags.offline,
      force: flags.force,
      mirror: flags.mirror,
      concurrency: flags.concurrency,
      progress: this.progress('get'),
      signal: this.signal,
    };
    if (!flags.cache) return getFromVersion(this.ctx, input);
    return materializeVersion(this.ctx, { ...input, link: flags.link, cacheDir: flags['cache-dir'] });
  }

  protected render(r: Result): string {
    const cache = r.cacheDir ? ` (${r.hits} blob(s) from the cache, ${r.misses} fetched; ${r.link})` : '';
    const kept = r.unchanged > 0 ? `; ${r.unchanged} already there` : '';
    const removed = r.removed > 0 ? `; removed ${r.removed} the version does not have` : '';
    return `Got ${r.files} file(s), ${formatBytes(r.bytes)} from ${r.ref} into ${r.target} in ${r.seconds.toFixed(1)} s${cache}${kept}${removed}`;
  }
}
