// The console's sound and desktop-notification switches, and the mute for reminders.

import { REMIND_EVERY_MS } from './alarm.js';

const EVERY = `every ${REMIND_EVERY_MS / 1000} seconds`;

/** Wires the checkboxes and the mute button to the alarm; `refresh()` redraws them from its status. */
export function createAlertingPanel(alarm, { sound, desktop, mute, status }) {
  sound.addEventListener('change', () => (sound.checked ? alarm.soundOn() : alarm.soundOff()));
  desktop.addEventListener('change', () => void (desktop.checked ? alarm.desktopOn() : alarm.desktopOff()));
  mute.addEventListener('click', () => (mute.getAttribute('aria-pressed') === 'true' ? alarm.unmute() : alarm.mute()));

  function describe(s) {
    const lines = [];
    if (s.soundHeld) lines.push('Sound is on, but the browser holds it until you click or press a key on this page.');
    else if (s.sound) lines.push(`A tone sounds for each new alert, and ${EVERY} while one waits.`);
    if (s.permission === 'denied') lines.push('Desktop notifications are blocked for this site: allow them in the browser’s settings.');
    else if (s.permission === 'unsupported') lines.push('This browser cannot show desktop notifications.');
    else if (s.desktop) lines.push(`Desktop notifications say only that an alert is waiting, never who it is about; repeated ${EVERY}.`);
    if (s.muted) lines.push('Reminders muted until the next new alert.');
    return lines.join(' ');
  }

  return {
    refresh() {
      const s = alarm.status();
      sound.checked = s.sound;
      desktop.checked = s.desktop;
      desktop.disabled = s.permission === 'unsupported';
      mute.setAttribute('aria-pressed', String(s.muted));
      mute.disabled = s.waiting === 0 || !(s.sound || s.desktop);
      status.textContent = describe(s);
    },
  };
}
