-- Stand-in for documentation-api's tables as Prisma Migrate created them (before migration 003):
-- Prisma's quoting, timestamp(3) columns and its default foreign key
-- (ON DELETE SET NULL ON UPDATE CASCADE for an optional relation). Rows that the migration must
-- report and keep: one file over 100 MiB and one file_path outside uploads/YYYY/MM/.
-- Plain PostgreSQL: needs no extension.
CREATE TABLE "documentation_ideas" (
  "id" TEXT NOT NULL,
  "title" TEXT NOT NULL,
  "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "documentation_ideas_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "documentation_files" (
  "id" TEXT NOT NULL,
  "file_name" TEXT NOT NULL,
  "file_path" TEXT NOT NULL,
  "size_bytes" BIGINT NOT NULL,
  "mime_type" TEXT,
  "idea_id" TEXT,
  "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "documentation_files_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "documentation_files_idea_id_idx" ON "documentation_files"("idea_id");

ALTER TABLE "documentation_files" ADD CONSTRAINT "documentation_files_idea_id_fkey"
  FOREIGN KEY ("idea_id") REFERENCES "documentation_ideas"("id") ON DELETE SET NULL ON UPDATE CASCADE;

INSERT INTO "documentation_ideas" ("id", "title") VALUES ('idea-1', 'Order book heatmap'), ('idea-2', 'Tick replay');

INSERT INTO "documentation_files" ("id", "file_name", "file_path", "size_bytes", "mime_type", "idea_id") VALUES
  ('f1', 'spec.pdf', 'uploads/2025/10/spec.pdf', 482133, 'application/pdf', 'idea-1'),
  ('f2', 'diagram.png', 'uploads/2025/11/diagram.png', 90211, 'image/png', 'idea-1'),
  ('f3', 'notes.md', 'uploads/2025/11/notes.md', 1200, 'text/markdown', NULL),
  ('f4', 'capture.mp4', 'uploads/2025/09/capture.mp4', 209715200, 'video/mp4', 'idea-2'),
  ('f5', 'readme.md', 'docs/readme.md', 800, 'text/markdown', 'idea-2');
