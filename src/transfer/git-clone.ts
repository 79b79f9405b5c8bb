import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { removeTree } from '../core/remove-tree.js';
import { join } from 'node:path';
import { EnvironmentError, NotFoundError } from '../core/errors.js';
import { planSources, type SourceFile } from './walk.js';
import { shownGitUrl } from '../core/display-url.js';

/**
 * Git inputs of jobs (docs/jobs.md): a remote's branch, tag or commit cloned and checked out,
 * its files (without .git) handed to the cache like a URL input's.
 */

/** Remotes only over these: never `ext::` or `fd::`, whatever the user's git config allows. */
const GIT_ENV = { GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
const FULL_COMMIT = /^[0-9a-f]{40}$/;

function git(args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      'git',
      args,
      { env: { ...process.env, ...GIT_ENV }, signal, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return done(stdout);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return fail(new EnvironmentError('git inputs need git on this machine (apt-get install git)', 'ENOGIT'));
        }
        if (signal?.aborted) return fail(signal.reason as Error);
        const why = stderr.split('\n').find((l) => l.startsWith('fatal:')) ?? stderr.trim().split('\n').pop() ?? '';
        fail(Object.assign(new Error(why.replace(/^fatal: /, '')), { gitFailed: true }));
      },
    );
  });
}

/**
 * The commit a ref names on the remote, asked with ls-remote (no clone): a tag (peeled), then a
 * branch, as git itself prefers; with no ref, the default branch. undefined for what only a clone
 * can tell (a commit id, or a name the remote does not list).
 */
export async function remoteCommit(
  url: string,
  ref: string | undefined,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (ref !== undefined && FULL_COMMIT.test(ref)) return ref;
  const listed = new Map<string, string>();
  const out = await git(['ls-remote', '--', url], signal).catch((error: Error) => {
    throw unreachable(url, error);
  });
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name) listed.set(name, sha);
  }
  if (ref === undefined) return listed.get('HEAD');
  return listed.get(`refs/tags/${ref}^{}`) ?? listed.get(`refs/tags/${ref}`) ?? listed.get(`refs/heads/${ref}`);
}

export interface CheckedOut {
  commit: string;
  files: SourceFile[];
  cleanup(): Promise<void>;
}

/** Clones the remote into a directory of spoolDir and checks out ref there (detached). */
export async function checkOut(
  url: string,
  ref: string | undefined,
  spoolDir: string,
  options: { warn: (message: string) => void; signal?: AbortSignal },
): Promise<CheckedOut> {
  const { signal } = options;
  const dir = await mkdtemp(join(spoolDir, 'git-'));
  const cleanup = (): Promise<void> => removeTree(dir);
  try {
    await git(['clone', '--quiet', '--no-checkout', '--', url, dir], signal).catch((error: Error) => {
      throw unreachable(url, error);
    });
    const wanted = ref ?? 'HEAD';
    const commit = (
      await git(['-C', dir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${wanted}^{commit}`], signal)
        .catch(() =>
          git(['-C', dir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `origin/${wanted}^{commit}`], signal),
        )
        .catch(() => {
          throw new NotFoundError(`no branch, tag or commit "${wanted}" in ${shownGitUrl(url)}`, 'ENOREF');
        })
    ).trim();
    await git(['-C', dir, '-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', commit], signal);
    await removeTree(join(dir, '.git'));
    const files = [...planSources([`${dir}/`], '', { warn: options.warn }).files];
    return { commit, files, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function unreachable(url: string, error: Error): Error {
  if (!(error as { gitFailed?: boolean }).gitFailed) return error;
  return new NotFoundError(`cannot read git remote ${shownGitUrl(url)}: ${error.message}`, 'ENOSOURCE');
}
