import test from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PER_PAGE, listingQueryString, pageParam, parseListing, type ListingRequest } from '../../../src/tracker/dashboard/query.ts';
import { MAX_LISTING_DEPTH, MAX_SWARMS_PER_PAGE } from '../../../src/tracker/store/swarm-listing.ts';

test('defaults: most peers first, page 1 of 25', () => {
  const r = parseListing('') as ListingRequest;
  assert.deepEqual(r, { query: { sort: 'peers', order: 'desc', offset: 0, limit: DEFAULT_PER_PAGE, prefix: '' }, page: 1, perPage: DEFAULT_PER_PAGE });
  assert.equal((parseListing('sort=info_hash') as ListingRequest).query.order, 'asc');
});

test('page, per_page and prefix become a bounded query', () => {
  const r = parseListing('sort=completed&order=asc&page=3&per_page=10&q=ABcd') as ListingRequest;
  assert.deepEqual(r.query, { sort: 'completed', order: 'asc', offset: 20, limit: 10, prefix: 'abcd' });
  const deepest = parseListing(`per_page=${MAX_SWARMS_PER_PAGE}&page=${MAX_LISTING_DEPTH / MAX_SWARMS_PER_PAGE}`) as ListingRequest;
  assert.equal(deepest.query.offset + deepest.query.limit, MAX_LISTING_DEPTH);
});

test('anything out of bounds is a reason, not a query', () => {
  for (const bad of ['sort=name', 'order=sideways', 'page=0', 'page=-1', 'page=1e3', `page=${MAX_LISTING_DEPTH}`, 'per_page=101', 'per_page=0', 'q=g', `q=${'0'.repeat(41)}`, 'q=%3Cimg%3E']) {
    assert.equal(typeof parseListing(bad), 'string', bad);
  }
  assert.equal(pageParam('007', 10), null);
  assert.equal(pageParam('', 10), 1);
});

test('links keep the listing and leave defaults out', () => {
  const r = parseListing('sort=seeders&order=desc&q=ab&page=2') as ListingRequest;
  assert.equal(listingQueryString(r), 'sort=seeders&order=desc&q=ab&page=2');
  assert.equal(listingQueryString(r, { sort: 'leechers', page: 1 }), 'sort=leechers&order=desc&q=ab');
  assert.deepEqual(parseListing(listingQueryString(r)), r);
});
