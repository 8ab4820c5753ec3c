/**
 * Pure: the dashboard's query parameters (`/?...`, `/api/swarms?...`, `/swarm/<hex>?page=`) ->
 * a bounded listing query, or a one-line reason for a 400. Unknown parameters are ignored.
 */
import { MAX_LISTING_DEPTH, MAX_SWARMS_PER_PAGE, SWARM_SORTS, type SwarmQuery, type SwarmSort } from '../store/swarm-listing.ts';

/** Swarms per page unless `per_page` says otherwise. */
export const DEFAULT_PER_PAGE = 25;
/** Peers per page of a swarm's page. */
export const PEERS_PER_PAGE = 100;

export interface ListingRequest {
  query: SwarmQuery;
  /** From 1. */
  page: number;
  perPage: number;
}

/** `?page=N`: 1 when absent; null when not a whole number from 1 to `max`. */
export function pageParam(text: string | null, max: number): number | null {
  if (text === null || text === '') return 1;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/** The raw query string of a request URL. */
export function rawQueryOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

export function parseListing(rawQuery: string): ListingRequest | string {
  const p = new URLSearchParams(rawQuery);
  const sort = p.get('sort') || 'peers';
  if (!(SWARM_SORTS as readonly string[]).includes(sort)) return `sort must be one of ${SWARM_SORTS.join(', ')}`;
  const order = p.get('order') || (sort === 'info_hash' ? 'asc' : 'desc');
  if (order !== 'asc' && order !== 'desc') return 'order must be asc or desc';
  const perPage = pageParam(p.get('per_page'), MAX_SWARMS_PER_PAGE);
  if (perPage === null) return `per_page must be a whole number from 1 to ${MAX_SWARMS_PER_PAGE}`;
  const per = p.has('per_page') ? perPage : DEFAULT_PER_PAGE;
  const maxPage = Math.floor(MAX_LISTING_DEPTH / per);
  const page = pageParam(p.get('page'), maxPage);
  if (page === null) return `page must be a whole number from 1 to ${maxPage} (search by info_hash for the rest)`;
  const prefix = (p.get('q') ?? '').trim().toLowerCase();
  if (!/^[0-9a-f]{0,40}$/.test(prefix)) return 'q must be the start of an info_hash: up to 40 hex digits';
  return { query: { sort: sort as SwarmSort, order, offset: (page - 1) * per, limit: per, prefix }, page, perPage: per };
}

/** The query string of a listing (what links and the page's URL carry); defaults left out. */
export function listingQueryString(r: { query: SwarmQuery; page: number; perPage: number }, over: Partial<{ sort: SwarmSort; order: 'asc' | 'desc'; page: number }> = {}): string {
  const p = new URLSearchParams();
  p.set('sort', over.sort ?? r.query.sort);
  p.set('order', over.order ?? r.query.order);
  if (r.query.prefix !== '') p.set('q', r.query.prefix);
  if (r.perPage !== DEFAULT_PER_PAGE) p.set('per_page', String(r.perPage));
  const page = over.page ?? r.page;
  if (page !== 1) p.set('page', String(page));
  return p.toString();
}
