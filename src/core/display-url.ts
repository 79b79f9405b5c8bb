/** The URL as messages and run records show it: no user or password, and a query (signatures, tokens) elided. */
export function displayUrl(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  shown.hash = '';
  const query = shown.search !== '';
  shown.search = '';
  return query ? `${shown.href}?…` : shown.href;
}

/** A git remote as runs record it: a URL as displayUrl shows it; a path or scp-like user@host:path as is. */
export function shownGitUrl(remote: string): string {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(remote)) return remote;
  try {
    return displayUrl(new URL(remote));
  } catch {
    return remote;
  }
}
