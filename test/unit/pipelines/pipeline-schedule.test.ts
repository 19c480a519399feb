import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CRON_MACROS, cronProblem, isTimeZone, parseEvery, repeatOf, scheduleSchema } from '../../../src/pipelines/pipeline-schedule.js';

describe('pipeline schedules', () => {
  it('parses every-durations to milliseconds', () => {
    assert.equal(parseEvery('6h'), 6 * 3_600_000);
    assert.equal(parseEvery('30m'), 1_800_000);
    assert.equal(parseEvery('15s'), 15_000);
    assert.equal(parseEvery('1h30m'), 5_400_000);
    assert.equal(parseEvery('2d'), 2 * 86_400_000);
    assert.equal(parseEvery('1500ms'), 1500);
    for (const bad of ['', '6', 'h', '6 h', '-1s', '1.5h', 'often', '6H']) assert.equal(parseEvery(bad), null, bad);
  });

  it('checks cron expressions with the parser BullMQ uses, and time zones with Intl', () => {
    assert.equal(cronProblem('0 */6 * * *', undefined), null);
    assert.equal(cronProblem('*/15 * * * * *', 'Europe/Paris'), null, 'six fields: seconds first');
    assert.equal(cronProblem('@daily', undefined), null);
    assert.match(cronProblem('61 * * * *', undefined) ?? '', /61/);
    assert.notEqual(cronProblem('* * * * * * *', undefined), null);
    assert.equal(isTimeZone('America/New_York'), true);
    assert.equal(isTimeZone('UTC'), true);
    assert.equal(isTimeZone('Mars/Olympus'), false);
  });

  it('takes five fields, six with seconds first, or a macro cron-parser expands, and nothing it would pad with defaults', () => {
    const expected = 'expected 5 (minute hour day-of-month month day-of-week), 6 with seconds first, or one of @yearly';
    // cron-parser pads missing leading fields: "* * *" would mean every minute, "5" every Friday.
    for (const [cron, count] of [['* * *', 3], ['5', 1], ['* *', 2], ['0 0 1 *', 4], ['* * * * * * *', 7]] as const) {
      const problem = cronProblem(cron, undefined) ?? '';
      assert.ok(problem.startsWith(`has ${count} field${count === 1 ? '' : 's'}; ${expected}`), `${cron}: ${problem}`);
    }
    const schedule = scheduleSchema.safeParse({ cron: '* * *' });
    assert.ok(!schedule.success && schedule.error.issues[0]?.message.startsWith(`invalid cron expression "* * *": has 3 fields; ${expected}`), 'the schema says it too');
    // Every macro listed is one cron-parser itself expands (a one-word expression it did not would fail to parse).
    for (const macro of CRON_MACROS) assert.equal(cronProblem(macro, 'Europe/Paris'), null, macro);
    for (const notMacro of ['@reboot', '@DAILY', 'daily']) assert.match(cronProblem(notMacro, undefined) ?? '', /^has 1 field; /, notMacro);
    assert.equal(cronProblem('0\t0  * * *', undefined), null, 'fields split on any whitespace, as cron-parser splits them');
  });

  it('turns a schedule into BullMQ repeat options', () => {
    assert.deepEqual(repeatOf(scheduleSchema.parse({ cron: '0 3 * * *', tz: 'Asia/Tokyo' })), { pattern: '0 3 * * *', tz: 'Asia/Tokyo' });
    assert.deepEqual(repeatOf(scheduleSchema.parse({ cron: '0 3 * * *' })), { pattern: '0 3 * * *' });
    assert.deepEqual(repeatOf(scheduleSchema.parse({ every: '6h' })), { every: 21_600_000 });
  });

  it('refuses a schedule that is neither, both, or has a zone without cron', () => {
    const problems = (value: unknown): string[] => {
      const parsed = scheduleSchema.safeParse(value);
      return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    };
    assert.match(problems({})[0] ?? '', /needs "cron".*or "every"/);
    assert.match(problems({ cron: '0 * * * *', every: '1h' })[0] ?? '', /^every: give "cron" or "every", not both/);
    assert.match(problems({ every: '1h', tz: 'UTC' })[0] ?? '', /^tz: "tz" applies to "cron" schedules only/);
    assert.match(problems({ every: '999ms' })[0] ?? '', /^every: must be at least 1s/);
    assert.match(problems({ cron: '0 * * * *', at: 'noon' })[0] ?? '', /at/);
  });
});
