// #/jobs?status=RUNNING&after=|before=
// Recent jobs, newest first, with live status through the `refreshJob` subscription, and the
// forms that start refreshRepo, refreshOwner and importArchive (admin token).
import { h, replace, empty, table, fmtDate } from '../dom.js';
import { request, subscriptions, humanMessage } from '../graphql.js';
import { JOB_FIELDS, REFRESH_OWNER, REFRESH_REPO, IMPORT_ARCHIVE, runMutation, storedToken, forgetToken } from '../admin.js';
import { loadInto, pager, pageArgs } from './common.js';

const JOBS = `query RefreshJobs($status: JobStatus, $first: Int, $after: String, $last: Int, $before: String) {
  refreshJobs(status: $status, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    nodes { ${JOB_FIELDS} }
  }
}`;
const WATCH = `subscription WatchJob($id: ID!) { refreshJob(id: $id) { ${JOB_FIELDS} } }`;
const STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'];
const PAGE = 20;
const ended = (job) => job.status === 'SUCCEEDED' || job.status === 'FAILED';

export async function render(main, ctx) {
  const q = ctx.query;
  const status = STATUSES.includes(q.get('status')) ? q.get('status') : '';
  ctx.setTitle('Jobs');
  const watched = new Map(); // job id -> unsubscribe
  ctx.onCleanup(() => { for (const stop of watched.values()) stop(); watched.clear(); });

  const tbody = h('tbody');
  const listSection = h('div');
  const filter = h('select', { id: 'job-status' },
    h('option', { value: '' }, 'All'), STATUSES.map((s) => h('option', { value: s, selected: s === status }, s.toLowerCase())));
  filter.addEventListener('change', () => ctx.navigate(ctx.path, { status: filter.value }));

  const onJob = (job) => {
    if (status && job.status !== status) return;
    if (!tbody.isConnected) { loadList(); return; }
    upsert(job, true);
  };
  const tokenRow = h('p', { class: 'muted small' });
  const showToken = () => replace(tokenRow, storedToken()
    ? ['An admin token is kept for this tab. ', h('button', { type: 'button', class: 'link-button', onclick: () => { forgetToken(); showToken(); } }, 'Forget it')]
    : 'No admin token yet: you will be asked for it when you start a job.');
  showToken();

  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Jobs'),
    h('section', { 'aria-labelledby': 'start-title', class: 'start-jobs' },
      h('h2', { id: 'start-title' }, 'Start a job'),
      h('div', { class: 'job-forms' },
        jobForm('owner', 'Refresh an account', [field('owner-login', 'Account')], 'Refresh account', REFRESH_OWNER,
          (v) => ({ owner: v['owner-login'] }), onJob, showToken),
        jobForm('repo', 'Refresh a repository', [field('repo-owner', 'Account'), field('repo-name', 'Repository')], 'Refresh repository', REFRESH_REPO,
          (v) => ({ owner: v['repo-owner'], name: v['repo-name'] }), onJob, showToken),
        jobForm('archive', 'Import GH Archive days', [field('archive-from', 'From', 'date'), field('archive-to', 'To (optional)', 'date', false)], 'Import', IMPORT_ARCHIVE,
          (v) => ({ from: v['archive-from'], to: v['archive-to'] || null }), onJob, showToken)),
      tokenRow),
    h('section', { 'aria-labelledby': 'recent-title' },
      h('div', { class: 'title-row' }, h('h2', { id: 'recent-title' }, 'Recent jobs'),
        h('div', { class: 'field inline' }, h('label', { for: 'job-status' }, 'Status'), filter)),
      listSection),
  );

  function upsert(job, prepend = false) {
    let row = tbody.querySelector(`tr[data-job-id="${CSS.escape(String(job.id))}"]`);
    const fresh = jobRow(job);
    if (row) row.replaceWith(fresh);
    else if (prepend) tbody.prepend(fresh);
    else tbody.append(fresh);
    row = fresh;
    if (!ended(job) && !watched.has(job.id)) watch(job.id);
  }

  function watch(id) {
    const stop = subscriptions.subscribe(WATCH, { id }, {
      next: (data) => { if (ctx.isCurrent()) { upsert(data.refreshJob); markLive(id, !ended(data.refreshJob)); } },
      error: (err) => { watched.delete(id); markLive(id, false, humanMessage(err)); },
      complete: () => { watched.delete(id); markLive(id, false); quietReload(); },
      status: () => markLive(id, false, 'reconnecting…'),
    });
    watched.set(id, stop);
  }

  function markLive(id, live, note) {
    const cell = tbody.querySelector(`tr[data-job-id="${CSS.escape(String(id))}"] .live`);
    if (!cell) return;
    cell.textContent = note || (live ? 'live' : '');
    cell.classList.toggle('on', live);
  }

  // A watched job that ends may have queued or finished others (an account's repositories):
  // read the page again, quietly.
  let reloadTimer = null;
  function quietReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(async () => {
      try {
        const data = await request(JOBS, { status: status || null, ...pageArgs(q, PAGE) }, { signal: ctx.signal });
        if (!ctx.isCurrent() || !tbody.isConnected) return;
        replace(tbody);
        for (const job of data.refreshJobs.nodes) upsert(job);
        const count = listSection.querySelector('[data-testid="jobs-count"]');
        if (count) {
          count.dataset.count = data.refreshJobs.totalCount;
          count.textContent = `${data.refreshJobs.totalCount} jobs.`;
        }
        for (const id of watched.keys()) markLive(id, true);
      } catch { /* the next change tries again */ }
    }, 300);
  }
  ctx.onCleanup(() => clearTimeout(reloadTimer));

  const loadList = () => loadInto(ctx, listSection, async () => {
    const data = await request(JOBS, { status: status || null, ...pageArgs(q, PAGE) }, { signal: ctx.signal });
    const conn = data.refreshJobs;
    if (conn.totalCount === 0) {
      return empty(status ? `No ${status.toLowerCase()} job.` : 'nothing crawled yet: start a refresh',
        h('p', {}, 'Use the forms above (they ask for the admin token).'));
    }
    replace(tbody);
    for (const job of conn.nodes) upsert(job);
    const go = (cursor) => ctx.navigate(ctx.path, { status, ...cursor });
    const t = table({
      caption: 'Recent jobs, newest first',
      hiddenCaption: true,
      testid: 'jobs-table',
      columns: [{ label: 'Job' }, { label: 'Kind' }, { label: 'Target' }, { label: 'Status' }, { label: 'Progress' }, { label: 'Created' }, { label: 'Trigger' }, { label: 'Error' }],
      rows: [],
    });
    t.querySelector('tbody').replaceWith(tbody);
    return [h('p', { class: 'muted', dataset: { testid: 'jobs-count', count: conn.totalCount } }, `${conn.totalCount} job${conn.totalCount === 1 ? '' : 's'}.`), t,
      pager(conn.pageInfo, go, 'Job pages', 'jobs-pager')];
  }, 'Loading jobs…');
  await loadList();
}

function jobRow(job) {
  const target = job.kind === 'ARCHIVE' ? 'GH Archive'
    : job.repo ? h('a', { href: `#/repo/${encodeURIComponent(job.owner)}/${encodeURIComponent(job.repo)}` }, `${job.owner}/${job.repo}`)
      : h('a', { href: `#/account/${encodeURIComponent(job.owner)}` }, job.owner);
  let progress = '—';
  if (job.kind === 'ARCHIVE' && job.hoursTotal != null) progress = `${job.hoursDone ?? 0}/${job.hoursTotal} hours, ${job.eventsImported ?? 0} events`;
  else if (job.kind === 'ACCOUNT' && job.reposTotal != null) progress = `${job.reposDone ?? 0}/${job.reposTotal} repositories`;
  else if (job.requestsMade) progress = `${job.requestsMade} request${job.requestsMade === 1 ? '' : 's'} to GitHub`;
  return h('tr', { dataset: { testid: 'job-row', jobId: job.id, status: job.status, kind: job.kind } },
    h('th', { scope: 'row' }, job.id),
    h('td', {}, job.kind.toLowerCase()),
    h('td', {}, target),
    h('td', {}, h('span', { class: `badge status-${job.status.toLowerCase()}`, dataset: { testid: 'job-status' } }, job.status.toLowerCase()),
      h('span', { class: 'live', 'aria-hidden': 'true' })),
    h('td', {}, progress),
    h('td', {}, fmtDate(job.createdAt)),
    h('td', {}, job.trigger),
    h('td', { class: 'error-cell' }, job.error || ''));
}

function field(id, label, type = 'text', required = true) {
  return { id, label, type, required };
}

function jobForm(key, title, fields, submit, mutation, vars, onJob, after) {
  const status = h('p', { class: 'message', 'aria-live': 'polite', dataset: { testid: `${key}-form-status` } });
  const button = h('button', { type: 'submit', class: 'primary' }, submit);
  const inputs = fields.map((f) => h('input', { id: f.id, name: f.id, type: f.type, required: f.required, autocomplete: 'off', spellcheck: 'false' }));
  const form = h('form', { class: 'job-form', dataset: { testid: `${key}-form` } },
    h('fieldset', {}, h('legend', {}, title),
      fields.map((f, i) => h('div', { class: 'field' }, h('label', { for: f.id }, f.label), inputs[i])),
      h('div', { class: 'field actions' }, button)),
    status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(inputs.map((i) => [i.id, i.value.trim()]));
    await runMutation(button, mutation, () => vars(values), status, onJob);
    after();
  });
  return form;
}
