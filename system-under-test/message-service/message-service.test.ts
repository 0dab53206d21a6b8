/** Pure-logic tests of message-service helpers (the Redis/PostgreSQL paths are in integration.test.ts). */
import { describe, expect, it } from 'vitest';
import { likeContains } from '../user-service/app.ts';
import { parseConversation, preview } from './app.ts';

describe('helpers', () => {
  it('previews by code points, never splitting a surrogate pair (defect 7: byte slicing)', () => {
    expect(preview('😀'.repeat(60))).toBe(`${'😀'.repeat(50)}...`);
    expect(preview('short')).toBe('short');
  });

  it('parses conversation ids', () => {
    expect(parseConversation('group:abc')).toEqual({ type: 'group', peer: 'abc' });
    expect(parseConversation('private:xyz')).toEqual({ type: 'private', peer: 'xyz' });
  });

  it('escapes LIKE wildcards in search keywords (defect 4)', () => {
    expect(likeContains('50%_off\\')).toBe('%50\\%\\_off\\\\%');
  });
});
