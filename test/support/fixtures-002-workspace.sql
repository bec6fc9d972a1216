-- Stand-in for APPS-WORKSPACE's schema workspace as the Workspace app created it (before
-- migration 002). Rows that the migration must report and keep: one created_by longer than the
-- 100 characters workspace.users.username allows (blocks the foreign key) and two rows whose
-- metadata has no "version" key.
CREATE SCHEMA workspace;

CREATE TABLE workspace.workspace_items (
  id serial PRIMARY KEY,
  title text NOT NULL,
  category text,
  metadata jsonb,
  created_by text,
  updated_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz
);

INSERT INTO workspace.workspace_items (title, metadata, created_by, updated_by) VALUES
  ('roadmap', '{"version": 1, "tags": ["q1"]}', 'ana', 'bruno'),
  ('notes', '{"version": 2}', 'bruno', NULL),
  ('draft', NULL, 'carla', 'ana'),
  ('legacy-1', '{"tags": []}', 'ana', NULL),
  ('legacy-2', '[1, 2]', NULL, 'carla'),
  ('imported', '{"version": 1}', repeat('x', 120), NULL);
