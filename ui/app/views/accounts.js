// #/ — pick an account. The API has no list of accounts, so the known ones are gathered from
// the first page of repositories and from recent jobs; any login can also be typed.
import { h, replace, empty } from '../dom.js';
import { request } from '../graphql.js';
import { mutationButton, REFRESH_OWNER } from '../admin.js';
import { loadInto } from './common.js';

const KNOWN = `query KnownAccounts {
  repositories(first: 100) { nodes { owner } }
  refreshJobs(first: 100) { nodes { kind owner } }
}`;

export async function render(main, ctx) {
  ctx.setTitle('Accounts');
  const input = h('input', { id: 'account-login', name: 'owner', required: true, autocomplete: 'off', list: 'known-accounts', spellcheck: 'false' });
  const datalist = h('datalist', { id: 'known-accounts' });
  const form = h(
    'form',
    { class: 'inline-form', dataset: { testid: 'account-form' } },
    h('label', { for: 'account-login' }, 'Account (GitHub login)'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'primary' }, 'Show')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const owner = input.value.trim();
    if (owner) ctx.navigate(`/account/${encodeURIComponent(owner)}`);
  });
  const list = h('section', { 'aria-labelledby': 'known-title' });
  replace(main, h('h1', { tabindex: '-1' }, 'Accounts'), form, datalist, h('h2', { id: 'known-title' }, 'Known accounts'), list);

  await loadInto(ctx, list, async () => {
    const data = await request(KNOWN, {}, { signal: ctx.signal });
    const owners = new Map();
    for (const r of data.repositories.nodes) owners.set(r.owner.toLowerCase(), r.owner);
    for (const j of data.refreshJobs.nodes) {
      if (j.kind !== 'ARCHIVE' && !owners.has(j.owner.toLowerCase())) owners.set(j.owner.toLowerCase(), j.owner);
    }
    const names = [...owners.values()].sort((a, b) => a.localeCompare(b)).slice(0, 30);
    replace(datalist, names.map((n) => h('option', { value: n })));
    if (names.length === 0) {
      const status = h('p', { class: 'message', 'aria-live': 'polite' });
      return empty(
        'nothing crawled yet: start a refresh',
        h('p', {}, 'Type an account above, then refresh it (needs the admin token).'),
        mutationButton('Refresh the account typed above', REFRESH_OWNER, () => {
          const owner = input.value.trim();
          if (!owner) { input.focus(); status.textContent = 'Type an account first.'; return null; }
          return { owner };
        }, status),
        status,
      );
    }
    // How many repositories each has (one request, one alias per account).
    const vars = Object.fromEntries(names.map((n, i) => [`o${i}`, n]));
    const q = `query Counts(${names.map((_, i) => `$o${i}: String`).join(', ')}) {
      ${names.map((_, i) => `a${i}: repositories(owner: $o${i}, first: 1) { totalCount }`).join('\n')}
    }`;
    const counts = await request(q, vars, { signal: ctx.signal });
    return h(
      'ul',
      { class: 'card-list', dataset: { testid: 'account-list' } },
      names.map((n, i) => h(
        'li',
        { dataset: { account: n, repositories: counts[`a${i}`].totalCount } },
        h('a', { href: `#/account/${encodeURIComponent(n)}` }, n),
        h('span', { class: 'muted' }, ` ${counts[`a${i}`].totalCount} repositories`),
      )),
    );
  }, 'Loading accounts…');
}
