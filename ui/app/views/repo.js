// #/repo/<owner>/<name>?from=YYYY-MM&to=YYYY-MM&bots=1&after=|before=
// One repository: its last refresh, its monthly chart, its contributors in order of arrival.
import { h, replace, empty, table, fmtDate, fmtNumber, monthOf } from '../dom.js';
import { request, fetchAll } from '../graphql.js';
import { monthsBetween } from '../chart.js';
import { mutationButton, REFRESH_REPO } from '../admin.js';
import { loadInto, rangeForm, pager, pageArgs, chartWithTable } from './common.js';
import { outcomeBadge } from './account.js';

const REPOSITORY = `query Repository($owner: String!, $name: String!, $bots: Boolean, $first: Int, $after: String, $last: Int, $before: String) {
  repository(owner: $owner, name: $name) {
    fullName owner name githubId defaultBranch isFork isArchived isGone createdAt pushedAt
    lastRefreshedAt lastRefreshOutcome lastRefreshError
    contributorCount(includeBots: $bots)
    contributors(includeBots: $bots, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
      nodes { login githubId isBot firstContributionAt commitCount }
    }
  }
}`;

const MONTHS = `query RepositoryMonths($owner: String!, $name: String!, $from: Date, $to: Date, $bots: Boolean, $first: Int, $after: String) {
  repository(owner: $owner, name: $name) {
    monthlyFirstContributors(from: $from, to: $to, includeBots: $bots, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor } nodes { month newContributors }
    }
  }
}`;

const PAGE = 20;

export async function render(main, ctx) {
  const [owner, name] = ctx.params;
  const q = ctx.query;
  const from = q.get('from') || '';
  const to = q.get('to') || '';
  const bots = q.get('bots') === '1';
  ctx.setTitle(`${owner}/${name}`);

  const status = h('p', { class: 'message', 'aria-live': 'polite' });
  const info = h('div');
  const chartSection = h('div');
  const people = h('div');
  replace(
    main,
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' },
      h('a', { href: '#/' }, 'Accounts'), ' / ', h('a', { href: `#/account/${encodeURIComponent(owner)}` }, owner), ' / ', name),
    h('div', { class: 'title-row' },
      h('h1', { tabindex: '-1' }, `${owner}/${name}`),
      mutationButton('Refresh this repository', REFRESH_REPO, () => ({ owner, name }), status)),
    status,
    info,
    rangeForm(ctx, { kind: 'month', from, to, bots }),
    h('section', { 'aria-labelledby': 'monthly-title' }, h('h2', { id: 'monthly-title' }, 'First-time contributors per month'), chartSection),
    h('section', { 'aria-labelledby': 'people-title' }, h('h2', { id: 'people-title' }, 'Contributors, in order of arrival'), people),
  );

  let pending = null; // shared by the sections; read again on "Try again" after a failure
  const repoData = () => {
    pending ||= request(REPOSITORY, { owner, name, bots, ...pageArgs(q, PAGE) }, { signal: ctx.signal })
      .catch((err) => { pending = null; throw err; });
    return pending;
  };
  const notKnown = () => empty('nothing crawled yet: start a refresh',
    h('p', {}, `${owner}/${name} is not known to git-collector yet. “Refresh this repository” adds it.`));

  loadInto(ctx, info, async () => {
    const { repository: r } = await repoData();
    if (!r) return notKnown();
    return h('dl', { class: 'facts', dataset: { testid: 'repo-facts' } },
      fact('Last refresh', h('span', { dataset: { testid: 'repo-outcome', outcome: r.lastRefreshOutcome || '' } }, outcomeBadge(r.lastRefreshOutcome))),
      fact('Refreshed at', fmtDate(r.lastRefreshedAt)),
      r.lastRefreshError ? fact('Why', h('span', { dataset: { testid: 'repo-error' } }, r.lastRefreshError), 'wide') : null,
      fact(bots ? 'Contributors (with bots)' : 'Contributors',
        h('span', { dataset: { testid: 'repo-contributor-count', count: r.contributorCount } }, fmtNumber(r.contributorCount))),
      fact('Default branch', r.defaultBranch || '—'),
      fact('Last push', fmtDate(r.pushedAt)),
      fact('Flags', [r.isFork && 'fork', r.isArchived && 'archived', r.isGone && 'gone (history kept)'].filter(Boolean).join(', ') || 'none'));
  }, 'Loading the repository…');

  loadInto(ctx, chartSection, async () => {
    const { repository: r } = await repoData();
    if (!r) return h('p', { class: 'muted' }, 'No data yet.');
    const { nodes } = await fetchAll(MONTHS, { owner, name, from: from ? `${from}-01` : null, to: to ? `${to}-01` : null, bots },
      (d) => d.repository && d.repository.monthlyFirstContributors, { signal: ctx.signal });
    if (nodes.length === 0) {
      return empty(from || to ? 'No first-time contributors in this range.'
        : r.lastRefreshOutcome === 'empty' ? 'The repository has no commits yet.'
          : r.lastRefreshedAt ? 'No contributors yet.' : 'nothing crawled yet: start a refresh');
    }
    const axis = monthsBetween(from ? `${from}-01` : nodes[0].month, to ? `${to}-01` : nodes[nodes.length - 1].month);
    const byMonth = new Map(nodes.map((n) => [n.month, n.newContributors]));
    return chartWithTable(ctx, {
      chart: { x: axis, series: [{ label: 'new contributors', values: axis.map((m) => byMonth.get(m) || 0), bars: true }], unit: 'month',
        label: `First-time contributors to ${owner}/${name} per month` },
      table: table({
        caption: `First-time contributors to ${owner}/${name} per month (months with none are left out)`,
        testid: 'monthly-table',
        columns: [{ label: 'Month' }, { label: 'New contributors', num: true }],
        rows: nodes.map((n) => h('tr', { dataset: { month: monthOf(n.month), count: n.newContributors } },
          h('th', { scope: 'row' }, monthOf(n.month)), h('td', { class: 'num' }, n.newContributors))),
      }),
    });
  }, 'Loading months…');

  await loadInto(ctx, people, async () => {
    const { repository: r } = await repoData();
    if (!r) return h('p', { class: 'muted' }, 'No contributors yet.');
    const conn = r.contributors;
    if (conn.totalCount === 0) return empty(r.lastRefreshedAt ? 'No contributors yet.' : 'nothing crawled yet: start a refresh');
    const go = (cursor) => ctx.navigate(ctx.path, { from, to, bots: bots ? '1' : '', ...cursor });
    return [
      h('p', { class: 'muted' }, `${conn.totalCount} contributor${conn.totalCount === 1 ? '' : 's'}; the API never returns emails or names, so people known only by email have no login.`),
      table({
        caption: `Contributors of ${owner}/${name}, earliest first`,
        hiddenCaption: true,
        testid: 'contributors-table',
        columns: [{ label: 'Contributor' }, { label: 'First contribution' }, { label: 'Commits', num: true }],
        rows: conn.nodes.map((c) => h('tr', { dataset: { login: c.login || '', first: c.firstContributionAt, commits: c.commitCount } },
          h('th', { scope: 'row' }, c.login || h('span', { class: 'muted' }, '(known by email only)'), c.isBot ? h('span', { class: 'tag' }, 'bot') : null),
          h('td', {}, fmtDate(c.firstContributionAt)),
          h('td', { class: 'num' }, c.commitCount))),
      }),
      pager(conn.pageInfo, go, 'Contributor pages', 'contributors-pager'),
    ];
  }, 'Loading contributors…');
}

function fact(term, value, cls) {
  return h('div', { class: cls }, h('dt', {}, term), h('dd', {}, value));
}
