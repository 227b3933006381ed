import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('writes items pushed in one tick as one batch, and those pushed during a write as the next', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number, string>('test', async (items) => {
      batches.push([...items]);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return items.map((i) => `#${i}`);
    });
    const first = [group.push(1), group.push(2)];
    await new Promise((r) => setTimeout(r, 5));
    const later = [group.push(3), group.push(4), group.push(5)];
    release();
    expect(await Promise.all([...first, ...later])).toEqual(['#1', '#2', '#3', '#4', '#5']);
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('refuses every item after a failed batch, whose own items get its error', async () => {
    let calls = 0;
    const group = new GroupCommit<number, number>('/state/runs/x.jsonl', async (items) => {
      calls += 1;
      if (calls === 1) throw new Error('disk full');
      return [...items];
    });
    await expect(group.push(1)).rejects.toThrow('disk full');
    expect(group.hasFailed).toBe(true);
    await expect(group.push(2)).rejects.toThrow(
      'the journal stopped accepting events after a failed write',
    );
    await group.drained();
    expect(calls).toBe(1);
  });
});
