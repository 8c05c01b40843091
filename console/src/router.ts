// A small history-API router: spectre-cp serves index.html for every client
// route, so /incidents/12 can be opened, bookmarked and reloaded.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

export function navigate(to: string) {
  // Same URL (e.g. after the token prompt shown in place of a page): re-render only.
  if (to !== location.pathname + location.search) history.pushState(null, '', to);
  listeners.forEach((f) => f());
}

window.addEventListener('popstate', () => listeners.forEach((f) => f()));

export function useLocation(): { path: string; query: URLSearchParams } {
  const [, tick] = useState(0);
  useEffect(() => {
    const f = () => tick((n) => n + 1);
    listeners.add(f);
    return () => { listeners.delete(f); };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

// Route table entry: a pattern with :params, matched whole.
export interface Route { pattern: string; view: (p: Record<string, string>) => preact.JSX.Element }

export function match(routes: Route[], path: string) {
  for (const r of routes) {
    const names: string[] = [];
    const re = new RegExp('^' + r.pattern.replace(/:(\w+)/g, (_, n) => (names.push(n), '([^/]+)')) + '/?$');
    const m = re.exec(path);
    if (m) return { route: r, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}
