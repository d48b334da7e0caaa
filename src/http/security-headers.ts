import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * Security headers on every response. The default CSP fits a page that loads only same-origin
 * scripts, styles and an SSE stream, with nothing inline; a page with stricter needs sets its own.
 * No `upgrade-insecure-requests` and no HSTS: the plain listener serves http:// on its own port,
 * and HSTS (which covers every port of a host) would break it once a browser saw the TLS listener.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
  });
}
