import { invalidRequest } from './openai-error.js';

/** Query-string readers shared by the list endpoints, refusing bad values the way OpenAI does (400, naming the param). */
export const listQueryValue = {
  limit(value: unknown, max: number, fallback: number): number {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (typeof value !== 'string' || value.trim() === '' || !Number.isInteger(n) || n < 1 || n > max) {
      throw invalidRequest(`Invalid 'limit': expected an integer from 1 to ${max}.`, 'limit', 'invalid_value');
    }
    return n;
  },
  string(value: unknown, param: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalidRequest(`Invalid '${param}': expected a string.`, param, 'invalid_type');
    return value;
  },
};
