// @ts-check
// The sign-in page: posts the token once to POST /ui/session, which sets an HttpOnly session
// cookie; the token itself is not kept anywhere by the page.
import { byId, describeFailure } from './dom.js';

const form = byId('login-form', HTMLFormElement);
const status = byId('login-status', HTMLElement);

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const field = form.elements.namedItem('token');
  const token = field instanceof HTMLInputElement ? field.value.trim() : '';
  status.textContent = 'Signing in…';
  void (async () => {
    const response = await fetch('/ui/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    if (field instanceof HTMLInputElement) field.value = '';
    if (!response.ok) {
      status.textContent = `Not signed in: ${await describeFailure(response)}`;
      return;
    }
    window.location.assign('/');
  })().catch(() => {
    status.textContent = 'The server cannot be reached.';
  });
});
