import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, heapGrowthPercentAtStart, loadConfig } from '../../../src/config.js';
import { HeapGrowth } from '../../../src/heap-growth.js';

/** A HeapGrowth whose V8 flag changes are recorded instead of made. */
function recorded(): { growth: HeapGrowth; flags: string[] } {
  const flags: string[] = [];
  return { growth: new HeapGrowth((flag) => void flags.push(flag)), flags };
}

describe('heap growth', () => {
  it('reads BATCHLINE_HEAP_GROWTH_PERCENT before the configuration: 20 % by default, and sets V8 heap growth from it, none at 0', () => {
    assert.equal(heapGrowthPercentAtStart({}), 20);
    assert.equal(heapGrowthPercentAtStart({ BATCHLINE_HEAP_GROWTH_PERCENT: ' ' }), 20);
    assert.equal(heapGrowthPercentAtStart({ BATCHLINE_HEAP_GROWTH_PERCENT: ' 50 ' }), 50);
    assert.equal(heapGrowthPercentAtStart({ BATCHLINE_HEAP_GROWTH_PERCENT: '0' }), 0);
    const set = recorded();
    set.growth.setAtStart(50);
    assert.deepEqual(set.flags, ['--heap-growing-percent=50']);
    const off = recorded();
    off.growth.setAtStart(0);
    assert.equal(off.flags.length, 0, "V8's own rule: no flag set");
  });

  it('reads a bad value as the default until the configuration refuses to start with it', () => {
    for (const value of ['-1', '301', '2.5', 'lots', '1e2']) {
      assert.equal(heapGrowthPercentAtStart({ BATCHLINE_HEAP_GROWTH_PERCENT: value }), 20, value);
      assert.throws(() => loadConfig({ BATCHLINE_HEAP_GROWTH_PERCENT: value }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /BATCHLINE_HEAP_GROWTH_PERCENT/);
        return true;
      });
    }
    assert.equal(loadConfig({}).BATCHLINE_HEAP_GROWTH_PERCENT, 20);
    assert.equal(loadConfig({ BATCHLINE_HEAP_GROWTH_PERCENT: '300' }).BATCHLINE_HEAP_GROWTH_PERCENT, 300);
  });

  it("lifts the setting while joins run, once for overlapping ones, and puts it back when the last ends, failed or not", async () => {
    const { growth, flags } = recorded();
    growth.setAtStart(20);
    flags.length = 0;
    let endFirst: () => void = () => undefined;
    const first = growth.liftedDuring(() => new Promise<void>((resolve) => (endFirst = resolve)));
    const second = growth.liftedDuring(async () => {
      throw new Error('join failed');
    });
    await assert.rejects(second, /join failed/);
    assert.deepEqual(flags, ['--heap-growing-percent=0'], 'still lifted while the first join runs');
    endFirst();
    await first;
    assert.deepEqual(flags, ['--heap-growing-percent=0', '--heap-growing-percent=20']);
    await assert.rejects(growth.liftedDuring(async () => Promise.reject(new Error('alone'))), /alone/);
    assert.deepEqual(flags.slice(2), ['--heap-growing-percent=0', '--heap-growing-percent=20'], 'put back after a failed join too');
  });

  it('lifts nothing in a process that never set it, or set it to 0', async () => {
    const never = recorded();
    assert.equal(await never.growth.liftedDuring(async () => 'joined'), 'joined');
    assert.equal(never.flags.length, 0);
    const off = recorded();
    off.growth.setAtStart(0);
    await off.growth.liftedDuring(async () => undefined);
    assert.equal(off.flags.length, 0);
  });
});
