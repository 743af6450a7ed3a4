// The audible alert and the desktop notifications, both opt-in and remembered on this computer. A
// new alert sounds a tone and shows one desktop notification; while any alert waits unacknowledged
// and not muted, both repeat. A desktop notification can show on a locked screen, so it never holds
// the child's name or NHS number: only that an alert for the team is waiting.

const SOUND_KEY = 'cpis.console.sound';
const DESKTOP_KEY = 'cpis.console.desktop';
export const REMIND_EVERY_MS = 30000;
const TITLE = 'CPIS duty console';

let audio = null; // one AudioContext for the page, started from a click (browsers allow sound only then)

function startAudio() {
  const Context = window.AudioContext ?? window.webkitAudioContext;
  if (!Context) return;
  audio ??= new Context();
  if (audio.state === 'suspended') void audio.resume();
}

/** Two short notes, made by the Web Audio API: no sound file to fetch. */
function playTone() {
  if (audio?.state !== 'running') return;
  const at = audio.currentTime;
  [880, 660].forEach((frequency, i) => {
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    const start = at + i * 0.22;
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(start);
    oscillator.stop(start + 0.21);
  });
}

const remembered = (key) => window.localStorage.getItem(key) === 'on';
const remember = (key, on) => window.localStorage.setItem(key, on ? 'on' : 'off');
const permission = () => (window.Notification ? window.Notification.permission : 'unsupported');

export function createAlarm() {
  let session = null; // { waiting(), label(), onChange() } of the signed-in console
  let mutedUpTo = 0;
  let timer = null;
  const shown = new Map(); // event number → its desktop notification

  const changed = () => session?.onChange();

  function desktop(body, tag, renotify = false) {
    if (!remembered(DESKTOP_KEY) || permission() !== 'granted') return null;
    try {
      const note = new window.Notification(TITLE, { body, tag, renotify, lang: 'en-GB' });
      note.onclick = () => {
        window.focus();
        note.close();
      };
      return note;
    } catch {
      return null; // some browsers allow notifications only from a service worker
    }
  }

  const active = () => (session ? session.waiting().filter((eventNumber) => eventNumber > mutedUpTo) : []);

  function remind() {
    const waiting = active();
    if (!waiting.length) return;
    if (remembered(SOUND_KEY)) playTone();
    const count = waiting.length === 1 ? '1 alert' : `${waiting.length} alerts`;
    desktop(`${count} for ${session.label()} not acknowledged: open the console`, 'cpis-reminder', true);
  }

  // A click or key anywhere lets a sound switched on before a reload play again.
  for (const type of ['pointerdown', 'keydown']) window.addEventListener(type, () => {
    if (remembered(SOUND_KEY) && audio?.state !== 'running') {
      startAudio();
      setTimeout(changed, 100);
    }
  }, true);

  return {
    /** Call from a click: the browser lets sound start only then. */
    soundOn() {
      remember(SOUND_KEY, true);
      startAudio();
      setTimeout(() => {
        playTone();
        changed();
      }, 50);
    },
    soundOff() {
      remember(SOUND_KEY, false);
      changed();
    },
    /** Call from a click: asks the browser's permission if it has not been given or refused. */
    async desktopOn() {
      if (!window.Notification) return changed();
      const answer = permission() === 'default' ? await window.Notification.requestPermission() : permission();
      remember(DESKTOP_KEY, answer === 'granted');
      changed();
    },
    desktopOff() {
      remember(DESKTOP_KEY, false);
      changed();
    },
    /** Silences the reminders of the alerts waiting now; a new alert sounds again. */
    mute() {
      mutedUpTo = Math.max(mutedUpTo, ...(session?.waiting() ?? []));
      changed();
    },
    unmute() {
      mutedUpTo = 0;
      changed();
    },
    status: () => ({
      sound: remembered(SOUND_KEY),
      soundHeld: remembered(SOUND_KEY) && audio?.state !== 'running',
      desktop: remembered(DESKTOP_KEY) && permission() === 'granted',
      permission: permission(),
      waiting: session ? session.waiting().length : 0,
      muted: Boolean(session) && session.waiting().length > 0 && active().length === 0,
    }),
    /** A new alert the worker's view shows: a tone and one desktop notification, tagged by its number. */
    alert(n, team) {
      if (remembered(SOUND_KEY)) playTone();
      const note = desktop(`${n.type === 'escalation' ? 'Escalated alert' : 'New alert'} for ${team}: open the console`, `cpis-alert-${n.eventNumber}`);
      if (note) shown.set(n.eventNumber, note);
      changed();
    },
    /** Alerts acknowledged (here or anywhere): their desktop notifications go. */
    acknowledged(eventNumbers) {
      for (const eventNumber of eventNumbers) {
        shown.get(eventNumber)?.close();
        shown.delete(eventNumber);
      }
      changed();
    },
    /** Follows a signed-in console: `waiting()` gives the event numbers of its unacknowledged alerts, `label()` whose they are. */
    follow(console) {
      session = console;
      mutedUpTo = 0;
      clearInterval(timer);
      timer = setInterval(remind, REMIND_EVERY_MS);
    },
    stop() {
      session = null;
      clearInterval(timer);
      for (const note of shown.values()) note.close();
      shown.clear();
    },
    remembered: () => ({ sound: remembered(SOUND_KEY), desktop: remembered(DESKTOP_KEY) && permission() === 'granted' }),
  };
}
