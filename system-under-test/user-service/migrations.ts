import type { Migration } from '../kit/db.ts';

/** user-service owns users, friendships and groups. Applied at start (kit/db.ts migrate). */
export const USER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users, friends, groups',
    sql: `
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        username varchar(32) NOT NULL UNIQUE,
        nickname varchar(64) NOT NULL DEFAULT '',
        avatar varchar(500) NOT NULL DEFAULT '',
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE friend_requests (
        id uuid PRIMARY KEY,
        from_user_id uuid NOT NULL REFERENCES users(id),
        to_user_id uuid NOT NULL REFERENCES users(id),
        message varchar(200) NOT NULL DEFAULT '',
        status smallint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        UNIQUE (from_user_id, to_user_id),
        CHECK (from_user_id <> to_user_id)
      );
      CREATE INDEX friend_requests_to_status ON friend_requests (to_user_id, status, created_at DESC);
      CREATE TABLE friends (
        user_id_1 uuid NOT NULL REFERENCES users(id),
        user_id_2 uuid NOT NULL REFERENCES users(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id_1, user_id_2),
        CHECK (user_id_1 < user_id_2)
      );
      CREATE INDEX friends_user2 ON friends (user_id_2);
      CREATE TABLE groups (
        id uuid PRIMARY KEY,
        name varchar(64) NOT NULL,
        description varchar(500) NOT NULL DEFAULT '',
        avatar varchar(500) NOT NULL DEFAULT '',
        owner_id uuid NOT NULL REFERENCES users(id),
        is_deleted boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE group_members (
        group_id uuid NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id),
        role varchar(8) NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
        joined_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, user_id)
      );
      CREATE INDEX group_members_user ON group_members (user_id);
      CREATE TABLE group_join_requests (
        id uuid PRIMARY KEY,
        group_id uuid NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        from_user_id uuid NOT NULL REFERENCES users(id),
        message varchar(200) NOT NULL DEFAULT '',
        status smallint NOT NULL DEFAULT 1,
        reviewed_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz,
        UNIQUE (group_id, from_user_id)
      );
      CREATE INDEX group_join_requests_group_status ON group_join_requests (group_id, status);
    `,
  },
];
