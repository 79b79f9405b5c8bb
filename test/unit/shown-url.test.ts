import { describe, expect, it } from 'vitest';
import { displayUrl, shownGitUrl } from '../../src/core/display-url.js';

describe('URLs as runs record them', () => {
  it('an http URL loses its user, password, fragment and query', () => {
    expect(displayUrl(new URL('https://me:s3cret@data.example.org/a/b.tgz?X-Amz-Signature=abc#x'))).toBe(
      'https://data.example.org/a/b.tgz?…',
    );
  });

  it('a git remote loses a token in its URL; paths and scp-like remotes stay as written', () => {
    expect(shownGitUrl('https://oauth2:ghp_token@github.com/org/repo.git')).toBe('https://github.com/org/repo.git');
    expect(shownGitUrl('https://ghp_token@github.com/org/repo.git')).toBe('https://github.com/org/repo.git');
    expect(shownGitUrl('ssh://git@host:2222/repo.git')).toBe('ssh://host:2222/repo.git');
    expect(shownGitUrl('git@github.com:org/repo.git')).toBe('git@github.com:org/repo.git');
    expect(shownGitUrl('/srv/git/repo.git')).toBe('/srv/git/repo.git');
    expect(shownGitUrl('file:///srv/git/repo.git')).toBe('file:///srv/git/repo.git');
  });
});
