import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dingTalkSignature, signDingTalkUrl } from './sign.ts';

const SECRET = 'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd';

describe('DingTalk signature', () => {
  // Computed outside this project with Python's hmac/base64/urllib.parse.quote_plus, following the
  // DingTalk documentation's own Python sample; the two chosen timestamps give a '+' and a '/'.
  it.each([
    [1_700_000_000_000, '8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw%3D'],
    [1_700_000_000_001, 'NdFSHfCZejPJg4Pmp5Odkmi9jSF0Joxg2hezz%2BDPxIo%3D'],
    [1_700_000_000_002, 'xNc%2FZiJKnn1sjfLVFGPGJGGhDXJnj5yDtgvHI8n%2Fd38%3D'],
  ])('matches the reference vector for timestamp %i', (timestamp, encodedSign) => {
    const signed = signDingTalkUrl(
      'https://oapi.dingtalk.com/robot/send?access_token=abc123',
      SECRET,
      timestamp,
    );
    expect(signed).toBe(
      `https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=${timestamp}&sign=${encodedSign}`,
    );
  });

  it('is base64(HMAC-SHA256(key=secret, timestamp + "\\n" + secret)), as node:crypto computes it', () => {
    const timestamp = 1_712_345_678_901;
    const expected = createHmac('sha256', SECRET).update(`${timestamp}\n${SECRET}`).digest('base64');
    expect(dingTalkSignature(SECRET, timestamp)).toBe(expected);
    // The URL carries it percent-encoded and decodes back to the same bytes.
    const url = new URL(signDingTalkUrl('https://robot.example/send?access_token=t', SECRET, timestamp));
    expect(url.searchParams.get('sign')).toBe(expected);
    expect(url.searchParams.get('timestamp')).toBe(String(timestamp));
    expect(url.searchParams.get('access_token')).toBe('t');
  });

  it('changes with the secret and with the timestamp', () => {
    const base = dingTalkSignature(SECRET, 1_700_000_000_000);
    expect(dingTalkSignature(`${SECRET}x`, 1_700_000_000_000)).not.toBe(base);
    expect(dingTalkSignature(SECRET, 1_700_000_000_999)).not.toBe(base);
  });

  it('signs non-ASCII secrets as UTF-8', () => {
    const secret = 'SEC密钥';
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8'))
      .update(Buffer.from(`1700000000000\n${secret}`, 'utf8'))
      .digest('base64');
    expect(dingTalkSignature(secret, 1_700_000_000_000)).toBe(expected);
  });
});
