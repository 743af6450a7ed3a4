// The banner's source: GET /la/v1/organisation, asked again when the service's answer is due to
// change (its `now.until`), at least every minute, and after a reconnect.

import { api } from './api.js';

const REFRESH_MAX_MS = 60000;
const REFRESH_MIN_MS = 1000;
const RETRY_MS = 15000;

/**
 * How long the answer holds, by the service's own clock (`until` − `at`), so that a wrong clock on
 * this computer does not matter; at most a minute, and a moment past the change.
 */
function refreshDelay(now) {
  const holds = now?.until ? Date.parse(now.until) - Date.parse(now.at) : Infinity;
  return Math.max(REFRESH_MIN_MS, Math.min(REFRESH_MAX_MS, holds + 250));
}

/** `show(organisation, { stale })` draws it; stale: the answer has run out and the service could not be asked again. */
export function watchOrganisation(token, show) {
  let organisation = null;
  let receivedAt = 0;
  let timer;
  let stopped = false;

  const schedule = (delay) => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(() => void refresh(), delay);
  };

  /** True once the answer on screen has passed the change it announced. */
  function runOut() {
    const now = organisation?.now;
    return Boolean(now?.until) && Date.now() - receivedAt >= Date.parse(now.until) - Date.parse(now.at);
  }

  function accept(answer) {
    organisation = answer;
    receivedAt = Date.now();
    show(answer, { stale: false });
    schedule(refreshDelay(answer.now));
  }

  async function refresh() {
    try {
      const answer = await api('/la/v1/organisation', { token });
      if (!stopped) accept(answer);
    } catch {
      if (stopped) return;
      // Keep what we had while it holds; once it has run out, say so rather than show a stale number first.
      if (runOut()) show(organisation, { stale: true });
      schedule(RETRY_MS);
    }
  }

  return {
    accept,
    refresh,
    current: () => organisation,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
