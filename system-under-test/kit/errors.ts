/**
 * The one error catalogue of every ChatIM service: a stable name, a numeric `code` (what clients
 * branch on), the HTTP status, and the message clients see. Internal details never reach a
 * response body; they go to the log. `docs/errors.md` lists every entry (a test keeps them in step).
 */

export const ERRORS = {
  VALIDATION_FAILED: { code: 40001, status: 400, message: 'The request is invalid' },
  MALFORMED_JSON: { code: 40002, status: 400, message: 'The request body is not valid JSON' },
  INVALID_CURSOR: { code: 40003, status: 400, message: 'The stream id is not valid' },
  CANNOT_TARGET_SELF: { code: 40004, status: 400, message: 'This action cannot target yourself' },
  AUTH_REQUIRED: { code: 40101, status: 401, message: 'Authorization token is required' },
  AUTH_HEADER_MALFORMED: {
    code: 40102,
    status: 401,
    message: 'Authorization header format must be Bearer {token}',
  },
  AUTH_TOKEN_INVALID: { code: 40103, status: 401, message: 'Invalid or expired token' },
  INVALID_CREDENTIALS: { code: 40104, status: 401, message: 'Wrong username or password' },
  DEBUG_TOKEN_INVALID: { code: 40105, status: 401, message: 'Debug token missing or wrong' },
  NOT_FRIENDS: { code: 40301, status: 403, message: 'You can only message your friends' },
  NOT_GROUP_MEMBER: { code: 40302, status: 403, message: 'You are not a member of this group' },
  NOT_GROUP_ADMIN: { code: 40303, status: 403, message: 'Only a group admin can do this' },
  NOT_GROUP_OWNER: { code: 40304, status: 403, message: 'Only the group owner can do this' },
  NOT_ADDRESSEE: { code: 40305, status: 403, message: 'Only the addressee can handle this request' },
  ORIGIN_NOT_ALLOWED: { code: 40306, status: 403, message: 'Origin not allowed' },
  ROUTE_NOT_FOUND: { code: 40401, status: 404, message: 'No such route' },
  USER_NOT_FOUND: { code: 40402, status: 404, message: 'User not found' },
  GROUP_NOT_FOUND: { code: 40403, status: 404, message: 'Group not found' },
  MESSAGE_NOT_FOUND: { code: 40404, status: 404, message: 'Message not found' },
  CONVERSATION_NOT_FOUND: { code: 40405, status: 404, message: 'Conversation not found' },
  FRIEND_REQUEST_NOT_FOUND: { code: 40406, status: 404, message: 'Friend request not found' },
  JOIN_REQUEST_NOT_FOUND: { code: 40407, status: 404, message: 'Join request not found' },
  USERNAME_TAKEN: { code: 40901, status: 409, message: 'Username already exists' },
  ALREADY_FRIENDS: { code: 40902, status: 409, message: 'Already friends' },
  REQUEST_PENDING: { code: 40903, status: 409, message: 'A request is already pending' },
  ALREADY_MEMBER: { code: 40904, status: 409, message: 'Already a member of this group' },
  REQUEST_ALREADY_HANDLED: { code: 40905, status: 409, message: 'The request was already handled' },
  OWNER_CANNOT_LEAVE: {
    code: 40906,
    status: 409,
    message: 'The owner must transfer ownership or dismiss the group',
  },
  BODY_TOO_LARGE: { code: 41301, status: 413, message: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { code: 41501, status: 415, message: 'Content-Type must be application/json' },
  RATE_LIMITED: { code: 42901, status: 429, message: 'Too many requests, slow down' },
  INTERNAL: { code: 50001, status: 500, message: 'Internal error' },
  FAULT_INJECTED: { code: 50002, status: 500, message: 'Injected fault' },
  DEPENDENCY_UNAVAILABLE: { code: 50301, status: 503, message: 'A dependency is unavailable, retry later' },
  SHUTTING_DOWN: { code: 50302, status: 503, message: 'The service is shutting down' },
} as const satisfies Record<string, { code: number; status: number; message: string }>;

export type ErrorName = keyof typeof ERRORS;

/** The JSON body of every error response. */
export interface ErrorBody {
  code: number;
  error: ErrorName;
  message: string;
}

/** An error that maps to a catalogue entry; `detail` (safe, client-facing) refines the message. */
export class ApiError extends Error {
  readonly entry: (typeof ERRORS)[ErrorName];
  readonly status: number;

  constructor(
    readonly errorName: ErrorName,
    readonly detail?: string,
    status?: number,
  ) {
    super(detail ? `${ERRORS[errorName].message}: ${detail}` : ERRORS[errorName].message);
    this.name = 'ApiError';
    this.entry = ERRORS[errorName];
    this.status = status ?? this.entry.status;
  }

  body(): ErrorBody {
    return { code: this.entry.code, error: this.errorName, message: this.message };
  }
}

export function errorBody(name: ErrorName, detail?: string): ErrorBody {
  return new ApiError(name, detail).body();
}

/** Looks an entry up by its numeric code (used by the gateway to re-raise backend errors). */
export function errorNameByCode(code: number): ErrorName | undefined {
  for (const [name, entry] of Object.entries(ERRORS)) if (entry.code === code) return name as ErrorName;
  return undefined;
}
