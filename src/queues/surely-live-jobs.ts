import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * KEYS: the queue's delayed, prioritized and waiting-children sets. ARGV[1]:
 * the prefix of the queue's job hash keys, then job ids. Per id, 1 when the
 * job's hash exists and it sits in one of those sets (it runs again by
 * itself), else 0. Only O(1) lookups: BullMQ's own getState also searches the
 * wait and active lists (LPOS, linear in their length), which the caller
 * leaves to the few ids answered 0.
 */
const SURELY_LIVE = `
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local live = 0
  if redis.call('EXISTS', ARGV[1] .. id) == 1 and (redis.call('ZSCORE', KEYS[1], id) or redis.call('ZSCORE', KEYS[2], id) or redis.call('ZSCORE', KEYS[3], id)) then
    live = 1
  end
  out[#out + 1] = live
end
return out
`;

/** Ids per script call: a call blocks Redis while it runs, so a large sweep is cut into short ones. */
const IDS_PER_CALL = 500;

/**
 * The ids whose job is certainly going to run by itself (delayed,
 * prioritized, or waiting for children), found with one script call per
 * 500 ids instead of two round trips per job (getJob + getState). An id
 * left out may still be live (waiting or active right now): the caller looks
 * at those one by one. Most of what waits at any time is a delayed poll job,
 * so most ids are settled here.
 */
export async function surelyLiveJobIds(redis: Redis, queue: Queue, jobIds: readonly string[]): Promise<Set<string>> {
  const live = new Set<string>();
  const sets = ['delayed', 'prioritized', 'waiting-children'].map((state) => queue.toKey(state));
  for (let first = 0; first < jobIds.length; first += IDS_PER_CALL) {
    const slice = jobIds.slice(first, first + IDS_PER_CALL);
    const answers = (await redis.eval(SURELY_LIVE, sets.length, ...sets, queue.toKey(''), ...slice)) as number[];
    slice.forEach((id, index) => {
      if (answers[index] === 1) live.add(id);
    });
  }
  return live;
}
