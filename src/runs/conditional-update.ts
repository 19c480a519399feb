import type { Redis } from 'ioredis';

/**
 * Compare-and-set on a Redis hash whose fields each hold one JSON value:
 * the patch is written only when every condition field currently holds one
 * of its allowed values. Atomic in Redis, so two workers racing on the same
 * shard cannot both move it forward.
 *
 * An empty string stands for "no such field" both ways (no JSON value is
 * empty): as an allowed value it matches a field that is absent, and as a
 * patch value it deletes the field. That is how a record with stored
 * defaults (see StoredDefaults) leaves its default-valued fields out.
 */
const SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local i = 2
local conditions = tonumber(ARGV[1])
for c = 1, conditions do
  local field = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  local current = redis.call('HGET', KEYS[1], field) or ''
  local matched = false
  for v = 1, count do
    if current == ARGV[i + 1 + v] then matched = true end
  end
  if not matched then return 0 end
  i = i + 2 + count
end
local pairs = {}
local gone = {}
while i <= #ARGV do
  if ARGV[i + 1] == '' then
    table.insert(gone, ARGV[i])
  else
    table.insert(pairs, ARGV[i])
    table.insert(pairs, ARGV[i + 1])
  end
  i = i + 2
end
if #pairs > 0 then redis.call('HSET', KEYS[1], unpack(pairs)) end
if #gone > 0 then redis.call('HDEL', KEYS[1], unpack(gone)) end
return 1
`;

export type UpdateOutcome = 'applied' | 'condition-failed' | 'missing';

export type HashConditions<Record> = { [Field in keyof Record]?: ReadonlyArray<Record[Field]> };

/**
 * Values a record's hash does not store: a field holding its default is left
 * out, and a field that is absent reads as its default. Redis keeps a small
 * hash as one compact listpack, whose size is the sum of its field names and
 * values, so leaving out the fields that say nothing yet (nulls, zeros,
 * empty lists) shrinks every record that is waiting. Hashes written whole by
 * an earlier version still read the same.
 */
export type StoredDefaults<Record> = { readonly [Field in keyof Record]?: Record[Field] };

/** The stored form of one field's value: '' when the default (not stored), else its JSON. */
const storedValue = (defaults: Readonly<Record<string, unknown>>, field: string, value: unknown): string => {
  const json = JSON.stringify(value);
  return field in defaults && JSON.stringify(defaults[field]) === json ? '' : json;
};

export async function conditionalUpdate<Record extends object>(
  redis: Redis,
  key: string,
  conditions: HashConditions<Record>,
  patch: Partial<Record>,
  defaults: StoredDefaults<Record> = {},
): Promise<UpdateOutcome> {
  const args: string[] = [];
  const conditionEntries = Object.entries(conditions) as Array<[string, ReadonlyArray<unknown>]>;
  args.push(String(conditionEntries.length));
  for (const [field, allowed] of conditionEntries) {
    // A default may be stored (an earlier version's record) or absent (this version's): both match.
    const values = allowed.flatMap((value) => {
      const stored = storedValue(defaults, field, value);
      return stored === '' ? [JSON.stringify(value), ''] : [stored];
    });
    args.push(field, String(values.length), ...values);
  }
  for (const [field, value] of Object.entries(patch)) args.push(field, storedValue(defaults, field, value));
  const result = (await redis.eval(SCRIPT, 1, key, ...args)) as number;
  return result === 1 ? 'applied' : result === 0 ? 'condition-failed' : 'missing';
}

/** Encodes a record as hash fields (one JSON value per field), leaving out the fields that hold their default. */
export const encodeHash = <Record extends object>(record: Record, defaults: StoredDefaults<Record> = {}): { [field: string]: string } =>
  Object.fromEntries(
    Object.entries(record)
      .map(([field, value]) => [field, storedValue(defaults, field, value)] as const)
      .filter(([, stored]) => stored !== ''),
  );

/** Decodes hash fields written by encodeHash; absent fields take their default. */
export const decodeHash = <Decoded>(fields: Record<string, string>, defaults: StoredDefaults<Decoded> = {}): Decoded =>
  // A copy of the defaults per record: a default list must not be shared (and grown) by every record that read it.
  ({ ...structuredClone(defaults), ...Object.fromEntries(Object.entries(fields).map(([field, value]) => [field, JSON.parse(value) as unknown])) }) as Decoded;
