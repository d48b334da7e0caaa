import { mountedTokens } from '../../helpers/mounted-tokens.js';
import { startAuthTestServer, TRIGGER_TOKEN, type AuthTestServer } from './auth-test-server.js';

/**
 * The receiver with VIEWER_TOKEN_FILE holding `viewerToken` and TRIGGER_TOKEN_FILE the test trigger
 * token, both mounted Secrets read again every 100 ms.
 */
export async function startWithTriggerFile(viewerToken: string) {
  const viewer = mountedTokens(`${viewerToken}\n`);
  const trigger = mountedTokens(`${TRIGGER_TOKEN}\n`);
  const server: AuthTestServer = await startAuthTestServer({
    VIEWER_TOKEN_FILE: viewer.file,
    TRIGGER_TOKEN: '',
    TRIGGER_TOKEN_FILE: trigger.file,
    TOKEN_RELOAD_CHECK_MS: '100',
  });
  /** The role `token` reads with (GET /ui/session), or the status refusing it. */
  const role = async (token: string) => {
    const response = await server.get('/ui/session', { Authorization: `Bearer ${token}` });
    return response.status === 200 ? ((await response.json()) as { role: string }).role : response.status;
  };
  return { server, viewer, trigger, role };
}

/** Whether the server ends `stream` within `ms`, reading it meanwhile. */
export async function endsWithin(stream: Response, ms: number): Promise<boolean> {
  const reader = stream.body!.getReader();
  const timeout = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms));
  const ended = (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // Cut off: ended too.
    }
    return 'ended' as const;
  })();
  const result = await Promise.race([ended, timeout]);
  if (result === 'open') await reader.cancel();
  return result === 'ended';
}
