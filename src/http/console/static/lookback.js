// Looking back: older alerts paged into the alerts list, and "Find a child", whose results are a
// list of their own until the search is cleared. The service does the finding (mailbox before=,
// nhsNumber=, name=), newest first.

import { isSessionEnded } from './api.js';
import { pageBefore, viewPageBefore } from './mailbox.js';
import { parseSearch } from './search.js';

/**
 * Wires "Load older alerts", the search form, "Load older results" and "Clear search". `current()`
 * is the signed-in session; `render(s)` draws it; `announce(s, text)` tells a screen reader;
 * `endSession()` signs out when the token has run out.
 */
export function createLookback({ ui, current, render, announce, endSession }) {
  const $ = (id) => document.getElementById(id);

  async function loadOlder(s) {
    const { scope } = s.state;
    const cursor = s.state.cursors[scope];
    if (cursor.done || s.loadingOlder) return;
    s.loadingOlder = true;
    render(s);
    const before = s.state.visible(scope).length;
    try {
      const page = await viewPageBefore(s.token, cursor.at, scope === 'team' ? s.state.myTeams : []);
      if (current() !== s) return;
      for (const n of page.notifications) s.state.list(n);
      s.state.cursors[scope] = { at: page.cursor, done: page.done };
      const more = s.state.visible(scope).length - before;
      announce(s, more ? `${more} older alert${more === 1 ? '' : 's'} loaded.` : 'No older alerts.');
    } catch (error) {
      if (isSessionEnded(error)) return endSession();
      announce(s, 'Older alerts could not be loaded. Please try again.');
    } finally {
      s.loadingOlder = false;
    }
    render(s);
  }

  /** Reads the next page of the search. */
  async function searchMore(s) {
    const search = s.state.search;
    if (!search || search.done || search.loading) return;
    search.loading = true;
    search.error = null;
    render(s);
    try {
      const page = await pageBefore(s.token, search.cursor, search.query);
      if (s.state.search !== search) return;
      for (const n of page.notifications) {
        s.state.remember(n);
        if (!search.numbers.includes(n.eventNumber)) search.numbers.push(n.eventNumber);
      }
      Object.assign(search, { cursor: page.cursor, done: page.done });
    } catch (error) {
      if (isSessionEnded(error)) return endSession();
      search.error = error.message;
    } finally {
      search.loading = false;
    }
    render(s);
  }

  function showFindError(message) {
    ui.findError.hidden = !message;
    ui.findError.textContent = message ?? '';
    if (message) ui.findQuery.setAttribute('aria-invalid', 'true');
    else ui.findQuery.removeAttribute('aria-invalid');
  }

  ui.loadOlder.addEventListener('click', () => current() && void loadOlder(current()));
  ui.resultsOlder.addEventListener('click', () => current() && void searchMore(current()));

  ui.find.addEventListener('submit', (event) => {
    event.preventDefault();
    const s = current();
    if (!s) return;
    const query = parseSearch(ui.findQuery.value);
    showFindError(query.error);
    if (query.error) return ui.findQuery.focus();
    s.state.search = { query, numbers: [], cursor: undefined, done: false, loading: false, error: null };
    void searchMore(s);
    render(s);
    ui.resultsTitle.focus();
  });

  $('clear-search').addEventListener('click', () => {
    const s = current();
    if (!s) return;
    s.state.search = null;
    ui.findQuery.value = '';
    showFindError(null);
    render(s);
    ui.alertsTitle.focus();
  });
}
