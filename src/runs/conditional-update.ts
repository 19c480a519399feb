import type { Redis } from 'ioredis';

/**
 * Compare-and-set on a Redis hash whose fields each hold one JSON value:
 * the patch is written only when every condition field currently holds one
 * of its allowed values. Atomic in Redis, so two workers racing on the same
 * shard cannot both move it forward.
 */
const SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local i = 2
local conditions = tonumber(ARGV[1])
for c = 1, conditions do
  local field = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  local current = redis.call('HGET', KEYS[1], field)
  local matched = false
  for v = 1, count do
    if current == ARGV[i + 1 + v] then matched = true end
  end
  if not matched then return 0 end
  i = i + 2 + count
end
local pairs = {}
while i <= #ARGV do
  table.insert(pairs, ARGV[i])
  table.insert(pairs, ARGV[i + 1])
  i = i + 2
end
if #pairs > 0 then redis.call('HSET', KEYS[1], unpack(pairs)) end
return 1
`;

export type UpdateOutcome = 'applied' | 'condition-failed' | 'missing';

export type HashConditions<Record> = { [Field in keyof Record]?: ReadonlyArray<Record[Field]> };

export async function conditionalUpdate<Record extends object>(
  redis: Redis,
  key: string,
  conditions: HashConditions<Record>,
  patch: Partial<Record>,
): Promise<UpdateOutcome> {
  const args: string[] = [];
  const conditionEntries = Object.entries(conditions) as Array<[string, ReadonlyArray<unknown>]>;
  args.push(String(conditionEntries.length));
  for (const [field, allowed] of conditionEntries) {
    args.push(field, String(allowed.length), ...allowed.map((value) => JSON.stringify(value)));
  }
  for (const [field, value] of Object.entries(patch)) args.push(field, JSON.stringify(value));
  const result = (await redis.eval(SCRIPT, 1, key, ...args)) as number;
  return result === 1 ? 'applied' : result === 0 ? 'condition-failed' : 'missing';
}

/** Encodes a record as hash fields (one JSON value per field). */
export const encodeHash = (record: object): Record<string, string> =>
  Object.fromEntries(Object.entries(record).map(([field, value]) => [field, JSON.stringify(value)]));

/** Decodes hash fields written by encodeHash. */
export const decodeHash = <Decoded>(fields: Record<string, string>): Decoded =>
  Object.fromEntries(Object.entries(fields).map(([field, value]) => [field, JSON.parse(value) as unknown])) as Decoded;
