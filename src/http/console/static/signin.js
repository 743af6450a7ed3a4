// The sign-in forms: a demo worker of a chosen LA (AUTH_MODE=dev only), or a pasted token.

import { api } from './api.js';

const $ = (id) => document.getElementById(id);

/** Wires both forms; `start(token)` signs in and throws an ApiError when the token is refused. */
export function createSignIn({ start }) {
  const section = $('sign-in');
  const errorBox = $('sign-in-error');
  const demoForm = $('demo-form');
  const tokenForm = $('token-form');
  let demo = false;

  function showError(message, field) {
    for (const input of section.querySelectorAll('input')) input.removeAttribute('aria-invalid');
    errorBox.hidden = !message;
    errorBox.textContent = message ?? '';
    if (!message) return;
    if (field) field.setAttribute('aria-invalid', 'true');
    errorBox.focus();
  }

  function show(message) {
    section.hidden = false;
    demoForm.hidden = !demo;
    tokenForm.hidden = demo;
    const form = demo ? demoForm : tokenForm;
    form.querySelector('button').disabled = false;
    showError(message);
    if (!message) form.querySelector('input').focus();
  }

  async function signInWith(form, getToken) {
    form.querySelector('button').disabled = true;
    try {
      await start(await getToken());
      section.hidden = true;
    } catch (error) {
      show(error.status === 401 || error.status === 403 ? 'That sign-in was not accepted. Check it and try again.' : error.message);
    }
  }

  demoForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const org = $('demo-org');
    if (!/^[A-Za-z0-9]{1,12}$/.test(org.value.trim())) return showError('Enter a local authority code of 1 to 12 letters and digits, like LA001.', org);
    const body = { org: org.value.trim().toUpperCase(), name: $('demo-name').value.trim() || undefined };
    void signInWith(demoForm, async () => (await api('/console/dev-sign-in', { method: 'POST', body })).token);
  });

  tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('token');
    const token = input.value.trim();
    input.value = '';
    if (!token) return showError('Paste your access token.', input);
    void signInWith(tokenForm, async () => token);
  });

  return {
    show,
    hide: () => void (section.hidden = true),
    setDemo: (value) => void (demo = Boolean(value)),
  };
}
