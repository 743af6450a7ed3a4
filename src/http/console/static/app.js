// The duty social worker console: sign in, the LA banner, live alerts and acknowledgement.
// The token lives in memory and sessionStorage only; it never goes into a URL (the stream uses a ticket).

import { api, identityOf, isSessionEnded } from './api.js';
import { renderBanner } from './banner.js';
import { createSignIn } from './signin.js';
import { createConnectionDisplay } from './connection.js';
import { announcement, renderCard, updateCard } from './render.js';
import { createStream } from './stream.js';

const TOKEN_KEY = 'cpis.console.token';
const RECENT = 50;
const MAX_CARDS = 200;
const ACK_TIMEOUT_MS = 10000;
// The banner asks the service again when its answer is due to change, and at least this often.
const ORGANISATION_REFRESH_MAX_MS = 60000;
const ORGANISATION_REFRESH_MIN_MS = 1000;
const ORGANISATION_RETRY_MS = 15000;
const TITLE = 'CPIS duty console';

const $ = (id) => document.getElementById(id);
const ui = {
  loading: $('loading'),
  console: $('console'), session: $('session'), alerts: $('alerts'), empty: $('empty'), summary: $('summary'), announcer: $('announcer'),
  banner: { laName: $('la-name'), hours: $('hours'), hoursState: $('hours-state'), callNow: $('call-now'), callOther: $('call-other') },
};

let current = null; // the signed-in session
const connection = createConnectionDisplay({ indicator: $('connection'), text: $('connection-text'), warning: $('connection-warning') });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt) => Math.min(15000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);

// ---- sign-in -------------------------------------------------------------------------------

const signIn = createSignIn({ start: (token) => start(token, true) });

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

async function start(token, fromForm = false) {
  const s = { token, me: identityOf(token), cards: new Map(), pending: new Map(), highest: 0, announceQueue: [], organisationTimer: undefined };
  for (let attempt = 0; ; attempt++) {
    try {
      s.organisation = await api('/la/v1/organisation', { token });
      const { lastEventNumber } = await api('/la/v1/notifications?limit=1', { token });
      const after = Math.max(0, lastEventNumber - RECENT);
      s.recent = lastEventNumber > 0 ? (await api(`/la/v1/notifications?after=${after}&limit=${RECENT}`, { token })).notifications : [];
      break;
    } catch (error) {
      if (fromForm || error.status === 401 || error.status === 403) {
        sessionStorage.removeItem(TOKEN_KEY);
        if (fromForm) throw error;
        return showSignIn('Your session has ended. Sign in again.');
      }
      ui.loading.textContent = 'Cannot reach the service. Trying again…';
      await sleep(backoff(attempt));
    }
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  current = s;
  ui.loading.hidden = true;
  signIn.hide();
  ui.console.hidden = false;
  ui.session.hidden = false;
  ui.alerts.replaceChildren();
  showOrganisation(s, s.organisation);
  for (const n of s.recent) addNotification(s, n, false);
  refreshSummary(s);
  s.stream = createStream({
    getTicket: async () => (await api('/la/v1/notifications/stream-tickets', { method: 'POST', token })).ticket,
    highest: () => s.highest,
    onFrame: (frame) => onFrame(s, frame),
    onState: (state) => setConnection(s, state),
    onOpen: () => {
      void refreshAcknowledgements(s);
      void refreshOrganisation(s);
    },
    onUnauthorised: () => endSession('Your session has ended. Sign in again.'),
  });
  s.stream.start();
  ui.console.querySelector('h1').focus({ preventScroll: true });
}

function endSession(message) {
  const s = current;
  current = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (s) {
    s.stream?.stop();
    clearTimeout(s.organisationTimer);
    for (const timer of s.pending.values()) clearTimeout(timer);
  }
  ui.alerts.replaceChildren();
  connection.reset();
  showSignIn(message);
}

function setConnection(s, state) {
  if (current === s) connection.set(state);
}

window.addEventListener('online', () => current?.stream?.retryNow());
window.addEventListener('offline', () => current && connection.isDown() && connection.set('reconnecting'));

// ---- alerts --------------------------------------------------------------------------------

function addNotification(s, n, live) {
  if (!n || typeof n.eventNumber !== 'number' || s.cards.has(n.eventNumber)) return; // never a duplicate
  const item = renderCard(n, s.me, (eventNumber) => acknowledge(s, eventNumber));
  s.cards.set(n.eventNumber, { n, item });
  s.highest = Math.max(s.highest, n.eventNumber);
  const before = [...ui.alerts.children].find((li) => Number(li.firstChild.dataset.eventNumber) < n.eventNumber);
  ui.alerts.insertBefore(item, before ?? null);
  if (live) {
    item.firstChild.classList.add('alert--arrived');
    queueAnnouncement(s, announcement(n));
  }
  prune(s);
}

/** Keeps the page to MAX_CARDS, dropping the oldest acknowledged alerts only. */
function prune(s) {
  if (s.cards.size <= MAX_CARDS) return;
  const oldestDone = [...s.cards.values()].filter((c) => c.n.acknowledgedAt).sort((a, b) => a.n.eventNumber - b.n.eventNumber);
  for (const card of oldestDone.slice(0, s.cards.size - MAX_CARDS)) {
    card.item.remove();
    s.cards.delete(card.n.eventNumber);
  }
}

function refreshSummary(s) {
  const open = [...s.cards.values()].filter((c) => !c.n.acknowledgedAt).length;
  ui.empty.hidden = s.cards.size > 0;
  ui.summary.textContent = s.cards.size ? `${open} not acknowledged, ${s.cards.size} shown` : '';
  document.title = open ? `(${open}) ${TITLE}` : TITLE;
}

function queueAnnouncement(s, text) {
  s.announceQueue.push(text);
  if (s.announceQueue.length > 1) return;
  setTimeout(() => {
    const queued = s.announceQueue.splice(0);
    ui.announcer.textContent = queued.length === 1 ? queued[0] : `${queued.length} new alerts.`;
  }, 750);
}

function onFrame(s, frame) {
  if (current !== s) return;
  if (frame.type === 'notification') addNotification(s, frame.notification, true);
  else if (frame.type === 'acknowledged') {
    const at = new Date().toISOString();
    for (const eventNumber of frame.eventNumbers ?? []) setAcknowledged(s, eventNumber, { acknowledgedAt: at, acknowledgedBy: s.me.sub });
    if (!frame.eventNumbers?.length) void refreshAcknowledgements(s); // already acknowledged, perhaps by a colleague
  } else if (frame.type === 'error' && s.pending.size) {
    clearPending(s);
    queueAnnouncement(s, 'An acknowledgement was not recorded. Please try again.');
  }
  refreshSummary(s);
}

function setAcknowledged(s, eventNumber, { acknowledgedAt, acknowledgedBy }) {
  const card = s.cards.get(eventNumber);
  clearTimeout(s.pending.get(eventNumber));
  s.pending.delete(eventNumber);
  if (!card || !acknowledgedAt) return;
  if (!card.n.acknowledgedAt) card.n = { ...card.n, acknowledgedAt, acknowledgedBy };
  updateCard(card.item, card.n, s.me);
}

/** Stops waiting for acknowledgements (all, or those given): their buttons work again. */
function clearPending(s, only = [...s.pending.keys()]) {
  for (const eventNumber of only) {
    clearTimeout(s.pending.get(eventNumber));
    s.pending.delete(eventNumber);
    const card = s.cards.get(eventNumber);
    if (card) updateCard(card.item, card.n, s.me);
  }
}

function acknowledge(s, eventNumber) {
  const card = s.cards.get(eventNumber);
  if (!card || card.n.acknowledgedAt || s.pending.has(eventNumber) || current !== s) return;
  s.pending.set(eventNumber, setTimeout(() => void refreshAcknowledgements(s), ACK_TIMEOUT_MS));
  updateCard(card.item, card.n, s.me, { pending: true });
  if (s.stream.send({ type: 'ack', eventNumber })) return;
  api('/la/v1/notifications/ack', { method: 'POST', token: s.token, body: { eventNumbers: [eventNumber] } }).then(
    ({ acknowledged }) => {
      if (acknowledged.includes(eventNumber)) setAcknowledged(s, eventNumber, { acknowledgedAt: new Date().toISOString(), acknowledgedBy: s.me.sub });
      else void refreshAcknowledgements(s);
      refreshSummary(s);
    },
    (error) => {
      if (isSessionEnded(error)) return endSession('Your session has ended. Sign in again.');
      clearPending(s);
      queueAnnouncement(s, 'The acknowledgement could not be sent. Please try again.');
    },
  );
}

// ---- the banner: the service's answer, asked again when it is due to change ---------------

/**
 * How long the answer holds, by the service's own clock (`until` − `at`), so that a wrong clock on
 * this computer does not matter; at most a minute, and a moment past the change.
 */
function refreshDelay(now) {
  const holds = now?.until ? Date.parse(now.until) - Date.parse(now.at) : Infinity;
  return Math.max(ORGANISATION_REFRESH_MIN_MS, Math.min(ORGANISATION_REFRESH_MAX_MS, holds + 250));
}

function showOrganisation(s, organisation) {
  s.organisation = organisation;
  s.organisationReceivedAt = Date.now();
  renderBanner(ui.banner, organisation);
  scheduleOrganisationRefresh(s, refreshDelay(organisation.now));
}

function scheduleOrganisationRefresh(s, delay) {
  clearTimeout(s.organisationTimer);
  s.organisationTimer = setTimeout(() => void refreshOrganisation(s), delay);
}

/** True once the answer on screen has passed the change it announced. */
function answerRunOut(s) {
  const now = s.organisation?.now;
  return Boolean(now?.until) && Date.now() - s.organisationReceivedAt >= Date.parse(now.until) - Date.parse(now.at);
}

/** Re-reads the LA's phones, hours and the service's answer now (on time, and after a reconnect: they may have changed). */
async function refreshOrganisation(s) {
  try {
    const organisation = await api('/la/v1/organisation', { token: s.token });
    if (current !== s) return;
    showOrganisation(s, organisation);
  } catch {
    if (current !== s) return;
    // Keep what we had while it holds; once it has run out, say so rather than show a stale number first.
    if (answerRunOut(s)) renderBanner(ui.banner, s.organisation, { stale: true });
    scheduleOrganisationRefresh(s, ORGANISATION_RETRY_MS);
  }
}

/** Re-reads the acknowledgement state of the alerts on screen (after a reconnect, or an unclear answer). */
async function refreshAcknowledgements(s) {
  const numbers = [...s.cards.keys()];
  const waiting = [...s.pending.keys()];
  if (!numbers.length || current !== s) return clearPending(s, waiting);
  const after = Math.max(Math.min(...numbers) - 1, Math.max(...numbers) - 1000);
  try {
    const { notifications } = await api(`/la/v1/notifications?after=${after}&limit=1000`, { token: s.token });
    for (const n of notifications) if (n.acknowledgedAt) setAcknowledged(s, n.eventNumber, n);
  } catch (error) {
    if (isSessionEnded(error)) return endSession('Your session has ended. Sign in again.');
  }
  if (current !== s) return;
  clearPending(s, waiting.filter((eventNumber) => s.pending.has(eventNumber)));
  refreshSummary(s);
}

// ---- boot ----------------------------------------------------------------------------------

try {
  signIn.setDemo((await api('/console/session')).demoSignIn === true);
} catch {
  signIn.setDemo(false);
}
const stored = sessionStorage.getItem(TOKEN_KEY);
if (stored) void start(stored);
else showSignIn();
