// The duty social worker console: sign in, the LA banner, live alerts for my team or all of the LA,
// older alerts and search, acknowledgement (here and by colleagues), sound and desktop notifications.
// The token lives in memory and sessionStorage only; it never goes into a URL (the stream uses a ticket).

import { api, identityOf, isSessionEnded } from './api.js';
import { createAlarm } from './alarm.js';
import { createAlertingPanel } from './alerting.js';
import { renderBanner } from './banner.js';
import { createConnectionDisplay } from './connection.js';
import { wireDisclosure } from './dom.js';
import { announcement } from './facts.js';
import { createLookback } from './lookback.js';
import { lastEventNumber, readRange, viewPageBefore } from './mailbox.js';
import { watchOrganisation } from './organisation.js';
import { createSignIn } from './signin.js';
import { createAlertState } from './state.js';
import { createStream } from './stream.js';
import { createConsoleView, TITLE } from './view.js';

const TOKEN_KEY = 'cpis.console.token';
const ENDED = 'Your session has ended. Sign in again.';

const $ = (id) => document.getElementById(id);
const ui = {
  loading: $('loading'), console: $('console'), session: $('session'), announcer: $('announcer'),
  banner: { laName: $('la-name'), hours: $('hours'), hoursState: $('hours-state'), callNow: $('call-now'), callOther: $('call-other') },
  scope: $('scope'), scopeTeam: $('scope-team'), scopeAll: $('scope-all'),
  liveView: $('live-view'), alertsTitle: $('alerts-title'), summary: $('summary'), empty: $('empty'), alerts: $('alerts'),
  loadOlder: $('load-older'), olderStatus: $('older-status'),
  resultsView: $('results-view'), resultsTitle: $('results-title'), resultsSummary: $('results-summary'), results: $('results'), resultsOlder: $('results-older'),
  find: $('find'), findQuery: $('find-query'), findError: $('find-error'),
};

let current = null; // the signed-in session
const connection = createConnectionDisplay({ indicator: $('connection'), text: $('connection-text'), warning: $('connection-warning') });
const alarm = createAlarm();
const alerting = createAlertingPanel(alarm, { sound: $('sound-on'), desktop: $('desktop-on'), mute: $('mute'), status: $('alerting-status') });
const view = createConsoleView(ui, { onAcknowledge: (group) => current && acknowledge(current, group) });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt) => Math.min(15000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);

wireDisclosure($('banner-toggle'), $('banner'), 'banner--expanded');
wireDisclosure($('find-toggle'), ui.find);
wireDisclosure($('alerting-toggle'), $('alerting'));

// ---- sign-in -------------------------------------------------------------------------------

/** The worker's choices at sign-in, taken in the click itself: the browser lets sound start, and asks about notifications, only then. */
function optIn({ sound, desktop }) {
  if (sound) alarm.soundOn();
  else alarm.soundOff();
  if (desktop) void alarm.desktopOn();
  else alarm.desktopOff();
}

const signIn = createSignIn({ start: (token) => start(token, true), optIn, remembered: alarm.remembered });

function showSignIn(message) {
  ui.loading.hidden = true;
  ui.console.hidden = true;
  ui.session.hidden = true;
  ui.banner.hours.hidden = true;
  ui.banner.laName.textContent = '';
  document.title = TITLE;
  signIn.show(message);
}

$('sign-out').addEventListener('click', () => endSession());

// ---- session -------------------------------------------------------------------------------

/** Reads what the console opens with: the LA, its duty teams, and the recent alerts of each view. */
async function load(s) {
  const [organisation, dutyTeams, last] = await Promise.all([
    api('/la/v1/organisation', { token: s.token }),
    api('/la/v1/duty-teams', { token: s.token }).catch((error) => {
      if (isSessionEnded(error)) throw error;
      return { teams: [] }; // the names of teams are a nicety: their codes will do
    }),
    lastEventNumber(s.token),
  ]);
  s.state.highest = last;
  if (last > 0) {
    const views = s.state.myTeams.length ? ['all', 'team'] : ['all'];
    const pages = await Promise.all(views.map((v) => viewPageBefore(s.token, last + 1, v === 'team' ? s.state.myTeams : [])));
    views.forEach((v, i) => {
      for (const n of pages[i].notifications) s.state.list(n);
      s.state.cursors[v] = { at: pages[i].cursor, done: pages[i].done };
    });
  }
  return { organisation, teams: dutyTeams.teams ?? [] };
}

async function start(token, fromForm = false) {
  const me = identityOf(token);
  const s = { token, me, state: createAlertState(me.teams), teams: [], laName: '', announceQueue: [], loadingOlder: false, renderQueued: false };
  let loaded;
  for (let attempt = 0; ; attempt++) {
    try {
      loaded = await load(s);
      break;
    } catch (error) {
      if (fromForm || error.status === 401 || error.status === 403) {
        sessionStorage.removeItem(TOKEN_KEY);
        if (fromForm) throw error;
        return showSignIn(ENDED);
      }
      ui.loading.textContent = 'Cannot reach the service. Trying again…';
      await sleep(backoff(attempt));
    }
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  current = s;
  s.teams = loaded.teams;
  ui.loading.hidden = true;
  signIn.hide();
  ui.console.hidden = false;
  ui.session.hidden = false;
  // From the top: where the sign-in form was scrolled to, scroll anchoring would follow the cards down.
  window.scrollTo(0, 0);
  view.clear();
  s.organisation = watchOrganisation(token, (organisation, options) => {
    s.laName = organisation.name || organisation.code || 'the local authority';
    renderBanner(ui.banner, organisation, options);
  });
  s.organisation.accept(loaded.organisation);
  alarm.follow({ waiting: () => s.state.waiting(), label: () => viewLabel(s), onChange: () => alerting.refresh() });
  render(s);
  s.stream = createStream({
    getTicket: async () => (await api('/la/v1/notifications/stream-tickets', { method: 'POST', token })).ticket,
    highest: () => s.state.highest,
    onFrame: (frame) => onFrame(s, frame),
    onState: (state) => current === s && connection.set(state),
    onOpen: () => {
      void refreshAcknowledgements(s);
      void s.organisation.refresh();
    },
    onUnauthorised: () => endSession(ENDED),
  });
  s.stream.start();
  ui.alertsTitle.focus({ preventScroll: true });
}

function endSession(message) {
  const s = current;
  current = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (s) {
    s.stream?.stop();
    s.organisation?.stop();
  }
  alarm.stop();
  view.clear();
  connection.reset();
  showSignIn(message);
}

window.addEventListener('online', () => current?.stream?.retryNow());
window.addEventListener('offline', () => current && connection.isDown() && connection.set('reconnecting'));

// ---- what is shown -------------------------------------------------------------------------

const teamName = (s, code) => s.teams.find((t) => t.code === code)?.name ?? code;
const teamLabel = (s) => s.state.myTeams.map((code) => teamName(s, code)).join(' and ');
/** Whose alerts the view shows, for the desktop notifications: the team's or the LA's name. */
const viewLabel = (s) => (s.state.scope === 'team' ? teamLabel(s) : s.laName);

function render(s) {
  if (current !== s) return;
  view.render(s.state, { me: s.me, teamLabel: teamLabel(s), loadingOlder: s.loadingOlder });
  alerting.refresh();
}

/** Many frames in a burst (a replay) draw once. */
function renderSoon(s) {
  if (s.renderQueued) return;
  s.renderQueued = true;
  setTimeout(() => {
    s.renderQueued = false;
    render(s);
  }, 0);
}

function announce(s, text) {
  s.announceQueue.push(text);
  if (s.announceQueue.length > 1) return;
  setTimeout(() => {
    const queued = s.announceQueue.splice(0);
    ui.announcer.textContent = queued.length === 1 ? queued[0] : `${queued.length} updates: ${queued.join(' ')}`;
  }, 750);
}

$('scope-team').addEventListener('click', () => current && setScope(current, 'team'));
$('scope-all').addEventListener('click', () => current && setScope(current, 'all'));

function setScope(s, scope) {
  s.state.scope = scope;
  render(s);
}

// ---- live frames ---------------------------------------------------------------------------

function onFrame(s, frame) {
  if (current !== s) return;
  if (frame.type === 'notification') receive(s, frame.notification);
  else if (frame.type === 'acknowledgement') acknowledged(s, frame);
  else return;
  renderSoon(s);
}

function receive(s, n) {
  if (!n || typeof n.eventNumber !== 'number') return;
  if (!s.state.list(n) || n.acknowledgedAt || !s.state.inScope(n)) return; // never a duplicate; others' alerts stay quiet
  announce(s, announcement(n));
  alarm.alert(n, n.routedTo?.teamName ?? s.laName);
  setTimeout(() => flash(view.cardOf(n.eventNumber)), 0);
}

function flash(card) {
  if (!card) return;
  card.classList.remove('alert--arrived');
  void card.offsetWidth; // restart the animation on a card that already showed one
  card.classList.add('alert--arrived');
}

/** Someone of the LA acknowledged, here or on any other console or system: say who and when. */
function acknowledged(s, frame) {
  const numbers = Array.isArray(frame.eventNumbers) ? frame.eventNumbers : [];
  const shown = numbers.some((e) => s.state.get(e) && s.state.inScope(s.state.get(e)));
  s.state.acknowledge(numbers, frame, true);
  alarm.acknowledged(numbers);
  if (shown && frame.acknowledgedBy !== s.me.sub) announce(s, `Acknowledged by ${frame.acknowledgedByName ?? frame.acknowledgedBy}.`);
}

// ---- acknowledging -------------------------------------------------------------------------

/** Acknowledges every alert of a card not yet acknowledged, in one call. */
async function acknowledge(s, group) {
  const numbers = group.open.filter((e) => !s.state.pending.has(e)).sort((a, b) => a - b);
  if (!numbers.length || current !== s) return;
  for (const e of numbers) s.state.pending.add(e);
  render(s);
  try {
    const { acknowledged: marked } = await api('/la/v1/notifications/ack', { method: 'POST', token: s.token, body: { eventNumbers: numbers } });
    s.state.acknowledge(marked, { acknowledgedAt: new Date().toISOString(), acknowledgedBy: s.me.sub, acknowledgedByName: s.me.name }, false);
    alarm.acknowledged(marked);
    if (numbers.some((e) => !marked.includes(e))) await refreshAcknowledgements(s); // a colleague was first
  } catch (error) {
    if (isSessionEnded(error)) return endSession(ENDED);
    announce(s, 'The acknowledgement could not be sent. Please try again.');
  } finally {
    for (const e of numbers) s.state.pending.delete(e);
  }
  render(s);
}

/** Re-reads the acknowledgement state of the alerts known here (after a reconnect, or an unclear answer). */
async function refreshAcknowledgements(s) {
  const open = s.state.unacknowledged();
  if (!open.length || current !== s) return;
  try {
    const notifications = await readRange(s.token, Math.min(...open) - 1, Math.max(...open));
    const done = notifications.filter((n) => n.acknowledgedAt);
    for (const n of done) s.state.acknowledge([n.eventNumber], n, true);
    alarm.acknowledged(done.map((n) => n.eventNumber));
  } catch (error) {
    if (isSessionEnded(error)) return endSession(ENDED);
  }
  render(s);
}

// ---- older alerts and search ---------------------------------------------------------------

createLookback({ ui, current: () => current, render, announce, endSession: () => endSession(ENDED) });

// ---- boot ----------------------------------------------------------------------------------

try {
  signIn.setDemo((await api('/console/session')).demoSignIn === true);
} catch {
  signIn.setDemo(false);
}
const stored = sessionStorage.getItem(TOKEN_KEY);
if (stored) void start(stored);
else showSignIn();
