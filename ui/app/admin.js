// The admin token: asked for in a dialog when a mutation needs it, kept in sessionStorage only
// (gone when the tab closes), sent as `Authorization: Bearer <token>` on the POST.
import { request, humanMessage, ApiError } from './graphql.js';
import { h } from './dom.js';

const KEY = 'git-collector.adminToken';

export const storedToken = () => sessionStorage.getItem(KEY);
export const forgetToken = () => sessionStorage.removeItem(KEY);

/** Shows the token dialog; resolves with the token, or null when cancelled. */
function askToken(reason) {
  return new Promise((resolve) => {
    const input = h('input', { id: 'admin-token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
    const dialog = h(
      'dialog',
      { class: 'token-dialog', 'aria-labelledby': 'token-title', dataset: { testid: 'token-dialog' } },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'token-title' }, 'Admin token'),
        reason ? h('p', { class: 'message error', role: 'alert', dataset: { testid: 'token-error' } }, reason) : null,
        h('p', {}, 'Refreshes and imports need the service\u2019s ADMIN_TOKEN. It is kept in this tab only (sessionStorage).'),
        h('label', { for: 'admin-token' }, 'Token'),
        input,
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'submit', value: 'ok', class: 'primary' }, 'Send'),
          h('button', { type: 'button', onclick: () => dialog.close('cancel') }, 'Cancel'),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      const token = dialog.returnValue === 'ok' ? input.value.trim() : '';
      dialog.remove();
      resolve(token || null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/**
 * Runs an admin mutation. Asks for the token when none is stored, and again (with the reason)
 * when the server refuses it. Resolves with the data, or null when the person cancelled.
 */
export async function adminRequest(query, variables) {
  let reason = null;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    let token = storedToken();
    if (!token) {
      token = await askToken(reason);
      if (!token) return null;
    }
    try {
      const data = await request(query, variables, { token });
      sessionStorage.setItem(KEY, token);
      return data;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
        forgetToken();
        reason = humanMessage(err);
        continue;
      }
      throw err;
    }
  }
  throw new ApiError('the admin token was refused three times', 'UNAUTHENTICATED');
}

export const JOB_FIELDS = `id kind status owner repo trigger createdAt startedAt finishedAt error
  reposTotal reposDone requestsMade hoursTotal hoursDone eventsImported`;

export const REFRESH_OWNER = `mutation RefreshOwner($owner: String!) { refreshOwner(owner: $owner) { ${JOB_FIELDS} } }`;
export const REFRESH_REPO = `mutation RefreshRepo($owner: String!, $name: String!) { refreshRepo(owner: $owner, name: $name) { ${JOB_FIELDS} } }`;
export const IMPORT_ARCHIVE = `mutation ImportArchive($from: Date!, $to: Date) { importArchive(from: $from, to: $to) { ${JOB_FIELDS} } }`;

/**
 * A button that runs a mutation and reports in `status` (an aria-live element), linking to the
 * job. `vars()` returns the variables, or null to do nothing (invalid input).
 */
export function mutationButton(label, query, vars, status, onJob) {
  const button = h('button', { type: 'button', class: 'primary' }, label);
  button.addEventListener('click', () => runMutation(button, query, vars, status, onJob));
  return button;
}

export async function runMutation(button, query, vars, status, onJob) {
  const variables = vars();
  if (!variables) return;
  button.disabled = true;
  status.className = 'message';
  status.textContent = 'Sending…';
  try {
    const data = await adminRequest(query, variables);
    if (!data) {
      status.textContent = 'Cancelled: no token given.';
      return;
    }
    const job = Object.values(data)[0];
    status.replaceChildren(
      `Job ${job.id} is ${job.status.toLowerCase()}. `,
      h('a', { href: '#/jobs' }, 'Follow it in Jobs'),
      '.',
    );
    onJob?.(job);
  } catch (err) {
    status.className = 'message error';
    status.textContent = humanMessage(err);
  } finally {
    button.disabled = false;
  }
}
