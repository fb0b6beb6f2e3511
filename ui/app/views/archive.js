// #/archive?from=YYYY-MM-DD&to=YYYY-MM-DD&bots=1
// GH Archive: developers without / with one / with more than one commit, day by day (the old
// Grafana chart), developers owning more than one repository, repositories with more than ten
// members.
import { h, replace, empty, table, fmtNumber } from '../dom.js';
import { request } from '../graphql.js';
import { mutationButton, IMPORT_ARCHIVE } from '../admin.js';
import { loadInto, rangeForm, pager, chartWithTable } from './common.js';

const ACTIVITY = `query ArchiveActivity($from: Date!, $to: Date!, $bots: Boolean) {
  archiveActivity(from: $from, to: $to, includeBots: $bots) {
    day hoursImported hoursMissing events activeDevelopers
    developersWithoutCommits developersWithOneCommit developersWithMoreThanOneCommit developersWithUnknownCommits
    pushes commits
  }
}`;

const DEVELOPERS = `query OwnersOfSeveral($from: Date!, $to: Date!, $bots: Boolean, $first: Int, $after: String, $last: Int, $before: String) {
  archiveDevelopers(from: $from, to: $to, includeBots: $bots, minRepositoriesOwned: 2, orderBy: REPOSITORIES_OWNED_DESC,
      first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    nodes { actorId login isBot activeDays pushes commits commitsPerDay repositoriesOwned }
  }
}`;

const REPOSITORIES = `query BigRepositories($from: Date!, $to: Date!, $bots: Boolean, $first: Int, $after: String, $last: Int, $before: String) {
  archiveRepositories(from: $from, to: $to, includeBots: $bots, minMembers: 11, orderBy: MEMBERS_DESC,
      first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    nodes { repoId name members pushes commits }
  }
}`;

const PAGE = 20;
const DAY = 86400000;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const SERIES = [
  ['developersWithoutCommits', 'without commits'],
  ['developersWithOneCommit', 'one commit'],
  ['developersWithMoreThanOneCommit', 'more than one commit'],
];

export async function render(main, ctx) {
  const q = ctx.query;
  const yesterday = Date.parse(iso(Date.now())) - DAY;
  const to = q.get('to') || iso(yesterday);
  const from = q.get('from') || iso(Date.parse(to) - 29 * DAY);
  const bots = q.get('bots') === '1';
  const vars = { from, to, bots };
  ctx.setTitle('Archive activity');

  const status = h('p', { class: 'message', 'aria-live': 'polite' });
  const importButton = mutationButton('Import this range', IMPORT_ARCHIVE, () => ({ from, to }), status);
  const chartSection = h('div');
  const devSection = h('div');
  const repoSection = h('div');
  replace(
    main,
    h('div', { class: 'title-row' }, h('h1', { tabindex: '-1' }, 'GH Archive activity'), importButton),
    status,
    h('p', { class: 'muted' }, `Every public GitHub event, day by day (UTC), ${from} to ${to}.`),
    rangeForm(ctx, { kind: 'date', from, to, bots }),
    h('section', { 'aria-labelledby': 'activity-title' }, h('h2', { id: 'activity-title' }, 'Developers by commits, per day'), chartSection),
  );
  const days = (Date.parse(to) - Date.parse(from)) / DAY + 1;
  if (!(days >= 1 && days <= 366)) {
    replace(chartSection, h('p', { class: 'message error', role: 'alert' }, 'Choose a range of 1 to 366 days.'));
    return;
  }

  let hasData = false;
  await loadInto(ctx, chartSection, async () => {
    const { archiveActivity: list } = await request(ACTIVITY, vars, { signal: ctx.signal });
    if (list.length === 0) {
      return empty('no archive data yet: import a range',
        h('p', {}, `No day between ${from} and ${to} has been imported.`),
        mutationButton(`Import ${from} to ${to}`, IMPORT_ARCHIVE, () => ({ from, to }), status));
    }
    hasData = true;
    const partial = list.filter((d) => d.hoursImported < 24);
    return [
      partial.length ? h('p', { class: 'message' }, `${partial.length} day${partial.length === 1 ? '' : 's'} with fewer than 24 hours imported (the archive has gaps).`) : null,
      chartWithTable(ctx, {
        chart: { x: list.map((d) => d.day), series: SERIES.map(([k, label]) => ({ label, values: list.map((d) => d[k]) })), unit: 'day',
          label: 'Developers without commits, with one commit, and with more than one commit, per day' },
        table: table({
          caption: 'Developers per day by commits',
          testid: 'archive-activity-table',
          columns: [{ label: 'Day' }, { label: 'Without commits', num: true }, { label: 'One commit', num: true },
            { label: 'More than one', num: true }, { label: 'Active', num: true }, { label: 'Events', num: true }, { label: 'Hours', num: true }],
          rows: list.map((d) => h('tr', {
            dataset: { day: d.day, without: d.developersWithoutCommits, one: d.developersWithOneCommit, more: d.developersWithMoreThanOneCommit,
              active: d.activeDevelopers, events: d.events, hours: d.hoursImported },
          },
          h('th', { scope: 'row' }, d.day), h('td', { class: 'num' }, d.developersWithoutCommits), h('td', { class: 'num' }, d.developersWithOneCommit),
          h('td', { class: 'num' }, d.developersWithMoreThanOneCommit), h('td', { class: 'num' }, d.activeDevelopers),
          h('td', { class: 'num' }, d.events), h('td', { class: 'num' }, d.hoursImported))),
        }),
      }),
    ];
  }, 'Loading days…');
  if (!hasData || !ctx.isCurrent()) return;

  main.append(
    h('section', { 'aria-labelledby': 'devs-title' }, h('h2', { id: 'devs-title' }, 'Developers owning more than one repository'), devSection),
    h('section', { 'aria-labelledby': 'big-title' }, h('h2', { id: 'big-title' }, 'Repositories with more than ten members'), repoSection),
  );
  pagedTable(ctx, devSection, DEVELOPERS, vars, (d) => d.archiveDevelopers, (conn) => table({
    caption: 'Developers owning more than one repository with an event in the window',
    hiddenCaption: true,
    testid: 'archive-developers-table',
    columns: [{ label: 'Developer' }, { label: 'Repositories owned', num: true }, { label: 'Commits', num: true }, { label: 'Commits a day', num: true }, { label: 'Active days', num: true }],
    rows: conn.nodes.map((d) => h('tr', { dataset: { actorId: d.actorId, login: d.login, repositoriesOwned: d.repositoriesOwned, commits: d.commits } },
      h('th', { scope: 'row' }, d.login, d.isBot ? h('span', { class: 'tag' }, 'bot') : null),
      h('td', { class: 'num' }, d.repositoriesOwned), h('td', { class: 'num' }, fmtNumber(d.commits)),
      h('td', { class: 'num' }, d.commitsPerDay.toFixed(2)), h('td', { class: 'num' }, d.activeDays))),
  }), 'developers');
  pagedTable(ctx, repoSection, REPOSITORIES, vars, (d) => d.archiveRepositories, (conn) => table({
    caption: 'Repositories with more than ten members in the window',
    hiddenCaption: true,
    testid: 'archive-repositories-table',
    columns: [{ label: 'Repository' }, { label: 'Members', num: true }, { label: 'Pushes', num: true }, { label: 'Commits', num: true }],
    rows: conn.nodes.map((r) => h('tr', { dataset: { repoId: r.repoId, name: r.name, members: r.members } },
      h('th', { scope: 'row' }, r.name), h('td', { class: 'num' }, r.members),
      h('td', { class: 'num' }, fmtNumber(r.pushes)), h('td', { class: 'num' }, fmtNumber(r.commits)))),
  }), 'repositories');
}

/** A connection table whose pages are kept in the view (its cursors belong to these filters). */
function pagedTable(ctx, container, query, vars, pick, build, noun) {
  const load = (cursor) => loadInto(ctx, container, async () => {
    const page = cursor || { first: PAGE, after: null, last: null, before: null };
    const conn = pick(await request(query, { ...vars, ...page }, { signal: ctx.signal }));
    if (conn.totalCount === 0) return h('p', { class: 'muted', dataset: { testid: `archive-${noun}-empty` } }, `No ${noun} in this window.`);
    return [
      h('p', { class: 'muted', dataset: { testid: `archive-${noun}-count`, count: conn.totalCount } }, `${fmtNumber(conn.totalCount)} ${noun}.`),
      build(conn),
      pager(conn.pageInfo, (c) => load(c.after ? { first: PAGE, after: c.after } : { last: PAGE, before: c.before }), `Pages of ${noun}`, `archive-${noun}-pager`),
    ];
  }, `Loading ${noun}…`);
  return load();
}
