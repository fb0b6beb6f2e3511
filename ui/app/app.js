// Bootstrap and router. The URL hash is the state of the page, so every view can be shared:
//   #/                                   accounts
//   #/account/<owner>?from=YYYY-MM&to=YYYY-MM&bots=1&after=<cursor>|before=<cursor>
//   #/repo/<owner>/<name>?from=YYYY-MM&to=YYYY-MM&bots=1&after=<cursor>|before=<cursor>
//   #/archive?from=YYYY-MM-DD&to=YYYY-MM-DD&bots=1
//   #/jobs?status=RUNNING&after=<cursor>|before=<cursor>
import * as accounts from './views/accounts.js';
import * as account from './views/account.js';
import * as repo from './views/repo.js';
import * as archive from './views/archive.js';
import * as jobs from './views/jobs.js';
import { h, replace } from './dom.js';

const ROUTES = [
  { pattern: /^\/?$/, view: accounts, nav: 'accounts' },
  { pattern: /^\/account\/([^/]+)$/, view: account, nav: 'accounts' },
  { pattern: /^\/repo\/([^/]+)\/([^/]+)$/, view: repo, nav: 'accounts' },
  { pattern: /^\/archive$/, view: archive, nav: 'archive' },
  { pattern: /^\/jobs$/, view: jobs, nav: 'jobs' },
];

/** "#/account/acme" plus { from: '2024-01', bots: '' } → "#/account/acme?from=2024-01" */
export function hashFor(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '' && v !== false) query.set(k, String(v));
  }
  const qs = query.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export function navigate(path, params) {
  const next = hashFor(path, params);
  if (next === location.hash) route();
  else location.hash = next;
}

const main = document.getElementById('main');
const announcer = document.getElementById('announcer');
let current = null; // { controller, cleanup, path }

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path, query: new URLSearchParams(qs) };
}

async function route() {
  const { path, query } = parseHash();
  const samePath = current && current.path === path;
  const focusedId = samePath && document.activeElement ? document.activeElement.id : null;
  if (current) {
    current.controller.abort();
    try { current.cleanup?.(); } catch { /* a view's cleanup must not stop routing */ }
  }
  const controller = new AbortController();
  const state = { controller, cleanup: null, path };
  current = state;

  let match = null;
  let entry = null;
  for (const r of ROUTES) {
    match = path.match(r.pattern);
    if (match) { entry = r; break; }
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (entry && a.dataset.nav === entry.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  replace(main);
  if (!entry) {
    main.append(h('h1', { tabindex: '-1' }, 'Page not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the accounts')));
    document.title = 'Not found · git-collector';
    main.querySelector('h1').focus();
    return;
  }
  const ctx = {
    params: match.slice(1).map(decodeURIComponent),
    query,
    path,
    signal: controller.signal,
    isCurrent: () => current === state && !controller.signal.aborted,
    onCleanup: (fn) => { const prev = state.cleanup; state.cleanup = () => { prev?.(); fn(); }; },
    setTitle: (title) => {
      document.title = `${title} · git-collector`;
      if (!samePath) announcer.textContent = title;
    },
    navigate,
    hashFor,
  };
  const done = entry.view.render(main, ctx);
  // Views build their heading and forms before their first await: restore focus now.
  const again = focusedId && document.getElementById(focusedId);
  if (again) again.focus();
  else if (!samePath) main.querySelector('h1')?.focus();
  try {
    await done;
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    console.warn('view failed', err);
  }
}

document.querySelector('[data-skip]').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
route();
