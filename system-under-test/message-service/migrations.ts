import type { Migration } from '../kit/db.ts';

/** message-service owns the message archive the persist worker writes. */
export const MESSAGE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'messages archive',
    sql: `
      CREATE TABLE messages (
        id uuid PRIMARY KEY,
        conversation_key varchar(90) NOT NULL,
        seq bigint NOT NULL,
        type varchar(8) NOT NULL CHECK (type IN ('private', 'group')),
        from_user_id uuid NOT NULL,
        to_user_id uuid,
        group_id uuid,
        content text NOT NULL,
        created_at_ms bigint NOT NULL,
        persisted_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX messages_conversation_seq ON messages (conversation_key, seq DESC);
    `,
  },
];
