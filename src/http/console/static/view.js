// Draws the console from its state: the view switch (my team / all of the LA), the alerts list with
// its "Load older" button, and a search's results in their own list.

import { createAlertList } from './alert-list.js';
import { el } from './dom.js';
import { groupAlerts } from './groups.js';
import { describeSearch } from './search.js';

export const TITLE = 'CPIS duty console';

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `onAcknowledge(group)` is called by a card's button, in either list. */
export function createConsoleView(ui, { onAcknowledge }) {
  const alerts = createAlertList(ui.alerts, { prefix: 'alert', onAcknowledge });
  const results = createAlertList(ui.results, { prefix: 'result', onAcknowledge });

  function scopeButton(button, label, waiting, pressed) {
    button.replaceChildren(label, ' ', el('span', { class: waiting ? 'scope-count scope-count--waiting' : 'scope-count' }, waiting ? `${waiting} waiting` : 'none waiting'));
    button.setAttribute('aria-pressed', String(pressed));
  }

  function drawAlerts(state, { me, teamLabel, loadingOlder }) {
    const shown = state.visible();
    const isPending = (g) => g.open.some((e) => state.pending.has(e));
    const groups = groupAlerts(shown, state.visible('all'));
    alerts.show(groups, me, isPending);
    const waiting = shown.filter((n) => !n.acknowledgedAt).length;
    const mine = state.scope === 'team';
    ui.alertsTitle.textContent = mine ? `Alerts for ${teamLabel}, newest first` : state.myTeams.length ? 'All of the local authority’s alerts, newest first' : 'Alerts, newest first';
    ui.empty.hidden = shown.length > 0;
    ui.empty.textContent = `No alerts yet${mine ? ` for ${teamLabel}` : ''}. New alerts appear here as soon as they happen.`;
    ui.summary.textContent = shown.length ? `${waiting} not acknowledged, ${plural(shown.length, 'alert')} on ${plural(groups.length, 'card')}` : '';
    const { done } = state.cursors[state.scope];
    ui.loadOlder.hidden = done;
    ui.loadOlder.textContent = loadingOlder ? 'Loading older alerts…' : 'Load older alerts';
    if (loadingOlder) ui.loadOlder.setAttribute('aria-disabled', 'true');
    else ui.loadOlder.removeAttribute('aria-disabled');
    ui.olderStatus.textContent = done && shown.length ? 'No older alerts.' : '';
    return waiting;
  }

  function drawResults(state, { me }) {
    const { search } = state;
    ui.liveView.hidden = Boolean(search);
    ui.resultsView.hidden = !search;
    if (!search) return results.clear();
    const found = state.results();
    results.show(groupAlerts(found), me, (g) => g.open.some((e) => state.pending.has(e)));
    ui.resultsTitle.textContent = `Alerts for ${describeSearch(search.query)}`;
    ui.resultsSummary.textContent = search.loading && !found.length ? 'Searching…'
      : search.error ? `The search did not work: ${search.error}`
        : found.length ? `${plural(found.length, 'alert')} found in all of the local authority’s alerts, newest first.` : 'No alerts found.';
    ui.resultsOlder.hidden = search.done || !found.length;
    if (search.loading) ui.resultsOlder.setAttribute('aria-disabled', 'true');
    else ui.resultsOlder.removeAttribute('aria-disabled');
  }

  return {
    /** context: { me, teamLabel, loadingOlder } */
    render(state, context) {
      ui.scope.hidden = state.myTeams.length === 0;
      if (state.myTeams.length) {
        scopeButton(ui.scopeTeam, `My team: ${context.teamLabel}`, state.waiting('team').length, state.scope === 'team');
        scopeButton(ui.scopeAll, 'All of the LA', state.waiting('all').length, state.scope === 'all');
      }
      const waiting = drawAlerts(state, context);
      drawResults(state, context);
      document.title = waiting ? `(${waiting}) ${TITLE}` : TITLE;
    },
    clear() {
      alerts.clear();
      results.clear();
    },
    /** The card showing an alert, in the alerts list. */
    cardOf: (eventNumber) => ui.alerts.querySelector(`article[data-event-number="${Number(eventNumber)}"]`),
  };
}
