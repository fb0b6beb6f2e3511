// #/account/<owner>?from=YYYY-MM&to=YYYY-MM&bots=1&after=|before=
// People new to the account per month (each counted once), the per-repository breakdown, and
// the account's repositories, paged as a Relay client does.
import { h, replace, empty, table, fmtDate, fmtNumber, monthOf } from '../dom.js';
import { request, fetchAll } from '../graphql.js';
import { monthsBetween } from '../chart.js';
import { mutationButton, REFRESH_OWNER } from '../admin.js';
import { loadInto, rangeForm, pager, pageArgs, chartWithTable } from './common.js';

const ACCOUNT_MONTHS = `query AccountMonths($owner: String!, $from: Date, $to: Date, $bots: Boolean, $first: Int, $after: String) {
  accountMonthlyFirstContributors(owner: $owner, from: $from, to: $to, includeBots: $bots, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { month newContributors }
  }
}`;

const REPO_MONTHS = `query RepoMonths($owner: String!, $from: Date, $to: Date, $bots: Boolean, $first: Int, $after: String) {
  monthlyFirstContributors(owner: $owner, from: $from, to: $to, includeBots: $bots, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { repoName month newContributors }
  }
}`;

const REPOSITORIES = `query Repositories($owner: String!, $bots: Boolean, $first: Int, $after: String, $last: Int, $before: String) {
  repositories(owner: $owner, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    nodes { name fullName isFork isArchived isGone lastRefreshedAt lastRefreshOutcome lastRefreshError contributorCount(includeBots: $bots) }
  }
}`;

const TOP_SERIES = 5;
const PAGE = 10;

export async function render(main, ctx) {
  const [owner] = ctx.params;
  const q = ctx.query;
  const from = q.get('from') || '';
  const to = q.get('to') || '';
  const bots = q.get('bots') === '1';
  const vars = { owner, from: from ? `${from}-01` : null, to: to ? `${to}-01` : null, bots };
  ctx.setTitle(`Account ${owner}`);

  const status = h('p', { class: 'message', 'aria-live': 'polite' });
  const chartSection = h('div');
  const breakdownSection = h('div');
  const reposSection = h('div');
  replace(
    main,
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/' }, 'Accounts'), ' / ', owner),
    h('div', { class: 'title-row' },
      h('h1', { tabindex: '-1' }, owner),
      mutationButton('Refresh this account', REFRESH_OWNER, () => ({ owner }), status)),
    status,
    rangeForm(ctx, { kind: 'month', from, to, bots }),
    h('section', { 'aria-labelledby': 'monthly-title' },
      h('h2', { id: 'monthly-title' }, 'First-time contributors per month'),
      h('p', { class: 'muted' }, 'People new to the whole account (each counted once), with the five busiest repositories.'),
      chartSection),
    h('section', { 'aria-labelledby': 'breakdown-title' }, h('h2', { id: 'breakdown-title' }, 'Per repository'), breakdownSection),
    h('section', { 'aria-labelledby': 'repos-title' }, h('h2', { id: 'repos-title' }, 'Repositories'), reposSection),
  );

  // Read once for both sections; read again when a section's "Try again" follows a failure.
  let pending = null;
  const months = () => {
    pending ||= Promise.all([
      fetchAll(ACCOUNT_MONTHS, vars, (d) => d.accountMonthlyFirstContributors, { signal: ctx.signal }),
      fetchAll(REPO_MONTHS, vars, (d) => d.monthlyFirstContributors, { signal: ctx.signal }),
    ]).then(([account, perRepo]) => ({ account: account.nodes, perRepo: perRepo.nodes, truncated: account.truncated || perRepo.truncated }),
      (err) => { pending = null; throw err; });
    return pending;
  };

  loadInto(ctx, chartSection, async () => {
    const { account, perRepo, truncated } = await months();
    if (account.length === 0) {
      return empty(from || to
        ? 'No first-time contributors in this range.'
        : 'nothing crawled yet: start a refresh');
    }
    const first = from ? `${from}-01` : account[0].month;
    const last = to ? `${to}-01` : account[account.length - 1].month;
    const axis = monthsBetween(first, last);
    const byMonth = new Map(account.map((n) => [n.month, n.newContributors]));
    const totals = new Map();
    for (const n of perRepo) totals.set(n.repoName, (totals.get(n.repoName) || 0) + n.newContributors);
    const top = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP_SERIES);
    const series = [{ label: `new to ${owner}`, values: axis.map((m) => byMonth.get(m) || 0), bars: true }];
    for (const [repo] of top) {
      const counts = new Map(perRepo.filter((n) => n.repoName === repo).map((n) => [n.month, n.newContributors]));
      series.push({ label: repo, values: axis.map((m) => counts.get(m) || 0) });
    }
    const sum = account.reduce((s, n) => s + n.newContributors, 0);
    return [
      h('p', { class: 'summary' }, h('strong', { dataset: { testid: 'account-new-total', count: sum } }, fmtNumber(sum)),
        ` people new to ${owner}${from || to ? ' in this range' : ''}, arriving over ${account.length} month${account.length === 1 ? '' : 's'}`),
      truncated ? h('p', { class: 'message' }, 'Only the first 2,000 rows are shown; narrow the range.') : null,
      chartWithTable(ctx, {
        chart: { x: axis, series, unit: 'month', label: `First-time contributors to ${owner} per month` },
        table: table({
          caption: `People new to ${owner} per month (months with none are left out)`,
          testid: 'monthly-table',
          columns: [{ label: 'Month' }, { label: 'New contributors', num: true }],
          // The chart's own numbers (byMonth feeds its bars), so that a test reads what is drawn.
          rows: account.map((n) => h('tr', { dataset: { month: monthOf(n.month), count: byMonth.get(n.month) } },
            h('th', { scope: 'row' }, monthOf(n.month)), h('td', { class: 'num' }, byMonth.get(n.month)))),
        }),
      }),
    ];
  }, 'Loading months…');

  loadInto(ctx, breakdownSection, async () => {
    const { perRepo } = await months();
    if (perRepo.length === 0) return empty(from || to ? 'No first-time contributors in this range.' : 'nothing crawled yet: start a refresh');
    const totals = new Map();
    for (const n of perRepo) {
      const t = totals.get(n.repoName) || { sum: 0, best: null };
      t.sum += n.newContributors;
      if (!t.best || n.newContributors > t.best.newContributors) t.best = n;
      totals.set(n.repoName, t);
    }
    const rows = [...totals.entries()].sort((a, b) => b[1].sum - a[1].sum || a[0].localeCompare(b[0]));
    const repoHref = (name) => `#/repo/${encodeURIComponent(owner)}/${encodeURIComponent(name)}${from || to || bots ? ctx.hashFor('', { from, to, bots: bots ? '1' : '' }).slice(1) : ''}`;
    return [
      table({
        caption: 'First-time contributors per repository in the range (a person new to two repositories counts in both)',
        testid: 'repo-breakdown-table',
        columns: [{ label: 'Repository' }, { label: 'New contributors', num: true }, { label: 'Busiest month' }],
        rows: rows.map(([name, t]) => h('tr', { dataset: { repo: name, count: t.sum } },
          h('th', { scope: 'row' }, h('a', { href: repoHref(name) }, name)),
          h('td', { class: 'num' }, t.sum),
          h('td', {}, `${monthOf(t.best.month)} (${t.best.newContributors})`))),
      }),
      h('div', { class: 'visually-hidden' }, table({
        caption: 'First-time contributors per repository and month',
        testid: 'monthly-breakdown-table',
        columns: [{ label: 'Month' }, { label: 'Repository' }, { label: 'New contributors', num: true }],
        rows: perRepo.map((n) => h('tr', { dataset: { month: monthOf(n.month), repo: n.repoName, count: n.newContributors } },
          h('td', {}, monthOf(n.month)), h('td', {}, n.repoName), h('td', { class: 'num' }, n.newContributors))),
      })),
    ];
  }, 'Loading the breakdown…');

  await loadInto(ctx, reposSection, async () => {
    const data = await request(REPOSITORIES, { owner, bots, ...pageArgs(q, PAGE) }, { signal: ctx.signal });
    const conn = data.repositories;
    if (conn.totalCount === 0) {
      return empty('nothing crawled yet: start a refresh', h('p', {}, 'Use “Refresh this account” above.'));
    }
    const go = (cursor) => ctx.navigate(ctx.path, { from, to, bots: bots ? '1' : '', ...cursor });
    return [
      h('p', { class: 'muted', dataset: { testid: 'repo-count', count: conn.totalCount } },
        `${conn.totalCount} repositor${conn.totalCount === 1 ? 'y' : 'ies'}; ${conn.nodes.length} on this page.`),
      table({
        caption: `Repositories of ${owner}`,
        hiddenCaption: true,
        testid: 'repo-list',
        columns: [{ label: 'Repository' }, { label: bots ? 'Contributors (with bots)' : 'Contributors', num: true }, { label: 'Last refresh' }, { label: 'Refreshed at' }],
        rows: conn.nodes.map((r) => h('tr', { dataset: { repo: r.name, contributors: r.contributorCount, outcome: r.lastRefreshOutcome || '' } },
          h('th', { scope: 'row' },
            h('a', { href: `#/repo/${encodeURIComponent(owner)}/${encodeURIComponent(r.name)}` }, r.name),
            r.isFork ? h('span', { class: 'tag' }, 'fork') : null,
            r.isArchived ? h('span', { class: 'tag' }, 'archived') : null,
            r.isGone ? h('span', { class: 'tag warn' }, 'gone') : null),
          h('td', { class: 'num' }, r.contributorCount),
          h('td', {}, outcomeBadge(r.lastRefreshOutcome), r.lastRefreshError ? h('span', { class: 'muted small' }, ` ${r.lastRefreshError}`) : null),
          h('td', {}, fmtDate(r.lastRefreshedAt)))),
      }),
      pager(conn.pageInfo, go, 'Repository pages', 'repo-pager'),
    ];
  }, 'Loading repositories…');
}

export function outcomeBadge(outcome) {
  if (!outcome) return h('span', { class: 'badge' }, 'never');
  return h('span', { class: `badge outcome-${outcome}` }, outcome);
}
