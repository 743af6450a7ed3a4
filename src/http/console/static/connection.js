// The connection indicator (Live / Connecting… / Reconnecting… / Offline) and, after a while down,
// a warning that alerts cannot reach the screen. Said once, not at every retry.

import { formatClock } from './format.js';

const OFFLINE_AFTER_MS = 10000;

export function createConnectionDisplay({ indicator, text, warning }) {
  let downSince = null;
  let offlineTimer = null;

  const show = (state, label) => {
    indicator.dataset.state = state;
    text.textContent = label;
  };

  function goOffline() {
    if (!downSince) return;
    show('offline', 'Offline');
    if (!warning.hidden) return;
    const strong = document.createElement('strong');
    strong.textContent = `Not connected since ${formatClock(downSince)}. `;
    warning.replaceChildren(strong, 'New alerts cannot reach this screen until the connection is back. It keeps trying by itself.');
    warning.setAttribute('role', 'alert');
    warning.hidden = false;
  }

  return {
    /** state: 'connecting' | 'live' | 'reconnecting' */
    set(state) {
      clearTimeout(offlineTimer);
      if (state === 'live') {
        downSince = null;
        warning.hidden = true;
        return show('live', 'Live');
      }
      downSince ??= new Date();
      const downFor = Date.now() - downSince.getTime();
      if (window.navigator.onLine === false || downFor >= OFFLINE_AFTER_MS) return goOffline();
      show(state, state === 'connecting' ? 'Connecting…' : 'Reconnecting…');
      offlineTimer = setTimeout(goOffline, OFFLINE_AFTER_MS - downFor);
    },
    /** Signed out: nothing to show. */
    reset() {
      clearTimeout(offlineTimer);
      downSince = null;
      warning.hidden = true;
      show('offline', 'Offline');
    },
    isDown: () => downSince !== null,
  };
}
