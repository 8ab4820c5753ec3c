/** The last two handlers of every Express app here: a plain 404, and errors that never take the server down. */
import type { NextFunction, Request, Response } from 'express';

/** A short text answer: `message` and a newline. */
export function plain(res: Response, status: number, message: string): void {
  res.status(status).type('text/plain').send(message + '\n');
}

export function notFound(_req: Request, res: Response): void {
  plain(res, 404, 'not found');
}

/**
 * Express's error handler: a client's error (a status below 500 on the error, such as a body
 * parser's 400) is answered as such; anything else is logged under `label` and answered 500. An
 * answer already under way is cut.
 */
export function errorHandler(label: string) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const status = typeof err === 'object' && err && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status >= 500) console.error(`${label} error:`, err);
    if (!res.headersSent) plain(res, status, status >= 500 ? 'internal error' : 'bad request');
    else res.destroy();
  };
}
