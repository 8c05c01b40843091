// Entry: navigation bar, route table, token gate.
import { render } from 'preact';
import { getToken } from './api';
import { Link } from './components/common';
import { match, useLocation, type Route } from './router';
import { AlertPage } from './pages/alert';
import { AlertsPage } from './pages/alerts';
import { DashboardPage } from './pages/dashboard';
import { IncidentPage } from './pages/incident';
import { IncidentsPage } from './pages/incidents';
import { LivePage } from './pages/live';
import { ModelPage } from './pages/model';
import { SearchPage } from './pages/search';
import { TokenPage } from './pages/token';
import { TrendsPage } from './pages/trends';
import './style.css';

const routes: Route[] = [
  { pattern: '/', view: () => <LivePage /> },
  { pattern: '/live', view: () => <LivePage /> },
  { pattern: '/alerts', view: () => <AlertsPage /> },
  { pattern: '/alerts/:id', view: (p) => <AlertPage id={p.id} /> },
  { pattern: '/incidents', view: () => <IncidentsPage /> },
  { pattern: '/incidents/:id', view: (p) => <IncidentPage id={p.id} /> },
  { pattern: '/dashboard', view: () => <DashboardPage /> },
  { pattern: '/trends', view: () => <TrendsPage /> },
  { pattern: '/model', view: () => <ModelPage /> },
  { pattern: '/search', view: () => <SearchPage /> },
];

const NAV: [string, string][] = [
  ['/live', 'Live'], ['/incidents', 'Incidents'], ['/alerts', 'Alerts'], ['/dashboard', 'Dashboard'],
  ['/trends', 'Trends'], ['/model', 'Model'], ['/search', 'Search'],
];

function App() {
  const { path, query } = useLocation();
  const here = path + location.search;
  // No token yet: ask for one first, then come back here.
  const m = path === '/token' || !getToken() ? null : match(routes, path);
  return (
    <>
      <nav>
        <b class="brand">InfraSpectre</b>
        {NAV.map(([href, label]) => (
          <Link href={href} class={path.startsWith(href) ? 'active' : ''}>{label}</Link>
        ))}
        <span class="spacer" />
        <Link href="/token">Token</Link>
      </nav>
      <main key={path}>
        {m ? m.route.view(m.params)
           : path === '/token' || !getToken() ? <TokenPage next={path === '/token' ? query.get('next') || '/' : here} />
           : <p>No page at {path}. <Link href="/live">Live</Link></p>}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
