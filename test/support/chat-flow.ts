import WebSocket from 'ws';

/**
 * Real chat traffic through the gateway, the way clients produce it: register and log in, befriend,
 * hold WebSockets, send private and group messages, wait for the pushes, pull, mark read, read
 * history. Used by tests that need every service and metric exercised (not a load generator).
 */

interface User {
  readonly id: string;
  readonly token: string;
}

export interface ChatFlowResult {
  readonly users: number;
  readonly sent: number;
  readonly pushed: number;
}

export class ChatFlow {
  readonly #sockets: WebSocket[] = [];
  #seq = 0;

  constructor(readonly gatewayUrl: string) {}

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<T> {
    const res = await fetch(`${this.gatewayUrl}/api/v1${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const json = (await res.json()) as { code?: number } & T;
    if (res.status !== 200 || json.code !== 0) {
      throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
    }
    return json;
  }

  async user(prefix: string): Promise<User> {
    const username = `${prefix}_${process.pid}_${Date.now() % 100_000}_${this.#seq++}`;
    const reg = await this.call<{ user_id: string }>('POST', '/users', undefined, {
      username,
      password: 'flow password',
    });
    const login = await this.call<{ token: string }>('POST', '/login', undefined, {
      username,
      password: 'flow password',
    });
    return { id: reg.user_id, token: login.token };
  }

  async befriend(a: User, b: User): Promise<void> {
    const req = await this.call<{ request_id: string }>('POST', '/friends/requests', a.token, {
      to_user_id: b.id,
    });
    await this.call('POST', '/friends/requests/handle', b.token, {
      request_id: req.request_id,
      accept: true,
    });
  }

  /** Opens a socket for `user` and resolves once the server's welcome frame arrived; counts pushes. */
  async socket(user: User, onPush: () => void): Promise<void> {
    const ws = new WebSocket(`${this.gatewayUrl.replace('http', 'ws')}/ws`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    this.#sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no welcome frame within 15 s')), 15_000);
      ws.on('error', reject);
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type?: string; id?: string };
        if (frame.type === 'welcome') {
          clearTimeout(timer);
          resolve();
        } else if (frame.id) onPush();
      });
    });
  }

  /** `pairs` friend pairs exchange `perPair` private messages, then one group of everyone gets `group` messages. */
  async run(options: { pairs?: number; perPair?: number; group?: number } = {}): Promise<ChatFlowResult> {
    const pairs = options.pairs ?? 3;
    const perPair = options.perPair ?? 10;
    const groupMessages = options.group ?? 5;
    const users = await Promise.all(Array.from({ length: pairs * 2 }, (_, i) => this.user(`flow${i}`)));
    let pushed = 0;
    let sent = 0;
    await Promise.all(users.map((u) => this.socket(u, () => pushed++)));
    for (let p = 0; p < pairs; p++) await this.befriend(users[2 * p]!, users[2 * p + 1]!);

    let lastMessage: { id: string; stream_id: string } | undefined;
    for (let i = 0; i < perPair; i++) {
      for (let p = 0; p < pairs; p++) {
        const r = await this.call<{ msg: { id: string; stream_id: string } }>(
          'POST',
          '/messages/send',
          users[2 * p]!.token,
          {
            to_user_id: users[2 * p + 1]!.id,
            content: `hello ${i}`,
          },
        );
        lastMessage = r.msg;
        sent++;
      }
    }
    const reader = users[1]!;
    await this.call('GET', '/messages?limit=50', reader.token);
    if (lastMessage)
      await this.call('POST', '/messages/read', users[2 * pairs - 1]!.token, { message_id: lastMessage.id });
    await this.call('GET', '/conversations', reader.token);

    const owner = users[0]!;
    const group = await this.call<{ group_id: string }>('POST', '/groups', owner.token, {
      name: `flow group ${this.#seq}`,
      member_ids: users.slice(1).map((u) => u.id),
    });
    for (let i = 0; i < groupMessages; i++) {
      await this.call('POST', '/groups/messages', owner.token, {
        group_id: group.group_id,
        content: `group ${i}`,
      });
      sent++;
    }
    await this.call(
      'GET',
      `/messages/history?conversation_id=private:${users[0]!.id}&limit=20`,
      reader.token,
    );
    await this.call('GET', '/search/users?keyword=flow', reader.token);
    return { users: users.length, sent, pushed };
  }

  close(): void {
    for (const ws of this.#sockets) ws.close(1000, 'flow done');
  }
}
