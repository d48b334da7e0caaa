// @ts-check
// Who is signed in: shows a sign-out button for a cookie session and hands the CSRF token to the
// trigger panel. Without read authentication on the server ({readAuth: false}) nothing shows.
import { el } from './dom.js';

// Where a tab tells the others of this origin that it signed out (nothing is stored).
const SIGN_OUT_CHANNEL = 'falco-dashboard-sign-out';

/**
 * @param {HTMLElement} container
 * @returns {Promise<{ csrfToken?: string, role?: string }>}
 */
export async function loadSession(container) {
  let response;
  try {
    response = await fetch('/ui/session', { headers: { Accept: 'application/json' } });
  } catch {
    return {};
  }
  // The session expired while the page was open: the reload shows the sign-in page.
  if (response.status === 401) window.location.reload();
  if (!response.ok) return {};
  /** @type {{ role?: string, via?: string, csrfToken?: string }} */
  const session = await response.json();
  if (session.via === 'session') {
    const signOut = el('button', { type: 'button', className: 'sign-out', text: 'Sign out' });
    // The browser's other tabs share the cookie the sign-out clears: told, they stop streaming and
    // show the sign-in page too, rather than streaming on until the session's expiry.
    const tabs = new BroadcastChannel(SIGN_OUT_CHANNEL);
    tabs.addEventListener('message', () => window.location.reload());
    signOut.addEventListener('click', () => {
      void fetch('/ui/session', { method: 'DELETE' }).finally(() => {
        tabs.postMessage('signed-out');
        window.location.assign('/');
      });
    });
    container.replaceChildren(el('span', { text: `Signed in (${session.role ?? 'viewer'})` }), signOut);
  }
  return { csrfToken: session.csrfToken, role: session.role };
}

/**
 * True when the server no longer knows this browser (the session expired or its token was taken
 * out of rotation): a reload then shows the sign-in page. False when it cannot be asked.
 * @returns {Promise<boolean>}
 */
export async function isSignedOut() {
  try {
    const response = await fetch('/ui/session', { headers: { Accept: 'application/json' } });
    return response.status === 401;
  } catch {
    return false;
  }
}
