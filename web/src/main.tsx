import { render } from 'preact';
import { useRoute, href } from './route.js';
import { DatasetsPage } from './pages/datasets.js';
import { DatasetPage } from './pages/dataset.js';
import { VersionPage } from './pages/version.js';
import { DiffPage } from './pages/diff.js';
import { LineagePage } from './pages/lineage.js';
import { RunPage, RunsPage } from './pages/runs.js';

function App() {
  const { parts, query } = useRoute();
  const [page, id] = parts;
  let body;
  if (page === 'datasets' && id) body = <DatasetPage id={id} />;
  else if (page === 'versions' && id)
    body = <VersionPage refId={id} path={query.get('path') ?? ''} file={query.get('file')} />;
  else if (page === 'diff') body = <DiffPage from={query.get('from') ?? ''} to={query.get('to') ?? ''} />;
  else if (page === 'lineage' && id) body = <LineagePage refId={id} />;
  else if (page === 'runs' && id) body = <RunPage id={id} />;
  else if (page === 'runs') body = <RunsPage />;
  else body = <DatasetsPage />;
  return (
    <>
      <header class="top">
        <a class="brand" href={href()}>
          Strata
        </a>
        <nav>
          <a href={href()}>Datasets</a>
          <a href={href('runs')}>Runs</a>
        </nav>
      </header>
      <main>{body}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
