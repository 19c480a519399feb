/**
 * How errors name a request and its fields, in the numbering the caller
 * wrote them in: the JSON body's `requests[4].custom_id` (from 0), or an
 * NDJSON upload's `custom_id on line 5` (from 1, blank lines counted).
 */
export interface RequestNaming {
  /** The request itself: `requests[4]`, `line 5`. */
  request(place: number): string;
  /** One of its fields, its path as written (`body.model`): `requests[4].body.model`, `body.model on line 5`. */
  field(place: number, path: string): string;
}

/** Requests of a JSON body: `requests[4]`, `requests[4].custom_id`. */
export const jsonRequestNaming: RequestNaming = {
  request: (index) => `requests[${index}]`,
  field: (index, path) => `requests[${index}].${path}`,
};

/** Lines of an NDJSON upload: `line 5`, `custom_id on line 5`. */
export const ndjsonRequestNaming: RequestNaming = {
  request: (lineNumber) => `line ${lineNumber}`,
  field: (lineNumber, path) => `${path} on line ${lineNumber}`,
};
