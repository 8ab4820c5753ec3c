/** Answers of the dashboards' HTTP routes, with the headers every page and API answer carries. */
import type http from 'node:http';
import { CSP } from './html.ts';

const COMMON = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' };

export function sendHtml(res: http.ServerResponse, status: number, page: string): void {
  const body = Buffer.from(page, 'utf8');
  res.writeHead(status, { ...COMMON, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length, 'Content-Security-Policy': CSP, 'X-Frame-Options': 'DENY' });
  res.end(body);
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value) + '\n', 'utf8');
  res.writeHead(status, { ...COMMON, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}

/** A JSON error: `{ "error": message }`. */
export function sendJsonError(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}
