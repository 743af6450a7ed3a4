// The sign-in forms: a demo worker of a chosen LA and, when the LA has duty teams, of one of them
// (AUTH_MODE=dev only), or a pasted token. Either asks whether to alert by sound and on the desktop.

import { api } from './api.js';
import { el } from './dom.js';

const $ = (id) => document.getElementById(id);

/**
 * Wires the forms. `start(token)` signs in and throws an ApiError when the token is refused;
 * `optIn({ sound, desktop })` is called in the submit's own click, when the browser lets a page start
 * sound and ask for notifications; `remembered()` gives the choices this computer last made.
 */
export function createSignIn({ start, optIn, remembered }) {
  const section = $('sign-in');
  const errorBox = $('sign-in-error');
  const forms = { demo: $('demo-form'), team: $('team-form'), token: $('token-form') };
  const optInBox = $('opt-in');
  let demo = false;
  let demoWorker = null; // { org, name, token } between the two steps of a demo sign-in

  function showError(message, field) {
    for (const input of section.querySelectorAll('input')) input.removeAttribute('aria-invalid');
    errorBox.hidden = !message;
    errorBox.textContent = message ?? '';
    if (!message) return;
    if (field) field.setAttribute('aria-invalid', 'true');
    errorBox.focus();
  }

  function showForm(which, message) {
    section.hidden = false;
    for (const [name, form] of Object.entries(forms)) form.hidden = name !== which;
    const form = forms[which];
    form.insertBefore(optInBox, form.querySelector('button[type="submit"]'));
    form.querySelector('button[type="submit"]').disabled = false;
    showError(message);
    if (!message) form.querySelector('input').focus();
  }

  function show(message) {
    demoWorker = null;
    const choices = remembered();
    $('opt-sound').checked = choices.sound;
    $('opt-desktop').checked = choices.desktop;
    showForm(demo ? 'demo' : 'token', message);
  }

  const askedFor = () => ({ sound: $('opt-sound').checked, desktop: $('opt-desktop').checked });

  async function signInWith(form, getToken) {
    form.querySelector('button[type="submit"]').disabled = true;
    try {
      const token = await getToken();
      if (!token) return; // the demo worker's team is asked first
      await start(token);
      section.hidden = true;
    } catch (error) {
      const message = error.status === 401 || error.status === 403 ? 'That sign-in was not accepted. Check it and try again.' : error.message;
      if (demoWorker) showForm('team', message);
      else show(message);
    }
  }

  const demoToken = async (body) => (await api('/console/dev-sign-in', { method: 'POST', body })).token;

  function showTeams(teams) {
    const choice = (value, label, i) =>
      el('div', { class: 'check' }, el('input', { type: 'radio', name: 'team', id: `team-choice-${i}`, value, checked: i === 0 }), el('label', { for: `team-choice-${i}` }, label));
    $('team-choices').replaceChildren(
      ...teams.map((t, i) => choice(t.code, `${t.name} (${t.code})`, i)),
      choice('', 'None: all of the local authority’s alerts', teams.length),
    );
    showForm('team');
  }

  forms.demo.addEventListener('submit', (event) => {
    event.preventDefault();
    const org = $('demo-org');
    if (!/^[A-Za-z0-9]{1,12}$/.test(org.value.trim())) return showError('Enter a local authority code of 1 to 12 letters and digits, like LA001.', org);
    optIn(askedFor());
    const worker = { org: org.value.trim().toUpperCase(), name: $('demo-name').value.trim() || undefined };
    void signInWith(forms.demo, async () => {
      const token = await demoToken(worker);
      // The LA's duty teams, read as the worker: a worker of a team gets a token naming it (claim teams).
      const teams = (await api('/la/v1/duty-teams', { token }).catch(() => ({ teams: [] }))).teams ?? [];
      if (!teams.length) return token;
      demoWorker = { ...worker, token };
      showTeams(teams);
      return null;
    });
  });

  forms.team.addEventListener('submit', (event) => {
    event.preventDefault();
    optIn(askedFor());
    const team = forms.team.querySelector('input[name="team"]:checked')?.value ?? '';
    const worker = demoWorker;
    void signInWith(forms.team, async () => (team ? demoToken({ org: worker.org, name: worker.name, teams: [team] }) : worker.token));
  });

  forms.token.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('token');
    const token = input.value.trim();
    input.value = '';
    if (!token) return showError('Paste your access token.', input);
    optIn(askedFor());
    void signInWith(forms.token, async () => token);
  });

  return {
    show,
    hide: () => void (section.hidden = true),
    setDemo: (value) => void (demo = Boolean(value)),
  };
}
