import { useEffect, useState } from 'preact/hooks';

/** The page's place, in the URL's hash: "#/versions/ds:v1?path=a/b". No server route per page. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function current(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', q = ''] = hash.split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const on = (): void => setRoute(current());
    addEventListener('hashchange', on);
    on(); // a hash that changed before this effect ran (right after the first render) is not missed
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** The href of a page: href('versions', ref, { path }) → "#/versions/<ref>?path=…". */
export function href(...args: (string | Record<string, string | undefined>)[]): string {
  const query = typeof args.at(-1) === 'object' ? (args.pop() as Record<string, string | undefined>) : {};
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
  const path = (args as string[]).map(encodeURIComponent).join('/');
  return `#/${path}${q.toString() ? `?${q}` : ''}`;
}
