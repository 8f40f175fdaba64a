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

  it('with maxTokens, a batch is also full at maxTokens tokens or when the next request would exceed them', () => {
    const q = new RequestQueue<ReturnType<typeof req>>();
    const seqs = [10, 20, 15, 5, 3].map((tokens, i) => ({ ...req('', 1, i), tokens }));
    for (const r of seqs) q.push(r);
    const ready = { now: 5, maxBatch: 4, maxTokens: 30, maxDelayMs: 100, flush: false };
    // 10 + 20 = 30 tokens: full by tokens, although 2 of 4 sequences.
    expect(ids(q.take(ready))).toEqual([seqs[0]!.id, seqs[1]!.id]);
    // 15 + 5 + 3 = 23 tokens, 3 sequences: not full, waits for its delay (FIFO: nothing jumps ahead).
    expect(q.take(ready)).toBeUndefined();
    q.push({ ...req('', 1, 6), tokens: 8 });
    // 23 + 8 = 31 > 30: the new one would overflow, so the three run now and it waits.
    expect(ids(q.take(ready))).toEqual([seqs[2]!.id, seqs[3]!.id, seqs[4]!.id]);
    expect(q.size).toBe(1);
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
