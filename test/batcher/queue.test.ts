import { describe, expect, it } from 'vitest';
import { RequestQueue, type Queued } from '../../lib/batcher/queue.js';

let seq = 0;
const req = (key: string, rows: number, at: number): Queued & { id: number } => ({ key, rows, at, seq: seq, id: seq++ });
const ids = (batch: Array<{ id: number }> | undefined) => batch?.map((r) => r.id);

describe('RequestQueue', () => {
  it('takes the oldest group once ready, as its longest FIFO prefix within maxBatch', () => {
    const q = new RequestQueue<ReturnType<typeof req>>();
    const a = [req('a', 1, 0), req('b', 2, 1), req('a', 2, 2), req('a', 3, 3), req('a', 1, 4)];
    for (const r of a) q.push(r);
    expect(q.size).toBe(5);
    expect(q.oldestAt()).toBe(0);
    // 'a''s prefix within 5 rows is 1 + 2; its next request (3 rows) would not fit, so it is full and runs at once.
    expect(ids(q.take({ now: 0, maxBatch: 5, maxDelayMs: 10, flush: false }))).toEqual([a[0]!.id, a[2]!.id]);
    // 'a' now holds 3 + 1 rows (not full at maxBatch 5), 'b' 2 rows: both wait for their delay.
    expect(q.take({ now: 5, maxBatch: 5, maxDelayMs: 10, flush: false })).toBeUndefined();
    // At 11 'b' (queued at 1) is due; 'a''s head (queued at 3) is not yet.
    expect(ids(q.take({ now: 11, maxBatch: 5, maxDelayMs: 10, flush: false }))).toEqual([a[1]!.id]);
    expect(q.take({ now: 11, maxBatch: 5, maxDelayMs: 10, flush: false })).toBeUndefined();
    expect(ids(q.take({ now: 11, maxBatch: 5, maxDelayMs: 10, flush: true }))).toEqual([a[3]!.id, a[4]!.id]);
    expect(q.size).toBe(0);
    expect(q.oldestAt()).toBe(Infinity);
  });

  it('prefers a full group over an older one still waiting, and the older group when both are ready', () => {
    const q = new RequestQueue<ReturnType<typeof req>>();
    const old = req('a', 1, 0);
    const full = [req('b', 2, 1), req('b', 2, 2)];
    q.push(old);
    for (const r of full) q.push(r);
    expect(ids(q.take({ now: 3, maxBatch: 4, maxDelayMs: 10, flush: false }))).toEqual(full.map((r) => r.id));
    q.push(req('b', 4, 3));
    expect(ids(q.take({ now: 20, maxBatch: 4, maxDelayMs: 10, flush: false }))).toEqual([old.id]);
  });

  it('expires requests queued at or before the cutoff', () => {
    const q = new RequestQueue<ReturnType<typeof req>>();
    const rs = [req('a', 1, 0), req('b', 1, 5), req('a', 1, 10)];
    for (const r of rs) q.push(r);
    expect(ids(q.expire(5))?.sort()).toEqual([rs[0]!.id, rs[1]!.id].sort());
    expect(q.size).toBe(1);
    expect(q.oldestAt()).toBe(10);
  });
});
